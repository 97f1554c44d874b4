"""Console sessions, kept in the API process's memory: the browser holds only a random id.

A session is made at sign-in, after the token was accepted by a TokenReview, and holds the bearer token (a
:class:`~shipway.core.secrets.Secret`: masked everywhere), the user's name for display, a CSRF token for the
session's forms and at most one notice to show on the next page. The store is keyed by a SHA-256 of the id,
so the ids themselves are kept nowhere. Sessions end at sign-out, after ``idle`` seconds without a request
and ``lifetime`` seconds after sign-in, whichever comes first; the store is bounded (the oldest go first).
The token is checked again on every request (the API's TokenReview cache), so a revoked token ends its
sessions within the cache's few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shipway.core.secrets import Secret

IDLE_SECONDS = 30 * 60.0
LIFETIME_SECONDS = 8 * 60 * 60.0
MAX_SESSIONS = 10_000


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass
class Session:
    token: Secret = field(repr=False)
    username: str
    csrf: str = field(repr=False)
    created: float
    seen: float
    notice: str | None = None

    def authorization(self) -> str:
        """The Authorization header value the API's access control authenticates."""
        return f"Bearer {self.token.reveal()}"

    def csrf_matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode("utf-8"), self.csrf.encode("utf-8"))

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice


class SessionStore:
    """In-memory sessions; ``clock`` is injectable for tests of expiry."""

    def __init__(self, *, idle: float = IDLE_SECONDS, lifetime: float = LIFETIME_SECONDS,
                 limit: int = MAX_SESSIONS, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle
        self._lifetime = lifetime
        self._limit = limit
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, *, token: Secret, username: str) -> tuple[str, Session]:
        """A new session (a new id at every sign-in: no fixation); returns its id, for the cookie only."""
        self._expire()
        while len(self._sessions) >= self._limit:
            self._sessions.pop(next(iter(self._sessions)))
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(token=token, username=username, csrf=secrets.token_urlsafe(32), created=now, seen=now)
        self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id``, its idle timer reset; None when unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del self._sessions[key]
            return None
        session.seen = now
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(_key(session_id), None)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self._idle or now - session.created > self._lifetime

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]
