"""A deduplicating work queue of keys, as controller-runtime has: a key is processed by one worker at a
time; adding a key that is queued is a no-op; adding a key that is being processed runs it once more after.
Failed keys come back after an exponential backoff; nothing is polled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reconcile asks of the queue: ``requeue_after`` seconds (None: done until the next event)."""

    requeue_after: float | None = None


Handler = Callable[[str], Awaitable[Outcome]]


class WorkQueue:
    def __init__(self, *, handler: Handler, workers: int = 4, max_backoff: float = 60.0) -> None:
        self._handler = handler
        self._workers = workers
        self._max_backoff = max_backoff
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._dirty: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._quiet = asyncio.Event()  # no key waiting or being reconciled (delayed keys aside)
        self._quiet.set()
        self.processed = 0
        self.failures_total = 0

    @property
    def depth(self) -> int:
        """Keys waiting for a worker."""
        return len(self._queued)

    @property
    def active(self) -> int:
        """Keys being reconciled now."""
        return len(self._active)

    @property
    def delayed(self) -> int:
        """Keys waiting out a backoff or a requeue delay."""
        return len(self._timers)

    def add(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._active:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._idle.clear()
        self._quiet.clear()
        self._queue.put_nowait(key)

    def add_after(self, key: str, delay: float) -> None:
        if key in self._timers or key in self._queued:
            return
        self._idle.clear()
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def _check_idle(self) -> None:
        if not self._queued and not self._active:
            self._quiet.set()
            if not self._timers:
                self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def wait_quiet(self) -> None:
        """Until no key waits for a worker or is being reconciled (keys waiting out a delay aside)."""
        await self._quiet.wait()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                outcome = await self._handler(key)
                self._failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a failed reconcile is retried with backoff, never lost
                self.failures_total += 1
                count = self._failures.get(key, 0) + 1
                self._failures[key] = count
                delay = min(self._max_backoff, 0.2 * 2 ** (count - 1))
                log.warning("reconcile of %s failed (%s: %s); retrying in %.1fs", key, type(error).__name__,
                            error, delay)
                outcome = Outcome(requeue_after=delay)
            finally:
                self._active.discard(key)
                self.processed += 1
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            elif outcome.requeue_after is not None:
                self.add_after(key, outcome.requeue_after)
            self._check_idle()
            # A reconcile with nothing to write never suspends, and a queue.get() with keys waiting does not
            # either: without this, a full pass over thousands of converged pipelines would hold the event
            # loop (Lease renewals, watches, probes) for seconds.
            await asyncio.sleep(0)

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._work(), name=f"shipway-worker-{i}") for i in range(self._workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for timer in self._timers.values():
                timer.cancel()
