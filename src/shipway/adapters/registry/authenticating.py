"""Finding a registry's API and authenticating to it: the ``/v2/`` probe, HTTP Basic, and Bearer tokens.

Credentials go only to the registry's own origin (HTTP Basic) or to the token realm it announces
(``GET realm?service=S&scope=repository:NAME:pull[,push]`` with HTTP Basic), and to that realm only when
:mod:`~shipway.adapters.registry.realms` allows it: on the registry's own host and port, or on another host
over HTTPS when the pairing is known or the caller trusts that realm. A refused realm is never contacted.
"""

from __future__ import annotations

import dataclasses
import logging

import httpx

from shipway.adapters.registry import addresses, challenges, realms, tokens
from shipway.adapters.registry.credentials import Credential
from shipway.adapters.registry.requesting import CheckFailed, PlainHttpAnswer, Requester
from shipway.adapters.registry.results import Reason
from shipway.core.secrets import Secret

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """A registry's API as found: its base URL, and the challenge it answered (None: an open registry)."""

    base: httpx.URL
    challenge: challenges.Challenge | None

    def url(self, path: str) -> httpx.URL:
        return self.base.join(path)

    @property
    def uses_tokens(self) -> bool:
        return self.challenge is not None and self.challenge.scheme == "bearer"


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """An ``Authorization`` header value for one scope (None: send none), and whether it came from cache."""

    authorization: Secret | None
    cached: bool = False


async def discover(
    requester: Requester, address: addresses.RegistryAddress, schemes: tuple[str, ...]
) -> Endpoint:
    """``GET /v2/`` over each scheme in turn; HTTPS failing at the connection level moves on to HTTP."""
    for index, scheme in enumerate(schemes):
        base = httpx.URL(address.base_url(scheme))
        last = index == len(schemes) - 1
        try:
            reply = await requester.send("GET", base.join("/v2/"))
        except PlainHttpAnswer:
            if last and requester.plain_http_allowed(base):
                raise  # the caller asked for https:// explicitly: a TLS failure
            if last:
                detail = "the registry speaks plain HTTP, which is not allowed for it"
                raise CheckFailed(Reason.INSECURE, detail) from None
            log.debug("registry %s: no TLS, trying plain HTTP", address.netloc)
            continue
        except CheckFailed as failure:
            if last or failure.reason != Reason.UNREACHABLE:
                raise
            continue
        if reply.status == 200:
            return Endpoint(base=base, challenge=None)
        if reply.status == 401:
            parsed = challenges.parse_challenges(reply.headers.get_list("www-authenticate"))
            chosen = None if parsed is None else challenges.pick_challenge(parsed)
            if chosen is None:
                raise CheckFailed(Reason.BAD_RESPONSE, "the authentication challenge does not parse")
            return Endpoint(base=base, challenge=chosen)
        if reply.status == 404:
            raise CheckFailed(Reason.BAD_RESPONSE, "no registry API at /v2/")
        raise CheckFailed(Reason.BAD_RESPONSE, f"/v2/ answered HTTP {reply.status}")
    raise CheckFailed(Reason.INSECURE, "no allowed scheme for this registry")


class Authenticator:
    """Answers challenges for one credential (or anonymously), with a shared token cache.

    ``trusted_realms`` holds realm places (:func:`realms.parse_trusted`) trusted on top of the known ones."""

    def __init__(
        self,
        requester: Requester,
        *,
        credential: Credential | None,
        cache: tokens.TokenCache,
        trusted_realms: frozenset[str] = frozenset(),
    ) -> None:
        self._requester = requester
        self._credential = credential
        self._cache = cache
        self._trusted = trusted_realms
        self._fingerprint = tokens.fingerprint(
            credential.username if credential else None, credential.password if credential else None
        )

    async def grant(self, endpoint: Endpoint, scope: str, *, fresh: bool = False) -> Grant:
        """The ``Authorization`` value to send to ``endpoint`` for ``scope`` (``""``: no repository)."""
        challenge = endpoint.challenge
        if challenge is None:
            return Grant(None)
        if challenge.scheme == "basic":
            if self._credential is None:
                raise CheckFailed(Reason.UNAUTHORIZED, "the registry requires credentials")
            return Grant(self._credential.basic_authorization())
        realm = self._realm(endpoint, challenge.get("realm") or "")
        service = challenge.get("service") or ""
        key = tokens.TokenKey(str(endpoint.base), service, scope, self._fingerprint)
        if fresh:
            self._cache.forget(key)
        else:
            cached = self._cache.get(key)
            if cached is not None:
                return Grant(Secret("Bearer " + cached.reveal()), cached=True)
        token = await self._fetch_token(realm, service, scope)
        self._cache.put(key, token)
        return Grant(Secret("Bearer " + token.value.reveal()))

    def _realm(self, endpoint: Endpoint, text: str) -> httpx.URL:
        try:
            realm = httpx.URL(text)
        except (httpx.InvalidURL, ValueError):
            raise CheckFailed(Reason.BAD_RESPONSE, "the token realm is not a URL") from None
        if realm.scheme not in ("http", "https") or not realm.host or realm.userinfo or realm.fragment:
            raise CheckFailed(Reason.BAD_RESPONSE, "the token realm is not an http(s) URL")
        refused = realms.refusal(
            endpoint.base, realm, trusted=self._trusted, plain_http_allowed=self._requester.plain_http_allowed(realm)
        )
        if refused is not None:
            log.info("token realm on %s refused for registry %s: %s", realms.place(realm),
                     realms.place(endpoint.base), refused[0])
            raise CheckFailed(*refused)
        return realm

    async def _fetch_token(self, realm: httpx.URL, service: str, scope: str) -> tokens.Token:
        params: dict[str, str] = {}
        if service:
            params["service"] = service
        if scope:
            params["scope"] = scope
        if self._credential is not None:
            params["account"] = self._credential.username
        authorization = self._credential.basic_authorization() if self._credential else None
        url = realm.copy_merge_params(params)
        reply = await self._requester.send("GET", url, authorization=authorization)
        log.debug("token realm %s answered HTTP %d for scope %r", realm.host, reply.status, scope)
        if reply.status == 200:
            token = tokens.parse_token_body(reply.body)
            if token is None:
                raise CheckFailed(Reason.BAD_RESPONSE, "the token realm answered without a usable token")
            return token
        if reply.status == 401:
            raise CheckFailed(Reason.UNAUTHORIZED, "the token realm refused the credentials")
        if reply.status == 403:
            raise CheckFailed(Reason.DENIED, "the token realm refused this scope")
        raise CheckFailed(Reason.BAD_RESPONSE, f"the token realm answered HTTP {reply.status}")
