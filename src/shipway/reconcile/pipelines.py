"""Reconciling one Pipeline: its name in; the cache read; the desired state computed by the core; the
difference applied; a result out. Level-triggered: every run computes the whole desired state.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.events import EventRecorder, Regarding
from shipway.core import names
from shipway.core.desired import MAX_SECRET_BYTES, Owner, PhaseObjects, phase_objects
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.happenings import status_happenings
from shipway.core.isolation import system_namespace_of
from shipway.core.layers import Layer
from shipway.core.names import Reason
from shipway.core.resources import ReclaimPolicy
from shipway.core.status import BLOCKING, pipeline_status
from shipway.core.timestamps import kube_time
from shipway.core.verification import verified_entries
from shipway.reconcile.apply import (
    ACCOUNT_WAIT_SECONDS,
    Applier,
    ForeignNamespace,
    ForeignObject,
)
from shipway.reconcile.gather import gather, platform_spec
from shipway.reconcile.platform import PLATFORM_KEY, reconcile_platform
from shipway.reconcile.queue import Outcome
from shipway.reconcile.reclaiming import OWNED_KINDS, mine, reclaim, stale_namespaces
from shipway.reconcile.verifying import Verifier

log = logging.getLogger(__name__)
SA_RETRY_SECONDS = 0.5  # after a namespace vanished under a reconcile
TERMINATING_RETRY_SECONDS = 5.0  # a fallback: the namespace's DELETED event usually comes first


def utc_now() -> str:
    return kube_time(datetime.datetime.now(datetime.UTC))


@dataclass
class Reconciler:
    """Everything a reconcile needs, passed in: the cache, the client, and a clock."""

    client: KubeApi
    store: Store
    clock: Callable[[], str] = utc_now
    monotonic: Callable[[], float] = time.monotonic  # for waits (the default ServiceAccount's)
    foreign_namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> its labels
    verifier: Verifier | None = None
    recorder: EventRecorder | None = None
    account_waits: dict[str, float] = field(default_factory=dict)
    uses: dict[str, set[str]] = field(default_factory=dict)  # queue key -> fingerprints it shows as Verified
    writes: int = 0

    async def __call__(self, name: str) -> Outcome:
        applier = Applier(client=self.client, store=self.store, foreign_namespaces=self.foreign_namespaces,
                          account_waits=self.account_waits, clock=self.monotonic)
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
        gathered = gather(self.store, name, foreign=self.foreign_namespaces)
        if gathered is None:  # the pipeline is gone: reclaim every namespace it had, by their recorded policy
            self.track(name, set())
            platform = platform_spec(self.store)
            await self._prune(applier, name, keep=set(), policy=None, system_namespace=system_namespace_of(platform))
            return Outcome()
        if isinstance(gathered, InvalidInput):
            log.warning("pipeline %s has an invalid spec: %s", name, gathered)
            body = self.store.get("Pipeline", name) or {}
            await self._write_status(applier, name, body, pipeline_status(
                resolutions=[], delivered=[], generation=(body.get("metadata") or {}).get("generation"),
                previous_conditions=(body.get("status") or {}).get("conditions") or [], now=self.clock(),
                extra_findings=[(Reason.INVALID_SPEC, str(gathered))]))
            return Outcome()
        inputs, body = gathered.inputs, gathered.body
        pipeline = inputs.pipeline
        owner = Owner(name=name, uid=str(pipeline.metadata.uid))
        policy = pipeline.spec.reclaim(inputs.platform)
        resolutions = inputs.resolve()
        held: set[str] = set()  # phases not (fully) delivered this time keep what they have
        delivered: list[PhaseObjects] = []
        problems: dict[str, list[tuple[str, str]]] = {}  # phase -> blocking findings found while delivering
        requeue: float | None = None
        for resolution in resolutions:
            objects = phase_objects(resolution, owner=owner, reclaim=policy)
            if objects.oversized:
                held.add(objects.namespace)
                problems.setdefault(objects.phase, []).append((Reason.SECRET_TOO_LARGE, (
                    f"{objects.phase}: the pull or push Secret would be over {MAX_SECRET_BYTES} bytes; nothing was "
                    "delivered: reference fewer or smaller credentials")))
                continue
            if self._terminating(objects.namespace):
                # A namespace being deleted takes no new objects: wait for it to go (its DELETED event requeues
                # the pipeline), then make it anew. Nothing is written meanwhile.
                held.add(objects.namespace)
                requeue = TERMINATING_RETRY_SECONDS
                problems.setdefault(objects.phase, []).append((Reason.NAMESPACE_TERMINATING, (
                    f"{objects.phase}: namespace {objects.namespace} is being deleted; Shipway makes it again "
                    "once it is gone")))
                continue
            try:
                ready = await self._apply_phase(applier, objects, pipeline=name)
            except ForeignObject as foreign:
                held.add(objects.namespace)
                problems.setdefault(objects.phase, []).append((Reason.NAME_TAKEN, (
                    f"{objects.phase}: a {foreign.kind} named {foreign.name} exists in {foreign.namespace} and is "
                    "not Shipway's; Shipway leaves it alone")))
                continue
            except NotFound:
                # The namespace vanished under us (or is terminating): start over from the namespace.
                self.foreign_namespaces.pop(objects.namespace, None)
                self.store.forget("Namespace", objects.namespace)
                return Outcome(requeue_after=SA_RETRY_SECONDS)
            except ForeignNamespace:
                # It exists and is not Shipway's: the claim is decided again, by the core, from what we now know.
                return Outcome(requeue_after=0.0)
            if not ready:
                requeue = ACCOUNT_WAIT_SECONDS  # a fallback only: the ServiceAccount's event usually comes first
                problems.setdefault(objects.phase, []).append((Reason.SERVICE_ACCOUNT_PENDING, (
                    f"{objects.phase}: the default ServiceAccount of {objects.namespace} does not list the pull "
                    "secret yet (it is made by the ServiceAccount controller)")))
            delivered.append(objects)
        await self._prune(applier, name, keep={o.namespace for o in delivered} | held,
                          policy=policy, system_namespace=system_namespace_of(inputs.platform))
        verifications = None
        if self.verifier is not None and self.verifier.enabled:
            # The pipeline's and its phases' own credentials; the platform's are shown on the Platform.
            own = [e for r in resolutions for e in (*r.pull, *((r.push,) if r.push else ()))
                   if e.provenance.layer is not Layer.PLATFORM]
            self.verifier.want(own)
            self.track(name, {e.fingerprint for e in own})
            verifications = verified_entries(own, self.verifier.records)
        if self._only_waiting(problems, inputs.claim_findings, resolutions):
            # The ServiceAccount controller makes ``default`` a moment after the namespace: its event brings the
            # pipeline back within the wait, when status is written once (no Ready=True before that, and no
            # status or Event write that the next second overturns).
            return Outcome(requeue_after=requeue)
        status = pipeline_status(
            resolutions=resolutions, delivered=delivered, generation=pipeline.metadata.generation,
            previous_conditions=(body.get("status") or {}).get("conditions") or [], now=self.clock(),
            verifications=verifications, extra_findings=inputs.claim_findings, phase_findings=problems,
            reclaim=policy)
        await self._write_status(applier, name, body, status)
        if applier.writes:
            log.info("pipeline %s reconciled: %d write(s); pull sets %s", name, applier.writes,
                     ", ".join(f"{r.namespace}={r.pull_fingerprint}" for r in resolutions))
        return Outcome(requeue_after=requeue)

    def _only_waiting(self, problems: dict[str, list[tuple[str, str]]], claims: list[tuple[str, str]],
                      resolutions: list[Any]) -> bool:
        """Whether the one thing missing is a ``default`` ServiceAccount still within its wait."""
        reasons = {reason for found in problems.values() for reason, _ in found}
        if reasons != {Reason.SERVICE_ACCOUNT_PENDING} or claims or any(
                f.reason in BLOCKING for r in resolutions for f in r.findings):
            return False
        now = self.monotonic()
        waits = [self.account_waits.get(ns) for ns in self._pending_namespaces(problems, resolutions)]
        return all(since is not None and now - since < ACCOUNT_WAIT_SECONDS for since in waits)

    @staticmethod
    def _pending_namespaces(problems: dict[str, list[tuple[str, str]]], resolutions: list[Any]) -> list[str]:
        by_phase = {r.phase.name.value: r.namespace for r in resolutions}
        return [by_phase[phase] for phase, found in problems.items()
                if any(reason == Reason.SERVICE_ACCOUNT_PENDING for reason, _ in found) and phase in by_phase]

    @staticmethod
    async def _ensure_all(applier: Applier, wanted: list[tuple[kinds.Kind, dict[str, Any]]]) -> None:
        """Every object at once; the first failure is raised once all are done (no write left running)."""
        results = await asyncio.gather(*(applier.ensure(kind, obj) for kind, obj in wanted), return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed

    def _terminating(self, namespace: str) -> bool:
        body = self.store.get("Namespace", namespace)
        return body is not None and bool((body.get("metadata") or {}).get("deletionTimestamp"))

    async def _apply_phase(self, applier: Applier, objects: PhaseObjects, *, pipeline: str) -> bool:
        await applier.ensure_namespace(objects.namespace_object)
        # The phase's own objects are written concurrently, the RoleBinding after the Role it binds (binding
        # a Role that does not exist yet fails kube-apiserver's escalation check).
        wanted = [(kinds.SECRET, objects.pull_secret)] if objects.pull_secret is not None else []
        wanted += [(kinds.BY_KIND[obj["kind"]], obj) for obj in objects.push_objects]
        await self._ensure_all(applier, [w for w in wanted if w[0] is not kinds.ROLE_BINDING])
        await self._ensure_all(applier, [w for w in wanted if w[0] is kinds.ROLE_BINDING])
        owned = objects.owned_names
        for kind in OWNED_KINDS:
            for _, actual_name in self.store.where(kind.kind, namespace=objects.namespace, labels=mine(pipeline)):
                if actual_name not in owned[kind.kind]:
                    await applier.delete(kind, actual_name, objects.namespace)
        # Last, so the pull secret exists before the ServiceAccount names it.
        return await applier.ensure_default_pull_secret(
            namespace=objects.namespace, pipeline=pipeline, phase=objects.phase, wanted=objects.pull_secret_name)

    async def _prune(self, applier: Applier, name: str, *, keep: set[str], policy: ReclaimPolicy | None,
                     system_namespace: str) -> None:
        """Reclaim every namespace outside ``keep`` where Shipway has something of pipeline ``name``."""
        for namespace in sorted(stale_namespaces(self.store, name, keep=keep)):
            await reclaim(applier, self.store, pipeline=name, namespace=namespace, current=policy,
                          system_namespace=system_namespace)

    async def _write_status(self, applier: Applier, name: str, body: dict[str, Any], status: dict[str, Any]) -> None:
        if body.get("status") == status:
            return
        applier.writes += 1
        patched = await self.client.patch(kinds.PIPELINE, name, {"status": status}, status=True)
        self.store.record_write("Pipeline", patched)
        self.announce(patched, old=body.get("status"), new=status)

    def announce(self, body: dict[str, Any], *, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """The Events a status change means, on the object (Pipeline or Platform) whose status it is (queued:
        the recorder writes them in the background)."""
        if self.recorder is None:
            return
        meta = body.get("metadata") or {}
        regarding = Regarding(api_version=names.API_VERSION, kind=str(body.get("kind", "Pipeline")),
                              name=str(meta.get("name", "")), uid=str(meta.get("uid", "")))
        for happening in status_happenings(old, new):
            self.recorder.record(regarding, reason=happening.reason, note=happening.note,
                                 action=happening.action, warning=happening.warning)
