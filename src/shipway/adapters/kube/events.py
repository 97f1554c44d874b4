"""Recording Events (events.k8s.io/v1) on Pipelines and the Platform, aggregated into series.

A repeat of the same (object, reason, note) within ``series_window`` seconds does not create another Event:
the first one's ``series`` (count, lastObservedTime) is patched instead, at most once per ``min_patch_gap``
seconds, and every object gets at most ``per_object_burst`` new Events per minute: churn cannot flood the API
server. Notes are written by Shipway from names, reasons and fingerprints only: never a secret value (the
redacting log filter is a second belt for the log lines here). A failed Event never fails the caller.

Recording is asynchronous, as client-go's event broadcaster is: :meth:`EventRecorder.record` decides at once
and queues the write; :meth:`EventRecorder.run` sends the queued writes in batches, ``catch_up`` at a time,
so Events never hold a reconcile. Delivery comes first: given ``quiet`` (the
work queue's "nothing to reconcile"), the sender waits for it, ``max_delay`` seconds at most, before each
batch it sends, unless half the backlog is waiting; a rotation reaches every namespace before its Events are
written, and no Event waits much longer than ``max_delay``. At most ``backlog`` writes wait; beyond that new
ones are dropped (and logged).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.resources import Kind
from shipway.core.errors import ShipwayError

log = logging.getLogger(__name__)
EVENT_V1 = Kind("events.k8s.io", "v1", "Event", "events", True)
REPORTING_CONTROLLER = "shipway.dev/operator"
CLUSTER_SCOPED_EVENTS_NAMESPACE = "default"  # where Events about cluster-scoped objects live


def _micro_time(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Regarding:
    """The object an Event is about."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str | None = None

    def as_k8s(self) -> dict[str, str]:
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "uid": self.uid}
        if self.namespace:
            out["namespace"] = self.namespace
        return out


@dataclass
class _Series:
    name: str
    namespace: str
    first: float
    last_patch: float
    count: int = 1


@dataclass
class EventRecorder:
    client: KubeApi
    instance: str
    clock: Callable[[], float] = time.time
    series_window: float = 600.0
    min_patch_gap: float = 30.0
    per_object_burst: int = 25
    backlog: int = 1000
    quiet: Callable[[], Awaitable[None]] | None = None
    max_delay: float = 1.0
    catch_up: int = 4  # writes of a batch in flight at once
    writes: int = 0
    dropped: int = 0
    _series: dict[tuple[str, str, str], _Series] = field(default_factory=dict)
    _recent: dict[str, list[float]] = field(default_factory=dict)
    _outbox: collections.deque[Callable[[], Awaitable[None]]] = field(default_factory=collections.deque)
    _waiting: asyncio.Event = field(default_factory=asyncio.Event)
    _sending: int = 0

    @property
    def pending(self) -> int:
        """Writes queued or being sent."""
        return len(self._outbox) + self._sending

    def _queue(self, write: Callable[[], Awaitable[None]], what: str) -> None:
        if len(self._outbox) >= self.backlog:
            self.dropped += 1
            log.info("event %s dropped: %d Event writes are waiting already", what, len(self._outbox))
            return
        self._outbox.append(write)
        self._waiting.set()

    async def run(self) -> None:
        """Send the queued writes in batches (``catch_up`` at a time, after ``quiet``), until cancelled."""
        while True:
            while not self._outbox:
                self._waiting.clear()
                await self._waiting.wait()
            behind = len(self._outbox) >= self.backlog // 2
            if self.quiet is not None and not behind:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.quiet(), self.max_delay)
            # This batch (``catch_up`` writes at a time), then wait for quiet again.
            batch = [self._outbox.popleft() for _ in range(len(self._outbox))]
            self._sending += len(batch)
            gate = asyncio.Semaphore(self.catch_up)
            await asyncio.gather(*(self._send(write, gate) for write in batch))

    async def _send(self, write: Callable[[], Awaitable[None]], gate: asyncio.Semaphore) -> None:
        try:
            async with gate:
                await write()
        finally:
            self._sending -= 1

    async def drain(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until every queued write is sent; whether they all were."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self.pending and loop.time() < end:
            await asyncio.sleep(0.02)
        return not self.pending

    def record(self, regarding: Regarding, *, reason: str, note: str, action: str, warning: bool = False) -> None:
        """Decide now (a new Event, a series update, or nothing) and queue the write."""
        now = self.clock()
        note = note[:1024]
        key = (regarding.uid, reason, note)
        series = self._series.get(key)
        if series is not None and now - series.first < self.series_window:
            series.count += 1
            if now - series.last_patch >= self.min_patch_gap:
                series.last_patch = now
                count = series.count
                self._queue(lambda: self._write_series(series, count, now), f"series of {regarding.name}")
            return
        recent = [t for t in self._recent.get(regarding.uid, []) if now - t < 60.0]
        if len(recent) >= self.per_object_burst:
            log.info("event for %s %s dropped: over %d a minute", regarding.kind, regarding.name,
                     self.per_object_burst)
            return
        self._recent[regarding.uid] = [*recent, now]
        namespace = regarding.namespace or CLUSTER_SCOPED_EVENTS_NAMESPACE
        digest = hashlib.sha256(f"{regarding.uid}\0{reason}\0{note}\0{now}".encode()).hexdigest()[:10]
        name = f"{regarding.name}.{digest}"
        body: dict[str, Any] = {
            "apiVersion": EVENT_V1.api_version, "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "eventTime": _micro_time(now), "reportingController": REPORTING_CONTROLLER,
            "reportingInstance": self.instance[:128], "action": action, "reason": reason,
            "regarding": regarding.as_k8s(), "note": note, "type": "Warning" if warning else "Normal",
        }
        if len(self._series) > 10_000:
            self._series.clear()
        self._series[key] = _Series(name=name, namespace=namespace, first=now, last_patch=now)
        self._queue(lambda: self._create(regarding, body), f"on {regarding.kind} {regarding.name}")

    async def _create(self, regarding: Regarding, body: dict[str, Any]) -> None:
        try:
            self.writes += 1
            await self.client.create(EVENT_V1, body)
        except ShipwayError as error:
            log.warning("could not record an Event on %s %s: %s", regarding.kind, regarding.name,
                        type(error).__name__)

    async def _write_series(self, series: _Series, count: int, now: float) -> None:
        try:
            self.writes += 1
            await self.client.patch(EVENT_V1, series.name, {"series": {
                "count": count, "lastObservedTime": _micro_time(now)}}, namespace=series.namespace)
        except ShipwayError as error:
            log.warning("could not update an Event series: %s", type(error).__name__)
