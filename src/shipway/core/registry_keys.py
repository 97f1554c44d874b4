"""Auths keys of docker configs, normalised and compared exactly as the kubelet does.

The rules are those of ``pkg/credentialprovider/keyring.go`` (``BasicDockerKeyring.Add`` and
``URLsMatch``), unchanged through Kubernetes v1.35:

* a key without ``http://`` or ``https://`` gets ``https://``; the scheme is then dropped;
* a path starting with ``/v1/`` or ``/v2/`` loses that prefix, and a remaining ``/`` counts as no path;
* a key matches an image when the ports are equal as strings, the hosts have the same number of
  dot-separated labels and each key label matches as a shell glob (Go ``filepath.Match``), and the key's
  path is a plain string prefix of the image's path (no ``/`` boundary).

:func:`parse_key` is the kubelet's reading; :func:`validate_key` is Shipway's stricter input check, which
refuses keys the kubelet would silently misread (a ``?`` would start a URL query, a bad glob never matches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from shipway.core import globs
from shipway.core.errors import RegistryHostError

_HOST_CHARS = re.compile(r"^[A-Za-z0-9*?\[\]\^!\-._~:]+$")
_PORT_RE = re.compile(r"^[0-9]*$")


@dataclass(frozen=True, slots=True)
class RegistryKey:
    """A normalised auths key: ``authority`` as written (``host[:port]``, IPv6 in brackets), its ``host``
    (brackets removed when a port follows, as Go's ``net.SplitHostPort`` does) and ``port`` ('' when absent),
    and ``path``."""

    host: str
    port: str
    path: str
    authority: str = ""

    @property
    def text(self) -> str:
        """``authority + path``: the form the kubelet indexes and sorts."""
        authority = self.authority or f"{self.host}{':' + self.port if self.port else ''}"
        return f"{authority}{self.path}"

    @property
    def labels(self) -> list[str]:
        return self.host.split(".")


def _split_url(url: str) -> tuple[str, str]:
    """``//authority/path?query#frag`` → (authority without userinfo, unescaped path)."""
    rest = url.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    return authority, unquote(slash + path)


def _split_host_port(authority: str) -> tuple[str, str]:
    if authority.startswith("["):
        end = authority.find("]")
        # Go's net.SplitHostPort: "[::1]:5000" splits; "[::1]" alone is an error, and the kubelet then
        # keeps the whole authority (brackets and all) as the host.
        if end != -1 and authority[end + 1 :].startswith(":"):
            return authority[1:end], authority[end + 2 :]
        return authority, ""
    if authority.count(":") == 1:
        host, _, port = authority.partition(":")
        return host, port
    return authority, ""


def parse_key(key: str) -> RegistryKey:
    """Normalise an auths key the way ``BasicDockerKeyring.Add`` does (no validation beyond the kubelet's)."""
    value = key
    if not (value.startswith("https://") or value.startswith("http://")):
        value = "https://" + value
    authority, path = _split_url(value.split("://", 1)[1])
    if path.startswith("/v2/") or path.startswith("/v1/"):
        path = path[3:]
    if path == "/":
        path = ""
    host, port = _split_host_port(authority)
    return RegistryKey(host=host, port=port, path=path, authority=authority)


def parse_image_name(name: str) -> RegistryKey:
    """An image's ``domain/path`` read as the kubelet's ``ParseSchemelessURL`` reads it: no ``/v1/`` or
    ``/v2/`` stripping (that is for keys only)."""
    authority, path = _split_url(name)
    host, port = _split_host_port(authority)
    return RegistryKey(host=host, port=port, path=path, authority=authority)


def validate_glob(label: str) -> None:
    """Raise ValueError for a pattern Go's ``filepath.Match`` rejects (``ErrBadPattern``)."""
    globs.validate(label)


def validate_key(key: str, *, field: str) -> RegistryKey:
    """Shipway's input check of an auths key: refuse what the kubelet would misread or never match."""
    if not key or key != key.strip():
        raise RegistryHostError("a registry key must be non-empty with no surrounding spaces", field=field)
    lowered = key.split("://", 1)
    if len(lowered) == 2 and lowered[0] not in ("http", "https"):
        raise RegistryHostError("the scheme is not http or https", field=field)
    remainder = lowered[-1]
    if "?" in remainder.split("/", 1)[0] or "#" in remainder:
        raise RegistryHostError(
            "'?' and '#' start a URL query or fragment: the kubelet would cut the key there", field=field
        )
    if "@" in remainder.split("/", 1)[0]:
        raise RegistryHostError("a registry key must not hold a user name or password", field=field)
    parsed = parse_key(key)
    if not parsed.host or not _HOST_CHARS.match(parsed.host):
        raise RegistryHostError("the host is not a registry host name or IP address", field=field)
    if parsed.host.startswith("[") and not parsed.port:
        raise RegistryHostError(
            "the kubelet reads a bracketed IPv6 host without a port as a glob that never matches; add the port",
            field=field,
        )
    if any(label == "" for label in parsed.labels):
        raise RegistryHostError("the host has an empty label", field=field)
    if not _PORT_RE.match(parsed.port):
        raise RegistryHostError("the port is not a number", field=field)
    if parsed.port and not 0 < int(parsed.port) <= 65535:
        raise RegistryHostError(f"port {parsed.port} is out of range 1-65535", field=field)
    for label in parsed.labels:
        try:
            validate_glob(label)
        except ValueError as error:
            raise RegistryHostError(f"malformed glob pattern in a host label: {error}", field=field) from None
    return parsed


def label_matches(pattern: str, label: str) -> bool:
    """One key label against one image label; a malformed pattern never matches (as in the kubelet)."""
    try:
        return globs.match(pattern, label)
    except globs.BadPattern:
        return False


def key_matches(key: RegistryKey, image_name: str) -> bool:
    """``URLsMatch``: does the normalised ``key`` match the image's ``domain/path``?"""
    image = parse_image_name(image_name)
    if key.port != image.port:
        return False
    key_labels, image_labels = key.labels, image.labels
    if len(key_labels) != len(image_labels):
        return False
    if not image.path.startswith(key.path):
        return False
    return all(label_matches(k, i) for k, i in zip(key_labels, image_labels, strict=True))
