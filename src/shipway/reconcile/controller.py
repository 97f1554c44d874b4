"""The controller: watch events in, the cache updated, the affected pipelines queued.

A change to a source Secret queues only the pipelines that reference it (an index from source to
pipelines, rebuilt from each pipeline's spec as it changes); a change to the Platform queues the pipelines
that use it; a change to an object Shipway owns queues its pipeline. Nothing is polled.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from shipway.adapters.kube.cache import Store
from shipway.core import names
from shipway.core.layers import referenced_secrets
from shipway.core.resources import PipelineSpec, PlatformSpec, SecretRef
from shipway.reconcile.gather import platform_spec
from shipway.reconcile.platform import PLATFORM_KEY
from shipway.reconcile.queue import WorkQueue

log = logging.getLogger(__name__)

WATCHED_KINDS = ("Pipeline", "Platform", "Secret", "Namespace", "ServiceAccount", "Role", "RoleBinding")


class Controller:
    def __init__(self, *, store: Store, queue: WorkQueue) -> None:
        self.store = store
        self.queue = queue
        self._sources: dict[SecretRef, set[str]] = defaultdict(set)  # source Secret -> pipelines
        self._uses: dict[str, frozenset[SecretRef]] = {}  # pipeline -> source Secrets
        self._homes: dict[str, set[str]] = defaultdict(set)  # phase namespace -> pipelines whose spec names it
        self._claims: dict[str, frozenset[str]] = {}  # pipeline -> its phase namespaces
        self.synced = False  # set by the first event after every watch's initial list is in the cache
        self._platform_refs: frozenset[SecretRef] = frozenset()
        self._platform: PlatformSpec | None = None  # as of the last Platform event (read once per change)

    def pipelines_using(self, ref: SecretRef) -> set[str]:
        return set(self._sources.get(ref, ()))

    def _index_pipeline(self, name: str, body: dict[str, Any] | None, *, platform: PlatformSpec | None) -> None:
        for ref in self._uses.pop(name, frozenset()):
            self._sources[ref].discard(name)
            if not self._sources[ref]:
                del self._sources[ref]
        for namespace in self._claims.pop(name, frozenset()):
            self._homes[namespace].discard(name)
            if not self._homes[namespace]:
                del self._homes[namespace]
        if body is None:
            return
        claims = frozenset(phase.get("namespace") or f"{name}-{phase.get('name')}"
                           for phase in (body.get("spec") or {}).get("phases") or [])
        self._claims[name] = claims
        for namespace in claims:
            self._homes[namespace].add(name)
        try:
            spec = PipelineSpec.model_validate(body.get("spec") or {})
        except ValueError:
            return
        refs = referenced_secrets(platform=platform, pipeline=spec)
        self._uses[name] = refs
        for ref in refs:
            self._sources[ref].add(name)

    def _reindex_all(self) -> None:
        """After a Platform change: its sources, and every pipeline's (the platform layer is read once)."""
        platform = self._platform = platform_spec(self.store)
        self._platform_refs = (frozenset(c.secret_ref for c in platform.registry.credentials) if platform
                               else frozenset())
        for body in list(self.store.list("Pipeline")):
            self._index_pipeline(body["metadata"]["name"], body, platform=platform)

    def observe(self, kind: str, body: dict[str, Any]) -> bool:
        """Feed one object from a watch (initial listing included) into the cache. True when it was news."""
        changed = self.store.upsert(kind, body)
        if changed and kind == "Pipeline":
            self._index_pipeline(body["metadata"]["name"], body, platform=self._platform)
        elif changed and kind == "Platform":
            self._reindex_all()
        return changed

    def mark_synced(self) -> None:
        """Every watch has listed: the cache holds the cluster's state (reconciles may start)."""
        self.synced = True
        log.info("cache synced: %s", ", ".join(f"{k}={n}" for k, n in sorted(self.store.sizes().items())))

    def queue_everything(self) -> None:
        """A full pass (on taking the lead): every pipeline, every pipeline that left something behind, and
        the Platform."""
        keys = set(self.store.names("Pipeline")) | self.store.pipeline_labels("Namespace")
        for key in sorted(k for k in keys if k):
            self.queue.add(key)
        self.queue.add(PLATFORM_KEY)

    def handle(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None:
        """A watch event after the initial sync: update the cache, queue who is affected."""
        meta = body.get("metadata") or {}
        if event_type == "DELETED":
            # A relist reports what vanished in a gap with its name only: who it affected is in the cache.
            body = self.store.get(kind, meta.get("name", ""), meta.get("namespace") or "") or body
            self.store.delete(kind, body)
            if kind == "Pipeline":
                self._index_pipeline(meta.get("name", ""), None, platform=None)
            elif kind == "Platform":
                self._reindex_all()
        else:
            self.observe(kind, body)
            if event_type is not None and self.store.is_own_echo(kind, body):
                return  # the echo of Shipway's own write: the cache already holds it
        for key in self.affected(kind, body):
            self.queue.add(key)

    def affected(self, kind: str, body: dict[str, Any]) -> set[str]:
        meta = body.get("metadata") or {}
        labels = meta.get("labels") or {}
        if kind == "Pipeline":
            return {meta.get("name", "")}
        if kind == "Platform":
            if meta.get("name") != names.PLATFORM_NAME:
                return set()
            # Every pipeline: the platform layer, push target, adoptions and allowed registries bind them all.
            return {PLATFORM_KEY, *self.store.names("Pipeline")}
        if kind == "Secret" and labels.get(names.MANAGED_BY_LABEL) != names.MANAGED_BY:
            ref = SecretRef(namespace=meta.get("namespace", ""), name=meta.get("name", ""))
            return self.pipelines_using(ref) | ({PLATFORM_KEY} if ref in self._platform_refs else set())
        pipeline = labels.get(names.PIPELINE_LABEL)
        if pipeline:
            return {pipeline}
        if kind == "ServiceAccount":  # a default ServiceAccount Shipway has not touched yet
            return self.pipelines_in(meta.get("namespace", ""))
        return set()

    def pipelines_in(self, namespace: str) -> set[str]:
        """The pipelines one of whose phases lives in ``namespace``."""
        owner = ((self.store.get("Namespace", namespace) or {}).get("metadata") or {}).get("labels", {}).get(
            names.PIPELINE_LABEL)
        if owner:
            return {owner}
        return set(self._homes.get(namespace, ()))  # an index, not a scan of every pipeline
