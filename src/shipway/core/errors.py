"""The one error hierarchy of Shipway.

Every error Shipway raises on purpose is a :class:`ShipwayError`. Entry points translate them in exactly
one place each: HTTP statuses in ``shipway.api.errors``, exit codes in ``shipway.cli.errors``.
Messages are written by Shipway itself and never carry a secret value (only names, fields, fingerprints)::

    ShipwayError
    ├── InvalidInput                 bad input from a user or a file           (422, exit 2)
    │   ├── DockerConfigError        a docker config payload that is wrong
    │   ├── ImageReferenceError      an image reference that does not parse
    │   ├── RegistryHostError        a registry host or auths key that is not valid
    │   └── PayloadTooLarge          input over a size limit                  (413)
    ├── NotFound                     a named object does not exist            (404, exit 3)
    ├── Conflict                     a concurrent change or an existing object (409, exit 4)
    ├── Unauthenticated              no or a bad token                         (401, exit 5)
    ├── Forbidden                    RBAC or consent says no                   (403, exit 5)
    ├── TooManyRequests              a per-caller or per-pipeline bound is hit (429, exit 7)
    └── UpstreamError                Kubernetes or a registry failed           (502, exit 6)
        ├── KubernetesError
        └── RegistryError
"""

from __future__ import annotations


class ShipwayError(Exception):
    """Base of every error Shipway raises on purpose.

    ``field`` names the input field at fault (dotted path), when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(ShipwayError):
    """Input that Shipway refuses: the message says what is wrong and ``field`` where."""


class DockerConfigError(InvalidInput):
    """A docker config payload (``.dockerconfigjson`` or ``.dockercfg``) that is not valid."""


class ImageReferenceError(InvalidInput):
    """An image reference that is not a valid docker reference."""


class RegistryHostError(InvalidInput):
    """A registry host, port, glob pattern or auths key that is not valid."""


class PayloadTooLarge(InvalidInput):
    """Input larger than Shipway accepts."""


class NotFound(ShipwayError):
    """A named object does not exist."""


class Conflict(ShipwayError):
    """The object changed concurrently, or already exists."""


class Unauthenticated(ShipwayError):
    """The caller did not prove who it is."""


class Forbidden(ShipwayError):
    """The caller may not do this (Kubernetes RBAC, or a missing consent annotation)."""


class TooManyRequests(ShipwayError):
    """A bound that keeps one tenant from slowing the others was reached; try again later."""


class UpstreamError(ShipwayError):
    """A system Shipway depends on failed."""


class KubernetesError(UpstreamError):
    """The Kubernetes API answered with an error Shipway cannot handle itself."""


class RegistryError(UpstreamError):
    """A container registry could not be reached or answered nonsense."""
