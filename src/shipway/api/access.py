"""Who may do what: Kubernetes decides. Bearer tokens are checked with a TokenReview (answers cached
briefly, keyed by a hash of the token), actions with a SubjectAccessReview for the caller.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.reviews import Access, UserInfo, review_access, review_token
from shipway.core.errors import Forbidden, Unauthenticated
from shipway.core.secrets import Secret

_MAX_CACHED = 10_000


class AccessControl:
    def __init__(self, *, client: KubeApi, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._tokens: dict[str, tuple[float, UserInfo | None]] = {}

    async def authenticate(self, authorization: str | None) -> UserInfo:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("a bearer token is required in the Authorization header")
        token = Secret(authorization[7:].strip())
        if not token:
            raise Unauthenticated("the bearer token is empty")
        key = hashlib.sha256(token.reveal().encode("utf-8")).hexdigest()
        now = self._clock()
        cached = self._tokens.get(key)
        if cached is not None and cached[0] > now:
            user = cached[1]
        else:
            user = await review_token(self._client, token)
            if len(self._tokens) >= _MAX_CACHED:
                self._tokens.clear()
            self._tokens[key] = (now + self._ttl, user)
        if user is None:
            raise Unauthenticated("the token was not accepted by the Kubernetes API server")
        return user

    async def allowed(self, user: UserInfo, access: Access) -> bool:
        allowed, _ = await review_access(self._client, user, access)
        return allowed

    async def require(self, user: UserInfo, access: Access) -> None:
        allowed, reason = await review_access(self._client, user, access)
        if not allowed:
            because = f": {reason}" if reason else ""
            raise Forbidden(f"user {user.username!r} may not {access}{because}")
