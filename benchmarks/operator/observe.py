"""The benchmark's view of progress: when each pipeline became Ready, and when each inheriting namespace's
``shipway-pull`` and each inheriting pipeline's status showed a rotation, from watches of its own (so the
same clock measures the operator and the floor)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.operator.api import Connection, Watch
from benchmarks.operator.common import MANAGED_SELECTOR, BenchmarkError, Deadline
from benchmarks.operator.processes import Child
from benchmarks.operator.workload import Workload, decoded_auths


def is_ready(pipeline: dict[str, Any]) -> bool:
    status = pipeline.get("status") or {}
    generation = (pipeline.get("metadata") or {}).get("generation")
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               and (generation is None or c.get("observedGeneration") in (None, generation))
               for c in status.get("conditions") or [])


def phase_fingerprints(pipeline: dict[str, Any]) -> set[str]:
    return {str(p.get("fingerprint")) for p in (pipeline.get("status") or {}).get("phases") or []}


class Observer:
    def __init__(self, connection: Connection, workload: Workload) -> None:
        self.connection = connection
        self.workload = workload
        self.ready_at: dict[str, float] = {}
        self.pull_updated_at: dict[str, float] = {}
        self.status_updated_at: dict[str, float] = {}
        self.rotating = False
        self.new_password = ""
        self.old_fingerprints: dict[str, set[str]] = {}
        self.inheriting_namespaces = {ns for n in workload.inheriting_names for ns in workload.namespaces_of(n)}
        self.pipelines = Watch(connection, "shipway.dev/v1alpha1", "pipelines", on_event=self._on_pipeline)
        self.watches: list[Watch] = [self.pipelines]

    async def start(self) -> None:
        await self.pipelines.start()

    async def add(self, watch: Watch) -> Watch:
        self.watches.append(watch)
        await watch.start()
        return watch

    async def stop(self) -> None:
        for watch in self.watches:
            await watch.stop()

    def _on_pipeline(self, event_type: str, obj: dict[str, Any], when: float) -> None:
        name = obj["metadata"]["name"]
        if name not in self.ready_at and is_ready(obj):
            self.ready_at[name] = when
        if self.rotating and name in self.old_fingerprints and name not in self.status_updated_at:
            now = phase_fingerprints(obj)
            if now and not now & self.old_fingerprints[name]:
                self.status_updated_at[name] = when

    def _on_secret(self, event_type: str, obj: dict[str, Any], when: float) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if (not self.rotating or meta.get("name") != "shipway-pull" or ns not in self.inheriting_namespaces
                or ns in self.pull_updated_at):
            return
        entry = decoded_auths(obj).get(self.workload.pull_registry) or {}
        if entry.get("password") == self.new_password:
            self.pull_updated_at[ns] = when

    async def prepare_rotation(self, new_password: str) -> None:
        """Before the platform credential is patched: remember the fingerprints, watch the delivered Secrets."""
        self.old_fingerprints = {n: phase_fingerprints(self.pipelines.objects[("", n)])
                                 for n in self.workload.inheriting_names}
        self.new_password = new_password
        await self.add(Watch(self.connection, "v1", "secrets", selector=MANAGED_SELECTOR, on_event=self._on_secret))
        self.rotating = True

    async def wait(self, check: Callable[[], bool], *, what: str, deadline: Deadline,
                   children: Iterable[Child] = ()) -> None:
        while not check():
            for child in children:
                if not child.running():
                    raise BenchmarkError(f"{what}: {child.name} exited ({child.process.returncode}):\n{child.tail()}")
            for watch in self.watches:
                if watch.error is not None:
                    raise BenchmarkError(f"{what}: a watch of the benchmark failed: {watch.error!r}")
            deadline.check(what)
            await asyncio.sleep(0.05)

    async def wait_ready(self, deadline: Deadline, children: Iterable[Child] = ()) -> None:
        await self.wait(lambda: len(self.ready_at) == self.workload.pipelines, what="every pipeline Ready",
                        deadline=deadline, children=children)

    async def wait_rotated(self, deadline: Deadline, children: Iterable[Child] = ()) -> None:
        await self.wait(lambda: len(self.pull_updated_at) == len(self.inheriting_namespaces),
                        what="every inheriting shipway-pull rotated", deadline=deadline, children=children)
        await self.wait(lambda: len(self.status_updated_at) == self.workload.inheriting,
                        what="every inheriting pipeline's status rotated", deadline=deadline, children=children)

    def rotation_figures(self, rotated_at: float) -> dict[str, float]:
        return {
            "rotation_seconds": round(max(self.pull_updated_at.values(), default=rotated_at) - rotated_at, 3),
            "rotation_first_namespace_seconds": round(
                min(self.pull_updated_at.values(), default=rotated_at) - rotated_at, 3),
            "rotation_status_seconds": round(max(self.status_updated_at.values(), default=rotated_at) - rotated_at,
                                             3),
        }

