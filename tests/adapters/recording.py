"""A consumer of informer events for the tests: every event, a view of the cluster, waiting for either."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from shipway.adapters.kube.informing import Informer

Key = tuple[str, str]


def key_of(body: dict[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return meta.get("namespace") or "", meta["name"]


class Recorder:
    """``on_event``/``on_synced`` for an informer; ``view`` is what the consumer believes exists (key → rv)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Key]] = []
        self.bodies: list[dict[str, Any]] = []
        self.view: dict[Key, str] = {}
        self.synced_calls = 0
        self.events_at_sync: int | None = None
        self._changed = asyncio.Event()

    async def on_event(self, kind: str, body: dict[str, Any]) -> None:
        key = key_of(body)
        self.events.append((kind, key))
        self.bodies.append(body)
        if kind == "DELETED":
            assert key in self.view, f"DELETED for {key}, which was never delivered"
            del self.view[key]
        else:
            assert (kind == "ADDED") == (key not in self.view), f"{kind} for {key} (known: {key in self.view})"
            self.view[key] = body["metadata"]["resourceVersion"]
        self._changed.set()

    async def on_synced(self) -> None:
        self.synced_calls += 1
        self.events_at_sync = len(self.events)

    def names(self, kind: str | None = None) -> list[str]:
        return [key[1] for k, key in self.events if kind is None or k == kind]

    async def wait_for(self, check: Callable[[], bool], *, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not reached; events: {self.events[-20:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.05))


@contextlib.asynccontextmanager
async def running(informer: Informer, *, timeout: float = 5.0) -> AsyncIterator[asyncio.Task[None]]:
    """Run the informer in a task until synced; cancel it at the end (and fail if it had failed)."""
    task = asyncio.ensure_future(informer.run())
    try:
        synced = asyncio.ensure_future(informer.synced.wait())
        await asyncio.wait({task, synced}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        if task.done():
            task.result()
        assert informer.synced.is_set(), "the informer did not sync"
        yield task
    finally:
        if task.done():
            task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
