"""The seam for authentication and authorization, and how the API server words its 401 and 403.

With neither hook installed, every request is admitted, as with ``--authorization-mode=AlwaysAllow``.
A users file (:mod:`users`) plugs in as the :class:`Authenticator` and the RBAC evaluator (:mod:`rbac`)
as the :class:`Authorizer`; any other pair of callables may be installed instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

from shipway_sandbox.emulator import errors


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserInfo:
    """An authenticated user, as ``authentication.k8s.io/v1`` ``UserInfo`` (sent to admission webhooks)."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestAttributes:
    """What an authorizer decides on, as in a SubjectAccessReview's ``resourceAttributes`` (or, when
    ``path`` is set, its ``nonResourceAttributes``: a lower-case HTTP method as the verb and the URL path)."""

    verb: str
    group: str
    version: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    path: str | None = None

    @classmethod
    def non_resource(cls, verb: str, path: str) -> RequestAttributes:
        return cls(verb=verb, group="", version="", resource="", subresource=None, namespace=None, name=None,
                   path=path)

    @property
    def is_resource_request(self) -> bool:
        return self.path is None


@dataclasses.dataclass(frozen=True)
class Decision:
    """An authorizer's answer with its reason (``RBAC: allowed by ...``), as a SubjectAccessReview reports it."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


class Authenticator(Protocol):
    async def __call__(self, headers: Mapping[str, str]) -> UserInfo | None:
        """The user of a request, or None when its credentials are not valid (401)."""


class Authorizer(Protocol):
    async def __call__(self, user: UserInfo, attributes: RequestAttributes) -> bool | Decision:
        """Whether the user may do this (403 when not)."""


async def admit(headers: Mapping[str, str], attributes: RequestAttributes, *,
                authenticator: Authenticator | None, authorizer: Authorizer | None) -> UserInfo | None:
    """The authenticated user (None with no authenticator); raises 401 or 403 ``Status`` errors."""
    if authenticator is None:
        return None
    user = await authenticator(headers)
    if user is None:
        raise errors.Unauthorized("Unauthorized")
    if authorizer is not None:
        decision = await authorizer(user, attributes)
        if not decision:
            raise forbidden(user, attributes, decision.reason if isinstance(decision, Decision) else "")
    return user


def forbidden(user: UserInfo, attributes: RequestAttributes, reason: str = "") -> errors.Forbidden:
    """The 403 of kube-apiserver (``responsewriters.ForbiddenStatusError``), word for word."""
    message = forbidden_message(user, attributes)
    if reason:
        message = f"{message}: {reason}"
    if not attributes.is_resource_request:
        return errors.Forbidden(f"forbidden: {message}", details={})
    qualified = f"{attributes.resource}.{attributes.group}" if attributes.group else attributes.resource
    if attributes.name:
        message = f'{qualified} "{attributes.name}" is forbidden: {message}'
    else:
        message = f"{qualified} is forbidden: {message}"
    return errors.Forbidden(message, details=errors.details(attributes.resource, attributes.name, attributes.group))


def forbidden_message(user: UserInfo, attributes: RequestAttributes) -> str:
    if not attributes.is_resource_request:
        return f'User "{user.username}" cannot {attributes.verb} path "{attributes.path}"'
    resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
    head = (f'User "{user.username}" cannot {attributes.verb} resource "{resource}"'
            f' in API group "{attributes.group}"')
    if attributes.namespace:
        return f'{head} in the namespace "{attributes.namespace}"'
    return f"{head} at the cluster scope"


def selected_name(verb: str | None, field_selector: str | None) -> str | None:
    """The object a list or watch is narrowed to by ``fieldSelector=metadata.name=NAME``: kube-apiserver's
    RequestInfo takes it as the request's name, so RBAC ``resourceNames`` allow ``kubectl get -w NAME`` and
    ``kubectl wait`` (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go)."""
    if verb not in ("list", "watch") or not field_selector:
        return None
    terms = [t.strip() for t in field_selector.split(",") if t.strip()]
    names = [t.split("=", 1)[1].strip() for t in terms
             if t.replace("==", "=").startswith("metadata.name=") and "!=" not in t]
    return names[0].lstrip("=") if len(names) == 1 else None
