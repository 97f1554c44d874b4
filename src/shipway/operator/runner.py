"""Running the operator: the cache, the client, the queue and kopf, wired together."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from pathlib import Path

import kopf

from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.client import KubeClient
from shipway.core import names
from shipway.operator.handlers import build_registry, build_settings
from shipway.reconcile.controller import Controller
from shipway.reconcile.pipelines import Reconciler
from shipway.reconcile.queue import WorkQueue
from shipway.reconcile.verifying import Verifier

log = logging.getLogger(__name__)
DEFAULT_VERIFY_INTERVAL = 6 * 3600.0  # seconds between re-checks of an unchanged credential (±10% jitter)


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

    async def run(self) -> None:
        # Created here, inside the running loop, since it owns timers and tasks.
        self.reconciler.verifier = Verifier(interval=self.verify_interval, ca_file=self.registry_ca_file,
                                            on_change=self._verified)
        registry = build_registry(controller=self.controller)
        settings = build_settings(standalone=self.standalone)
        queue_task = asyncio.create_task(self.queue.run(), name="shipway-queue")
        try:
            await kopf.operator(
                registry=registry, settings=settings, standalone=self.standalone, clusterwide=True,
                # Peers with the highest priority lead; the others pause. Random priorities elect one.
                priority=0 if self.standalone else random.randint(1, 2**30),  # noqa: S311
                peering_name=None if self.standalone else "shipway", stop_flag=self.stop, ready_flag=self.ready,
            )
        finally:
            self.reconciler.verifier.close()
            queue_task.cancel()
            await asyncio.gather(queue_task, return_exceptions=True)
            await self.client.close()
