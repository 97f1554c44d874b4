"""Registry addresses and names, validated, and which URL schemes Shipway may use for them (no I/O).

Plain HTTP follows Docker's rule: only for registries the caller lists as insecure, and for loopback
registries (``localhost``, 127.0.0.0/8, ``::1``). For those HTTPS is tried first and plain HTTP next.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from shipway.core import errors
from shipway.core.images import DOCKER_HUB_API as DOCKER_HUB_API  # re-exported: the CLI names it
from shipway.core.images import DOCKER_HUB_HOSTS

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_REPOSITORY_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^\w[\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_DOCKER_HUB = DOCKER_HUB_HOSTS - {DOCKER_HUB_API}


@dataclasses.dataclass(frozen=True, slots=True)
class RegistryAddress:
    """A registry as the caller named it: host (no brackets), optional port, optional explicit scheme."""

    host: str
    port: int | None
    scheme: str | None = None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def base_url(self, scheme: str) -> str:
        return f"{scheme}://{self.netloc}"


def is_loopback_host(host: str) -> bool:
    """``localhost``, an address in 127.0.0.0/8, or ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_hostname(host: str) -> bool:
    if len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return all(_LABEL.match(label) for label in host.rstrip(".").split("."))


def parse_registry(text: str) -> RegistryAddress:
    """``host[:port]``, optionally prefixed by ``https://`` or ``http://``; Docker Hub names its API host."""
    raw = text.strip()
    scheme: str | None = None
    for prefix in ("https://", "http://"):
        if raw.lower().startswith(prefix):
            scheme, raw = prefix[:-3], raw[len(prefix) :]
    raw = raw.rstrip("/")
    if raw.endswith("/v2") or raw.endswith("/v1"):
        raw = raw[:-3]
    if not raw or any(c in raw for c in "/@?#\\ \t\r\n"):
        raise errors.RegistryHostError("not a registry host[:port]", field="registry")
    host, port_text = raw, ""
    if raw.startswith("["):
        closing = raw.find("]")
        if closing < 0:
            raise errors.RegistryHostError("unbalanced brackets in an IPv6 address", field="registry")
        host, rest = raw[1:closing], raw[closing + 1 :]
        if rest and not rest.startswith(":"):
            raise errors.RegistryHostError("not a registry host[:port]", field="registry")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise errors.RegistryHostError("not a valid IPv6 address", field="registry") from None
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    elif ":" in raw:
        raise errors.RegistryHostError("IPv6 addresses must be written in brackets", field="registry")
    port: int | None = None
    if port_text or raw.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise errors.RegistryHostError("the port must be a number from 1 to 65535", field="registry")
        port = int(port_text)
    if not raw.startswith("[") and not _valid_hostname(host):
        raise errors.RegistryHostError("not a valid host name", field="registry")
    host = host.lower()
    if host in _DOCKER_HUB and port is None:
        host = DOCKER_HUB_API
    return RegistryAddress(host=host, port=port, scheme=scheme)


def validate_repository(name: str) -> str:
    """A repository path as the distribution spec allows it (lower case components, ``/``-separated)."""
    if not name or len(name) > 255 or not all(_REPOSITORY_COMPONENT.match(c) for c in name.split("/")):
        raise errors.ImageReferenceError("not a valid repository name", field="repository")
    return name


def validate_reference(reference: str) -> str:
    """A tag or a digest."""
    if not (_TAG.match(reference) or _DIGEST.match(reference)):
        raise errors.ImageReferenceError("not a valid tag or digest", field="reference")
    return reference


def plain_http_allowed(host: str, port: int | None, insecure_registries: frozenset[str]) -> bool:
    """Whether Docker would talk plain HTTP to this host: loopback, or listed (``host`` or ``host:port``)."""
    if is_loopback_host(host):
        return True
    address = RegistryAddress(host=host.lower(), port=port)
    listed = {entry.strip().lower().rstrip("/") for entry in insecure_registries}
    return address.netloc in listed or address.host in listed


def schemes_to_try(address: RegistryAddress, insecure_registries: frozenset[str]) -> tuple[str, ...]:
    """The schemes to try in order; empty when the caller asked for plain HTTP and it is not allowed."""
    allowed = plain_http_allowed(address.host, address.port, insecure_registries)
    if address.scheme == "https":
        return ("https",)
    if address.scheme == "http":
        return ("http",) if allowed else ()
    return ("https", "http") if allowed else ("https",)
