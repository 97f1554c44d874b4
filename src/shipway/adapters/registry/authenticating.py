"""Authenticating to a registry, as an :class:`httpx.Auth`: the challenge, HTTP Basic, and Bearer tokens.

:class:`RegistryAuth` sends the request; on a 401 from the registry's own origin it answers the
``WWW-Authenticate`` challenge and sends the request again. Once the registry has challenged, later requests
carry the answer up front. Credentials go only to the registry's own origin (HTTP Basic) or to the token
realm it announces (``GET realm?service=S&scope=repository:NAME:pull[,push]`` with HTTP Basic, a sub-request
of the flow), and to that realm only when :mod:`~shipway.adapters.registry.realms` allows it: on the
registry's own host and port, or on another host over HTTPS when the pairing is known or the caller trusts
that realm. A refused realm is never contacted.

Tokens are cached by (registry, service, scope, credential fingerprint). The scope is the caller's, never the
one a challenge asks for, so it is never widened. A cached token that the registry refuses is replaced by a
fresh one once; a fresh token or HTTP Basic that is refused is the answer.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import AsyncGenerator, Callable

import httpx

from shipway.adapters.registry import challenges, realms, tokens
from shipway.adapters.registry.credentials import Credential
from shipway.adapters.registry.requesting import CheckFailed, origin
from shipway.adapters.registry.results import Reason
from shipway.core.secrets import Secret

log = logging.getLogger(__name__)
_INHERITED_HEADERS = ("user-agent", "accept-encoding")  # a sub-request is not built by the client


@dataclasses.dataclass(slots=True)
class _Registry:
    """What the requests of one verification share: the registry's base URL and, once met, its challenge."""

    base: httpx.URL
    challenge: challenges.Challenge | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Answer:
    """An ``Authorization`` value, whether it came from the cache, or the token request still to make."""

    authorization: Secret | None = None
    cached: bool = False
    fetch: tuple[httpx.URL, tokens.TokenKey] | None = None


class RegistryAuth(httpx.Auth):
    """Answers a registry's challenges for one credential (or anonymously) and one scope.

    ``scope`` is ``""`` (no repository) or ``repository:NAME:ACTIONS``; ``fresh`` never takes the token from
    the cache (the realm must see the credential now); ``refresh`` replaces a refused cached token once.
    :meth:`scoped` makes a sibling for another scope that shares what was learned about the registry.
    """

    def __init__(
        self,
        base: httpx.URL,
        *,
        credential: Credential | None,
        cache: tokens.TokenCache,
        trusted_realms: frozenset[str],
        plain_http_allowed: Callable[[httpx.URL], bool],
        scope: str = "",
        fresh: bool = False,
        refresh: bool = True,
    ) -> None:
        self._registry = _Registry(base)
        self._credential = credential
        self._cache = cache
        self._trusted = trusted_realms
        self._plain_http_allowed = plain_http_allowed
        self._scope = scope
        self._fresh = fresh
        self._refresh = refresh
        self._fingerprint = tokens.fingerprint(
            credential.username if credential else None, credential.password if credential else None
        )

    def scoped(self, scope: str, *, fresh: bool = False, refresh: bool = True) -> RegistryAuth:
        sibling = copy.copy(self)  # shares the credential, the cache and what was learned of the registry
        sibling._scope, sibling._fresh, sibling._refresh = scope, fresh, refresh
        return sibling

    @property
    def base(self) -> httpx.URL:
        return self._registry.base

    @property
    def challenged(self) -> bool:
        """Whether the registry asked for credentials (so it answered over this base URL)."""
        return self._registry.challenge is not None

    @property
    def uses_tokens(self) -> bool:
        challenge = self._registry.challenge
        return challenge is not None and challenge.scheme == "bearer"

    def __repr__(self) -> str:
        who = "anonymous" if self._credential is None else self._credential.username
        return f"RegistryAuth({realms.place(self.base)}, {who}, scope={self._scope!r})"

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if origin(request.url) != origin(self.base):
            yield request  # nothing of ours goes to another origin
            return
        challenge = self._registry.challenge
        answer = None if challenge is None else self._answer(challenge, fresh=self._fresh)
        while True:
            if answer is not None:
                if answer.fetch is not None:  # a sub-request of this flow: httpx sends it like any other
                    reply = yield self._token_request(answer.fetch[0], request)
                    answer = await self._fetched(answer.fetch, reply)
                _authorize(request, answer)
            response = yield request
            answer = self._again(response, answer)
            if answer is None:
                return

    def _again(self, response: httpx.Response, sent: _Answer | None) -> _Answer | None:
        """The answer to send the request again with, after ``response``; None: ``response`` stands."""
        if response.status_code != 401 or origin(response.url) != origin(self.base):
            return None  # a 401 from another origin (after a redirect) is not ours to answer
        if sent is None:  # the registry's first challenge: learn it and answer it
            challenge = self._registry.challenge = _challenge_of(response)
            return self._answer(challenge, fresh=self._fresh)
        if sent.cached and self._refresh and self._registry.challenge is not None:
            return self._answer(self._registry.challenge, fresh=True)  # a cached token refused: once, anew
        return None  # a fresh token or HTTP Basic was refused: that is the answer

    def _answer(self, challenge: challenges.Challenge, *, fresh: bool) -> _Answer:
        if challenge.scheme == "basic":
            if self._credential is None:
                raise CheckFailed(Reason.UNAUTHORIZED, "the registry requires credentials")
            return _Answer(self._credential.basic_authorization())
        realm = self._realm(challenge.get("realm") or "")
        service = challenge.get("service") or ""
        key = tokens.TokenKey(str(self.base), service, self._scope, self._fingerprint)
        if fresh:
            self._cache.forget(key)
        else:
            cached = self._cache.get(key)
            if cached is not None:
                return _Answer(Secret("Bearer " + cached.reveal()), cached=True)
        params = {"service": service, "scope": self._scope}
        if self._credential is not None:
            params["account"] = self._credential.username
        return _Answer(fetch=(realm.copy_merge_params({k: v for k, v in params.items() if v}), key))

    def _realm(self, text: str) -> httpx.URL:
        try:
            realm = httpx.URL(text)
        except (httpx.InvalidURL, ValueError):
            raise CheckFailed(Reason.BAD_RESPONSE, "the token realm is not a URL") from None
        if realm.scheme not in ("http", "https") or not realm.host or realm.userinfo or realm.fragment:
            raise CheckFailed(Reason.BAD_RESPONSE, "the token realm is not an http(s) URL")
        refused = realms.refusal(
            self.base, realm, trusted=self._trusted, plain_http_allowed=self._plain_http_allowed(realm)
        )
        if refused is not None:
            log.info("token realm on %s refused for registry %s: %s", realms.place(realm),
                     realms.place(self.base), refused[0])
            raise CheckFailed(*refused)
        return realm

    def _token_request(self, url: httpx.URL, cause: httpx.Request) -> httpx.Request:
        headers = {name: cause.headers[name] for name in _INHERITED_HEADERS if name in cause.headers}
        if self._credential is not None:
            headers["Authorization"] = self._credential.basic_authorization().reveal()
        extensions = {name: cause.extensions[name] for name in ("timeout",) if name in cause.extensions}
        return httpx.Request("GET", url, headers=headers, extensions=extensions)

    async def _fetched(self, fetch: tuple[httpx.URL, tokens.TokenKey], response: httpx.Response) -> _Answer:
        """The realm's answer to a token request: a token (then cached), or why there is none."""
        await response.aread()  # within the transport's body cap
        log.debug("token realm %s answered HTTP %d for scope %r", fetch[0].host, response.status_code, self._scope)
        if response.status_code == 200:
            token = tokens.parse_token_body(response.content)
            if token is None:
                raise CheckFailed(Reason.BAD_RESPONSE, "the token realm answered without a usable token")
            self._cache.put(fetch[1], token)
            return _Answer(Secret("Bearer " + token.value.reveal()))
        if response.status_code == 401:
            raise CheckFailed(Reason.UNAUTHORIZED, "the token realm refused the credentials")
        if response.status_code == 403:
            raise CheckFailed(Reason.DENIED, "the token realm refused this scope")
        raise CheckFailed(Reason.BAD_RESPONSE, f"the token realm answered HTTP {response.status_code}")


def _challenge_of(response: httpx.Response) -> challenges.Challenge:
    parsed = challenges.parse_challenges(response.headers.get_list("www-authenticate"))
    chosen = None if parsed is None else challenges.pick_challenge(parsed)
    if chosen is None:
        raise CheckFailed(Reason.BAD_RESPONSE, "the authentication challenge does not parse")
    return chosen


def _authorize(request: httpx.Request, answer: _Answer) -> None:
    if answer.authorization is not None:
        request.headers["Authorization"] = answer.authorization.reveal()
