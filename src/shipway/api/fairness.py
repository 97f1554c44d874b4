"""Bounds that keep one tenant from slowing the others: per caller on expensive reads, per pipeline on
registry verification. A request over a bound is refused at once with 429 (never queued behind another
tenant's work), so one team's burst costs only that team.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shipway.core.errors import TooManyRequests

_MAX_KEYS = 10_000  # bounded memory: keys beyond this evict the idle ones


@dataclass
class ConcurrencyBound:
    """At most ``limit`` requests in flight per key (a caller); the next one is refused, not queued."""

    limit: int
    what: str
    _running: dict[str, int] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        if self._running.get(key, 0) >= self.limit:
            raise TooManyRequests(f"at most {self.limit} {self.what} may run at once for one caller; retry shortly")
        self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]


@dataclass
class RateBound:
    """A token bucket per key (a pipeline): ``burst`` at once, refilled at ``per_minute``, plus one at a time."""

    burst: int
    per_minute: float
    what: str
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)
    _busy: dict[str, asyncio.Lock] = field(default_factory=dict)

    def take(self, key: str) -> None:
        now = self.clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_minute / 60.0)
        if tokens < 1.0:
            raise TooManyRequests(f"at most {self.per_minute:g} {self.what} per minute for one pipeline; retry later")
        if len(self._buckets) >= _MAX_KEYS:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        self.take(key)
        lock = self._busy.setdefault(key, asyncio.Lock())
        if lock.locked():
            raise TooManyRequests(f"a {self.what} of this pipeline is already running; retry when it ends")
        async with lock:
            yield
        if not lock.locked() and len(self._busy) >= _MAX_KEYS:
            self._busy.clear()


@dataclass
class Fairness:
    reads: ConcurrencyBound = field(default_factory=lambda: ConcurrencyBound(limit=4, what="effective/explain reads"))
    verifies: RateBound = field(default_factory=lambda: RateBound(burst=10, per_minute=30, what="verifications"))
