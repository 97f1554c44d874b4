"""Which token realm may receive a credential: the rule, without I/O.

A registry that answers with a Bearer challenge names a token realm, and the client would send the
credential there with HTTP Basic. The registry's operator chooses that URL, so it is followed only when:

- the realm is the registry's own place: the same host and the same port (a loopback registry's realm on
  the same loopback address may use another port: nothing leaves the machine, and whoever may name a
  loopback registry may name that port directly). Plain HTTP follows the registry's own rule: only when the
  registry itself was reached over plain HTTP and plain HTTP is allowed for the realm's host;
- or the realm is on another host, over HTTPS, and the pairing is known (:data:`KNOWN_PAIRINGS`: Docker
  Hub's registry hosts and ``auth.docker.io``) or the caller trusts that realm (``host[:port]``, the port
  443 when absent).

Anything else is refused before the realm is contacted at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

from shipway.adapters.registry.addresses import is_loopback_host, parse_registry
from shipway.adapters.registry.results import Reason
from shipway.core import errors
from shipway.core.images import DOCKER_HUB_HOSTS

_DOCKER_HUB_REALMS = frozenset({"auth.docker.io"})
KNOWN_PAIRINGS: Mapping[str, frozenset[str]] = dict.fromkeys(DOCKER_HUB_HOSTS, _DOCKER_HUB_REALMS)
"""Registry host (on the HTTPS port) -> the realm hosts (HTTPS port) it is known to send clients to."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


def place(url: httpx.URL) -> str:
    """``host:port`` of a URL, the port always written (the scheme's default when absent)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host.lower()}:{url.port or _DEFAULT_PORTS.get(url.scheme, 0)}"


def parse_trusted(entries: Iterable[str]) -> frozenset[str]:
    """Trusted realm hosts as the caller wrote them (``host`` or ``host:port``, optionally ``https://``),
    normalised by :func:`place`. Raises :class:`~shipway.core.errors.InvalidInput` for anything else."""
    out: set[str] = set()
    for entry in entries:
        text = entry.strip().rstrip("/")
        if text.lower().startswith("https://"):
            text = text[len("https://") :]
        try:
            if not text or any(c in text for c in "/@?#\\ \t\r\n"):
                raise errors.InvalidInput("not host[:port]")
            parse_registry(text)  # the same host and port rules as a registry's
            out.add(place(httpx.URL(f"https://{text}/")))
        except (errors.InvalidInput, httpx.InvalidURL, ValueError):
            message = "a trusted realm is host[:port] (IPv6 in brackets), always reached over HTTPS"
            raise errors.InvalidInput(message, field="trusted_realms") from None
    return frozenset(out)


def known_pairing(registry: httpx.URL, realm: httpx.URL) -> bool:
    """Whether ``realm`` is where ``registry`` is known to send clients for tokens (both over HTTPS)."""
    if registry.scheme != "https" or realm.scheme != "https":
        return False
    if (registry.port or 443) != 443 or (realm.port or 443) != 443:
        return False
    return realm.host in KNOWN_PAIRINGS.get(registry.host, frozenset())


def same_place(registry: httpx.URL, realm: httpx.URL) -> bool:
    """The realm is the registry's own host and port (any port on the same loopback address)."""
    if realm.host != registry.host:
        return False
    return place(realm) == place(registry) or is_loopback_host(realm.host)


def refusal(
    registry: httpx.URL, realm: httpx.URL, *, trusted: frozenset[str], plain_http_allowed: bool
) -> tuple[Reason, str] | None:
    """Why the credential must not go to ``realm`` for a registry reached at ``registry``; None: it may.

    ``trusted`` holds :func:`parse_trusted` entries; ``plain_http_allowed`` says whether the realm's host
    may be spoken to over plain HTTP (loopback, or listed as an insecure registry)."""
    if same_place(registry, realm):
        if realm.scheme == "http" and not (registry.scheme == "http" and plain_http_allowed):
            return Reason.INSECURE, "a token realm over plain HTTP was refused"
        return None
    if realm.scheme != "https":
        return Reason.INSECURE, "a token realm on another host over plain HTTP was refused"
    if place(realm) in trusted or known_pairing(registry, realm):
        return None
    return Reason.UNTRUSTED_REALM, "the token realm is on another host that is not trusted for this registry"
