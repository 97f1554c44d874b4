"""Running the operator: informers feeding the cache, the work queue, leader election on a Lease.

Every replica keeps its cache warm (the informers run everywhere, so a take-over needs no resync). Only the
leader of the Lease ``shipway-system/shipway-operator`` reconciles and verifies: a follower writes nothing.
A leader that loses its Lease stops (its Deployment restarts it as a follower), as controller-runtime does.
With ``standalone`` there is no election: the one replica leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.client import KubeClient
from shipway.adapters.kube.connecting import connect
from shipway.adapters.kube.events import EventRecorder
from shipway.adapters.kube.informing import Informer
from shipway.adapters.kube.leasing import LeaderElector, default_identity
from shipway.core import names
from shipway.operator.watches import WATCHES, kept
from shipway.reconcile.controller import Controller
from shipway.reconcile.pipelines import Reconciler
from shipway.reconcile.queue import WorkQueue
from shipway.reconcile.verifying import DEFAULT_VERIFY_INTERVAL, Verifier

log = logging.getLogger(__name__)
LEASE_NAMESPACE = names.SYSTEM_NAMESPACE
LEASE_NAME = "shipway-operator"


class Operator:
    """One operator replica. ``run`` returns when ``stop`` is set (a signal, or leadership lost)."""

    def __init__(self, *, kubeconfig: Path | None, standalone: bool, workers: int = 4,
                 verify_interval: float = DEFAULT_VERIFY_INTERVAL, registry_ca_file: Path | None = None,
                 lease_duration: float = 15.0, identity: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.standalone = standalone
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.store = Store()
        self.client = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-operator",
                                 field_manager=names.FIELD_MANAGER, instance=self.identity,
                                 max_in_flight=workers * 2)
        self.recorder = EventRecorder(client=self.client, instance=f"{socket.gethostname()}-{self.identity}")
        self.reconciler = Reconciler(client=self.client, store=self.store, recorder=self.recorder)
        self.queue = WorkQueue(handler=self.reconciler, workers=workers)
        self.recorder.quiet = self.queue.wait_quiet  # deliveries first, their Events right after
        self.verify_interval = verify_interval
        self.registry_ca_file = registry_ca_file
        self.controller = Controller(store=self.store, queue=self.queue)
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()  # every informer has listed: the cache is synced
        self.leading = asyncio.Event()
        self.lost_leadership = False
        self._synced: set[str] = set()

    def _verified(self, fingerprint: str) -> None:
        for key in self.reconciler.keys_using(fingerprint):
            self.queue.add(key)

    def _take_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop.set)

    def _on_event(self, kind: str) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        async def handle(event_type: str, body: dict[str, Any]) -> None:
            if not self.ready.is_set():  # the initial lists fill the cache; reconciles start once all are in
                if event_type == "DELETED":
                    self.store.delete(kind, body)
                else:
                    self.controller.observe(kind, body)
                return
            self.controller.handle(kind, event_type, body)
        return handle

    def _on_synced(self, watch: str) -> Callable[[], Awaitable[None]]:
        async def synced() -> None:
            self._synced.add(watch)
            if len(self._synced) == len(WATCHES) and not self.ready.is_set():
                self.ready.set()
                self.controller.mark_synced()
        return synced

    def _informers(self, http: Any) -> list[Informer]:
        def transform(kind: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
            return lambda body: body if kept(kind, body) else None
        return [Informer(http=http, kind=w.kind, label_selector=w.label_selector, field_selector=w.field_selector,
                         on_event=self._on_event(w.kind.kind), on_synced=self._on_synced(w.name),
                         transform=transform(w.kind.kind), stop=self.stop)
                for w in WATCHES]

    async def _lead(self, verifier: Verifier) -> None:
        """Reconcile and verify while leading (the queue holds every key that changed meanwhile)."""
        await self.ready.wait()
        self.reconciler.verifier = verifier
        log.info("leading: %s reconciles", self.identity)
        self.controller.queue_everything()
        await self.queue.run()

    async def run(self, *, handle_signals: bool = True) -> None:
        if handle_signals:
            self._take_signals()
        http = connect(kubeconfig=self.kubeconfig, user_agent="shipway-operator", instance=self.identity)
        verifier = Verifier(interval=self.verify_interval, ca_file=self.registry_ca_file, on_change=self._verified)
        tasks = [asyncio.create_task(i.run(), name="shipway-watch") for i in self._informers(http)]
        work: list[asyncio.Task[None]] = []

        async def started_leading() -> None:
            self.leading.set()
            work.append(asyncio.create_task(self._lead(verifier), name="shipway-queue"))
            work.append(asyncio.create_task(self.recorder.run(), name="shipway-events"))

        async def stopped_leading() -> None:
            if self.stop.is_set():
                return  # stepping down because we stop: a release, not a loss
            log.warning("lost the Lease %s/%s: stopping (a follower takes over)", LEASE_NAMESPACE, LEASE_NAME)
            self.lost_leadership = True
            self.stop.set()

        if self.standalone:
            await started_leading()
        else:
            elector = LeaderElector(http=http, namespace=LEASE_NAMESPACE, name=LEASE_NAME, identity=self.identity,
                                    lease_duration=self.lease_duration, on_started_leading=started_leading,
                                    on_stopped_leading=stopped_leading, stop=self.stop)
            tasks.append(asyncio.create_task(elector.run(), name="shipway-elector"))
        try:
            stopping = asyncio.create_task(self.stop.wait())
            await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.error("a watch failed: %s", type(task.exception()).__name__)
        finally:
            self.stop.set()
            verifier.close()
            if self.leading.is_set() and not self.lost_leadership:
                await self.recorder.drain(timeout=2.0)  # the Events already decided, best effort
            for task in work:
                task.cancel()
            await asyncio.gather(*work, return_exceptions=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5.0)  # the elector releases
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.aclose()
            await self.client.close()
