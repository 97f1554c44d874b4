"""Running the operator: the cache, the client, the queue and kopf, wired together."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import threading
from pathlib import Path

import kopf

from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.client import KubeClient
from shipway.core import names
from shipway.operator.handlers import build_registry, build_settings
from shipway.reconcile.controller import Controller
from shipway.reconcile.pipelines import Reconciler
from shipway.reconcile.queue import WorkQueue
from shipway.reconcile.verifying import DEFAULT_VERIFY_INTERVAL, Verifier

log = logging.getLogger(__name__)


class Operator:
    """One operator instance. ``run`` returns when ``stop`` is set (or kopf stops on a signal)."""

    def __init__(self, *, kubeconfig: Path | None, standalone: bool, workers: int = 4,
                 verify_interval: float = DEFAULT_VERIFY_INTERVAL, registry_ca_file: Path | None = None) -> None:
        if kubeconfig is not None:
            os.environ["KUBECONFIG"] = str(kubeconfig)  # for kopf's own login_with_kubeconfig
        self.standalone = standalone
        self.store = Store()
        self.client = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-operator",
                                 field_manager=names.FIELD_MANAGER)
        self.reconciler = Reconciler(client=self.client, store=self.store)
        self.queue = WorkQueue(handler=self.reconciler, workers=workers)
        self.verify_interval = verify_interval
        self.registry_ca_file = registry_ca_file
        self.controller = Controller(store=self.store, queue=self.queue)
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()

    def _verified(self, fingerprint: str) -> None:
        for key in self.reconciler.keys_using(fingerprint):
            self.queue.add(key)

    def _take_signals(self) -> None:
        """Route SIGINT/SIGTERM to ``stop`` (kopf installs handlers of its own when it starts)."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop.set)

    async def _stop_own_tasks(self, queue_task: asyncio.Task[None], verifier: Verifier) -> None:
        # kopf waits up to 5 s for every task it did not start: end ours as soon as a stop is asked.
        await self.stop.wait()
        verifier.close()
        queue_task.cancel()

    async def _signals_once_ready(self) -> None:
        await self.ready.wait()
        self._take_signals()

    async def run(self, *, handle_signals: bool = True) -> None:
        # Created here, inside the running loop, since it owns timers and tasks.
        verifier = Verifier(interval=self.verify_interval, ca_file=self.registry_ca_file, on_change=self._verified)
        self.reconciler.verifier = verifier
        registry = build_registry(controller=self.controller)
        settings = build_settings(standalone=self.standalone)
        # Every long-lived task of ours exists before kopf starts, so kopf does not count it as its own.
        queue_task = asyncio.create_task(self.queue.run(), name="shipway-queue")
        helpers = [asyncio.create_task(self._stop_own_tasks(queue_task, verifier), name="shipway-stopper")]
        if handle_signals:
            self._take_signals()
            helpers.append(asyncio.create_task(self._signals_once_ready(), name="shipway-signals"))
        await asyncio.sleep(0)  # let the queue start its workers
        try:
            await kopf.operator(
                registry=registry, settings=settings, standalone=self.standalone, clusterwide=True,
                # Peers with the highest priority lead; the others pause. Random priorities elect one.
                priority=0 if self.standalone else random.randint(1, 2**30),  # noqa: S311
                peering_name=None if self.standalone else "shipway", stop_flag=self.stop, ready_flag=self.ready,
            )
        finally:
            verifier.close()
            queue_task.cancel()
            for task in helpers:
                task.cancel()
            await asyncio.gather(queue_task, *helpers, return_exceptions=True)
            await self.client.close()
