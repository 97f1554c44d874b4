"""Bearer tokens from a registry's token realm: parsing the realm's answer, and a cache by exact scope.

A cached token is keyed by (registry, service, scope, credential fingerprint) and reused only for that
exact key: a token fetched for ``pull`` never serves a ``pull,push`` request, and a token fetched with one
credential never serves another. It expires ``expires_in`` seconds after it was fetched, less a margin.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable

from shipway.core.secrets import Secret

DEFAULT_EXPIRES_IN = 60  # the distribution spec's default when the realm names none
MIN_EXPIRES_IN = 1
_MARGIN = 5  # seconds: refresh a little before the realm's deadline
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._~+/=-]{1,16384}$")
_FINGERPRINT_KEY = secrets.token_bytes(32)  # per process: fingerprints cannot be compared across processes


@dataclasses.dataclass(frozen=True, slots=True)
class TokenKey:
    registry: str
    service: str
    scope: str
    fingerprint: str


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    value: Secret
    expires_in: int


def fingerprint(username: str | None, password: Secret | None) -> str:
    """A keyed hash of a credential (HMAC with a per-process key): identifies it without revealing it."""
    if username is None or password is None:
        return "anonymous"
    message = username.encode() + b"\x00" + password.reveal().encode()
    return hmac.new(_FINGERPRINT_KEY, message, hashlib.sha256).hexdigest()[:32]


def parse_token_body(body: bytes) -> Token | None:
    """The token in a realm's JSON answer (``token`` or ``access_token``), or None when there is none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    value = document.get("token") or document.get("access_token")
    if not isinstance(value, str) or not _TOKEN_CHARS.match(value):
        return None
    expires_in = document.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in < MIN_EXPIRES_IN:
        expires_in = DEFAULT_EXPIRES_IN
    return Token(value=Secret(value), expires_in=int(min(expires_in, 86_400)))


class TokenCache:
    """Tokens by exact key, each dropped when it expires. Thread-safe; bounded in size."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, limit: int = 1024) -> None:
        self._clock = clock
        self._limit = limit
        self._entries: dict[TokenKey, tuple[Secret, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: TokenKey) -> Secret | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, deadline = entry
            if self._clock() >= deadline:
                del self._entries[key]
                return None
            return value

    def put(self, key: TokenKey, token: Token) -> None:
        lifetime = max(token.expires_in - _MARGIN, token.expires_in / 2)
        with self._lock:
            self._entries[key] = (token.value, self._clock() + lifetime)
            while len(self._entries) > self._limit:
                self._entries.pop(next(iter(self._entries)))

    def forget(self, key: TokenKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)})"
