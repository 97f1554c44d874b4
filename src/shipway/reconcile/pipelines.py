"""Reconciling one Pipeline: its name in; the cache read; the desired state computed by the core; the
difference applied; a result out. Level-triggered: every run computes the whole desired state.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.client import KubeClient
from shipway.core import names
from shipway.core.desired import Owner, PhaseObjects, phase_objects
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.layers import Layer, resolve_pipeline
from shipway.core.status import pipeline_status
from shipway.core.verification import verified_entries
from shipway.reconcile.apply import ACCOUNT_WAIT_SECONDS, IN_OWN_NAMESPACE, Applier
from shipway.reconcile.gather import gather
from shipway.reconcile.platform import PLATFORM_KEY, reconcile_platform
from shipway.reconcile.queue import Outcome
from shipway.reconcile.verifying import Verifier

log = logging.getLogger(__name__)
SA_RETRY_SECONDS = 0.5  # after a namespace vanished under a reconcile
_OWNED_KINDS = (kinds.SECRET, kinds.SERVICE_ACCOUNT, kinds.ROLE, kinds.ROLE_BINDING)


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Reconciler:
    """Everything a reconcile needs, passed in: the cache, the client, and a clock."""

    client: KubeClient
    store: Store
    clock: Callable[[], str] = utc_now
    foreign_namespaces: set[str] = field(default_factory=set)
    verifier: Verifier | None = None
    account_waits: dict[str, float] = field(default_factory=dict)
    uses: dict[str, set[str]] = field(default_factory=dict)  # queue key -> fingerprints it shows as Verified
    writes: int = 0

    async def __call__(self, name: str) -> Outcome:
        applier = Applier(client=self.client, store=self.store, foreign_namespaces=self.foreign_namespaces,
                          account_waits=self.account_waits)
        try:
            if name == PLATFORM_KEY:
                return await reconcile_platform(self, applier)
            return await self._reconcile(name, applier)
        finally:
            self.writes += applier.writes

    def track(self, key: str, fingerprints: set[str]) -> None:
        """Remember which fingerprints ``key`` shows; stop verifying those nobody shows any more."""
        before = self.uses.get(key)
        if fingerprints:
            self.uses[key] = fingerprints
        else:
            self.uses.pop(key, None)
        if self.verifier is not None and before and before - fingerprints:
            self.verifier.forget(set().union(*self.uses.values()) if self.uses else set())

    def keys_using(self, fingerprint: str) -> list[str]:
        return [key for key, fingerprints in self.uses.items() if fingerprint in fingerprints]

    async def _reconcile(self, name: str, applier: Applier) -> Outcome:
        inputs = gather(self.store, name)
        if inputs is None:
            self.track(name, set())
            mine = {names.PIPELINE_LABEL: name, names.MANAGED_BY_LABEL: names.MANAGED_BY}
            await self._release_foreign(name, applier, keep={
                ns["metadata"]["name"] for ns in self.store.list("Namespace", labels=mine)})
            return Outcome()
        if isinstance(inputs, InvalidInput):
            log.warning("pipeline %s has an invalid spec: %s", name, inputs)
            body = self.store.get("Pipeline", name) or {}
            await self._write_status(applier, name, body, pipeline_status(
                resolutions=[], delivered=[], generation=(body.get("metadata") or {}).get("generation"),
                previous_conditions=(body.get("status") or {}).get("conditions") or [], now=self.clock(),
                extra_findings=[("InvalidSpec", str(inputs))]))
            return Outcome()
        pipeline, body = inputs.pipeline, inputs.body
        owner = Owner(name=name, uid=str(pipeline.metadata.uid))
        resolutions = resolve_pipeline(pipeline_name=name, pipeline=pipeline.spec, platform=inputs.platform,
                                       sources=inputs.sources)
        delivered: list[PhaseObjects] = []
        requeue: float | None = None
        for resolution in resolutions:
            objects = phase_objects(resolution, owner=owner)
            try:
                ready = await self._apply_phase(applier, objects, pipeline=name)
            except NotFound:
                # The namespace vanished under us (or is terminating): start over from the namespace.
                self.foreign_namespaces.discard(objects.namespace)
                self.store.forget("Namespace", objects.namespace)
                return Outcome(requeue_after=SA_RETRY_SECONDS)
            if not ready:
                requeue = ACCOUNT_WAIT_SECONDS  # a fallback only: the ServiceAccount's event usually comes first
            delivered.append(objects)
        await self._prune(applier, name, keep={o.namespace: o for o in delivered})
        verifications = None
        if self.verifier is not None and self.verifier.enabled:
            # The pipeline's and its phases' own credentials; the platform's are shown on the Platform.
            own = [e for r in resolutions for e in (*r.pull, *((r.push,) if r.push else ()))
                   if e.provenance.layer is not Layer.PLATFORM]
            self.verifier.want(own)
            self.track(name, {e.fingerprint for e in own})
            verifications = verified_entries(own, self.verifier.records)
        status = pipeline_status(
            resolutions=resolutions, delivered=delivered, generation=pipeline.metadata.generation,
            previous_conditions=(body.get("status") or {}).get("conditions") or [], now=self.clock(),
            verifications=verifications)
        await self._write_status(applier, name, body, status)
        if applier.writes:
            log.info("pipeline %s reconciled: %d write(s); pull sets %s", name, applier.writes,
                     ", ".join(f"{r.namespace}={r.pull_fingerprint}" for r in resolutions))
        return Outcome(requeue_after=requeue)

    async def _apply_phase(self, applier: Applier, objects: PhaseObjects, *, pipeline: str) -> bool:
        await applier.ensure_namespace(objects.namespace_object)
        if objects.pull_secret is not None:
            await applier.ensure(kinds.SECRET, objects.pull_secret)
        for obj in objects.push_objects:
            await applier.ensure(kinds.BY_KIND[obj["kind"]], obj)
        owned = objects.owned_names
        for kind in _OWNED_KINDS:
            for actual in list(self.store.list(kind.kind, namespace=objects.namespace,
                                               labels={names.PIPELINE_LABEL: pipeline,
                                                       names.MANAGED_BY_LABEL: names.MANAGED_BY})):
                actual_name = actual["metadata"]["name"]
                if actual_name not in owned[kind.kind]:
                    await applier.delete(kind, actual_name, objects.namespace)
        # Last, so the pull secret exists before the ServiceAccount names it.
        return await applier.ensure_default_pull_secret(
            namespace=objects.namespace, pipeline=pipeline, phase=objects.phase, wanted=objects.pull_secret_name)

    async def _prune(self, applier: Applier, name: str, *, keep: dict[str, PhaseObjects]) -> None:
        """Remove what Shipway keeps for phases that are gone or disabled."""
        mine = {names.PIPELINE_LABEL: name, names.MANAGED_BY_LABEL: names.MANAGED_BY}
        own = list(self.store.list("Namespace", labels=mine))
        own_namespaces = {ns["metadata"]["name"] for ns in own}
        terminating = {ns["metadata"]["name"] for ns in own if ns["metadata"].get("deletionTimestamp")}
        for ns_name in sorted(own_namespaces - set(keep) - terminating):
            await applier.delete(kinds.NAMESPACE, ns_name, None)  # its contents go with it
        for kind in _OWNED_KINDS:
            for obj in list(self.store.list(kind.kind, labels=mine)):
                ns = obj["metadata"].get("namespace", "")
                if obj["metadata"].get("deletionTimestamp"):
                    continue  # already on its way out
                if ns not in keep and ns not in own_namespaces:  # left in a namespace Shipway does not own
                    await applier.delete(kind, obj["metadata"]["name"], ns)
        await self._release_foreign(name, applier, keep=set(keep) | own_namespaces)

    async def _release_foreign(self, name: str, applier: Applier, *, keep: set[str]) -> None:
        """Undo what Shipway added to the ``default`` ServiceAccounts outside ``keep`` (the live phases and the
        namespaces Shipway owns, which go whole, by the operator or by garbage collection)."""
        for account in list(self.store.list("ServiceAccount", labels={names.PIPELINE_LABEL: name})):
            meta = account.get("metadata") or {}
            namespace = meta.get("namespace", "")
            if meta.get("name") != names.DEFAULT_SERVICE_ACCOUNT or namespace in keep:
                continue
            if (meta.get("annotations") or {}).get(IN_OWN_NAMESPACE) == "true":
                continue  # in a namespace Shipway created: it goes with the namespace, whatever event comes first
            try:
                await applier.release_default_account(account)
            except NotFound:
                self.store.forget("ServiceAccount", names.DEFAULT_SERVICE_ACCOUNT, namespace)

    async def _write_status(self, applier: Applier, name: str, body: dict[str, Any], status: dict[str, Any]) -> None:
        if body.get("status") == status:
            return
        applier.writes += 1
        patched = await self.client.patch(kinds.PIPELINE, name, {"status": status}, status=True)
        self.store.record_write("Pipeline", patched)
