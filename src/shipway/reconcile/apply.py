"""Applying the difference between desired and cached objects, writing only what differs.

Every successful write goes through to the cache, so the next reconcile sees it before the watch echo.
The ``default`` ServiceAccount is shared with others: Shipway appends its pull secret with a strategic
merge patch (merged by name, so entries others put there are neither removed nor reordered), labels the
ServiceAccount so the cache sees it from then on, and records in an annotation which names it added;
it removes only those, with a JSON patch whose ``test`` guards against a concurrent change.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.cache import Store
from shipway.core import names
from shipway.core.desired import K8sObject, differs
from shipway.core.errors import Conflict, NotFound

log = logging.getLogger(__name__)
ADDED_PULL_SECRETS = f"{names.GROUP}/image-pull-secrets"
LEGACY_IN_OWN_NAMESPACE = f"{names.GROUP}/in-own-namespace"  # written by 0.1.0; removed on release
ACCOUNT_WAIT_SECONDS = 5.0  # how long a new namespace's default ServiceAccount is awaited before Shipway makes it


def added_by_shipway(account: dict[str, Any] | None) -> list[str]:
    """The pull-secret names Shipway recorded adding to a ``default`` ServiceAccount."""
    raw = (((account or {}).get("metadata") or {}).get("annotations") or {}).get(ADDED_PULL_SECRETS, "[]")
    try:
        return [str(n) for n in json.loads(raw)]
    except ValueError:
        return []


def namespace_patch(desired: K8sObject, actual: K8sObject) -> dict[str, Any] | None:
    """The merge patch that makes a phase namespace's labels and annotation what Shipway wants (a retained
    namespace's ``released-from`` label removed, an ownerReference of older versions dropped), or None."""
    want, have = desired["metadata"], actual.get("metadata") or {}
    labels, annotations = have.get("labels") or {}, have.get("annotations") or {}
    meta: dict[str, Any] = {}
    if any(labels.get(k) != v for k, v in want["labels"].items()) or names.RELEASED_LABEL in labels:
        meta["labels"] = {**want["labels"], names.RELEASED_LABEL: None}
    if any(annotations.get(k) != v for k, v in (want.get("annotations") or {}).items()):
        meta["annotations"] = want["annotations"]
    if any(r.get("kind") == "Pipeline" for r in have.get("ownerReferences") or []):
        meta["ownerReferences"] = None
    return {"metadata": meta} if meta else None


def list_removals(current: list[dict[str, Any]], indexes: Iterable[int]) -> list[dict[str, Any]]:
    """JSON-patch operations removing entries of ``imagePullSecrets`` by index, guarded by a ``test`` of the
    whole list, so a concurrent change by anyone else fails the patch (422) instead of being clobbered."""
    if not current:
        return []
    return [{"op": "test", "path": "/imagePullSecrets", "value": current},
            *({"op": "remove", "path": f"/imagePullSecrets/{i}"} for i in sorted(indexes, reverse=True))]


class ForeignNamespace(Exception):
    """A phase namespace turned out to exist without being Shipway's: nothing may be written into it until the
    core's claim rules, asked again with that knowledge, allow it (an adoption by the platform admin)."""


class ForeignObject(Exception):
    """An object of the name Shipway wants exists and is not Shipway's (not labelled so): it is left alone."""

    def __init__(self, kind: str, name: str, namespace: str) -> None:
        super().__init__(f"{kind} {namespace}/{name}")
        self.kind, self.name, self.namespace = kind, name, namespace


class Applier:
    """Writes for one reconcile; counts what it wrote."""

    def __init__(self, *, client: KubeApi, store: Store, foreign_namespaces: dict[str, dict[str, str]],
                 account_waits: dict[str, float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.store = store
        self.foreign_namespaces = foreign_namespaces
        self.account_waits = account_waits if account_waits is not None else {}  # namespace -> waiting since
        self.clock = clock
        self.writes = 0

    async def ensure_namespace(self, desired: K8sObject) -> None:
        """The phase namespace as ``desired``: made if missing; relabelled when Shipway retained it for this
        pipeline; used as it is when adopted. A namespace that turns out to exist without being Shipway's
        raises ForeignNamespace (its labels learnt with one read), for the claim rules to decide."""
        name = desired["metadata"]["name"]
        actual = self.store.get("Namespace", name)
        if actual is not None:
            patch = namespace_patch(desired, actual)
            if patch:
                await self._patch(kinds.NAMESPACE, name, None, patch)
            return
        known = self.foreign_namespaces.get(name)
        if known is not None:
            if known.get(names.RELEASED_LABEL) == desired["metadata"]["labels"][names.PIPELINE_LABEL]:
                await self._patch(kinds.NAMESPACE, name, None, namespace_patch(desired, {"metadata": {
                    "labels": known}}))  # retained for this pipeline: Shipway's again
                self.foreign_namespaces.pop(name, None)
            return  # otherwise the core allowed the claim knowing it is foreign: an adopted namespace
        if self._known_to_exist(name):
            await self._learn_foreign(name)
        try:
            self.writes += 1
            created = await self.client.create(kinds.NAMESPACE, desired)
        except Conflict:
            log.info("namespace %s exists and was not created by Shipway", name)
            await self._learn_foreign(name)
        self.store.record_write("Namespace", created)

    async def _learn_foreign(self, name: str) -> NoReturn:
        try:
            body = await self.client.get(kinds.NAMESPACE, name)
        except NotFound:
            raise  # gone again: the caller starts over
        self.foreign_namespaces[name] = dict((body.get("metadata") or {}).get("labels") or {})
        raise ForeignNamespace(name)

    def _known_to_exist(self, namespace: str) -> bool:
        """A namespace Shipway did not create is not watched, but its ``default`` ServiceAccount and what
        Shipway keeps inside it are: any of them in the cache proves the namespace exists."""
        return any(True for kind in ("ServiceAccount", "Secret") for _ in self.store.list(kind, namespace=namespace))

    async def ensure(self, kind: kinds.Kind, desired: K8sObject) -> None:
        meta = desired["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        actual = self.store.get(kind.kind, name, namespace)
        if actual is None:
            self.writes += 1
            try:
                created = await self.client.create(kind, desired)
            except Conflict:
                # It exists but is not in the cache: not labelled as ours. Never take over what others made.
                raise ForeignObject(kind.kind, name, namespace) from None
            self.store.record_write(kind.kind, created)
            return
        if actual.get("type", desired.get("type")) != desired.get("type"):
            await self.delete(kind, name, namespace)  # type is immutable
            await self.ensure(kind, desired)
            return
        if differs(desired, actual):
            await self._patch(kind, name, namespace, self._patch_body(desired))

    @staticmethod
    def _patch_body(desired: K8sObject) -> dict[str, Any]:
        body = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
        body["metadata"] = {k: v for k, v in desired["metadata"].items() if k not in ("name", "namespace")}
        return body

    async def _patch(self, kind: kinds.Kind, name: str, namespace: str | None, body: Any,
                     patch_type: str = "merge") -> dict[str, Any]:
        self.writes += 1
        patched = await self.client.patch(kind, name, body, namespace=namespace,
                                          patch_type=patch_type)  # type: ignore[arg-type]
        self.store.record_write(kind.kind, patched)
        return patched

    async def delete(self, kind: kinds.Kind, name: str, namespace: str | None) -> None:
        self.writes += 1
        await self.client.delete(kind, name, namespace=namespace)
        if kind is kinds.NAMESPACE:
            self.store.mark_deleting(kind.kind, name)  # Terminating until its content is gone
        else:
            self.store.forget(kind.kind, name, namespace or "")

    async def ensure_default_pull_secret(self, *, namespace: str, pipeline: str, phase: str,
                                         wanted: str | None) -> bool:
        """Make the ``default`` ServiceAccount list ``wanted`` (appended) and no other name Shipway added.

        Returns False when the ServiceAccount does not exist yet (the controller manager creates it).
        """
        account = self.store.get("ServiceAccount", names.DEFAULT_SERVICE_ACCOUNT, namespace)
        listed = [ref.get("name") for ref in (account or {}).get("imagePullSecrets") or []]
        stale = [n for n in added_by_shipway(account) if n != wanted and n in listed]
        target_added = [wanted] if wanted else []
        labels = {names.PIPELINE_LABEL: pipeline, names.PHASE_LABEL: phase}
        if stale and account is not None:
            ops = list_removals(account.get("imagePullSecrets") or [], (listed.index(n) for n in stale))
            account = await self._patch(kinds.SERVICE_ACCOUNT, names.DEFAULT_SERVICE_ACCOUNT, namespace, ops,
                                        patch_type="json")
            listed = [ref.get("name") for ref in account.get("imagePullSecrets") or []]
        needs_append = bool(wanted) and wanted not in listed
        have_meta = (account or {}).get("metadata") or {}
        have_annotations = have_meta.get("annotations") or {}
        meta_ok = (account is not None and all((have_meta.get("labels") or {}).get(k) == v for k, v in labels.items())
                   and have_annotations.get(ADDED_PULL_SECRETS) == json.dumps(target_added))
        if not needs_append and meta_ok:
            return True
        annotations: dict[str, str | None] = {ADDED_PULL_SECRETS: json.dumps(target_added)}
        meta: dict[str, Any] = {"labels": labels, "annotations": annotations}
        if account is None:
            # The ServiceAccount controller makes it a moment after the namespace; its watch event brings the
            # pipeline back here. Only if it never comes (no such controller) does Shipway create it.
            since = self.account_waits.setdefault(namespace, self.clock())
            if self.clock() - since < ACCOUNT_WAIT_SECONDS:
                return False
        self.account_waits.pop(namespace, None)
        if account is None:
            try:
                created = await self.client.create(kinds.SERVICE_ACCOUNT, {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": names.DEFAULT_SERVICE_ACCOUNT, "namespace": namespace, "labels": labels,
                                 "annotations": {k: v for k, v in annotations.items() if v is not None}},
                    "imagePullSecrets": [{"name": n} for n in target_added]})
                self.writes += 1
                self.store.record_write("ServiceAccount", created)
                return True
            except Conflict:
                self.writes += 1
        patch: dict[str, Any] = {"metadata": meta}
        if needs_append:
            patch["imagePullSecrets"] = [{"name": wanted}]
        try:
            await self._patch(kinds.SERVICE_ACCOUNT, names.DEFAULT_SERVICE_ACCOUNT, namespace, patch,
                              patch_type="strategic")
        except NotFound:
            return False
        return True

    async def release_namespace(self, name: str, *, pipeline: str) -> None:
        """Retain a namespace: drop Shipway's labels and annotation, mark which pipeline may claim it again."""
        patch = {"metadata": {
            "labels": {names.MANAGED_BY_LABEL: None, names.PIPELINE_LABEL: None, names.PHASE_LABEL: None,
                       names.RELEASED_LABEL: pipeline},
            "annotations": {names.RECLAIM_ANNOTATION: None}}}
        self.writes += 1
        await self.client.patch(kinds.NAMESPACE, name, patch)
        self.store.forget("Namespace", name)  # no longer Shipway's: out of the cache (and of the watch)

    async def release_default_account(self, account: dict[str, Any]) -> None:
        """Remove what Shipway added to a ``default`` ServiceAccount it no longer serves."""
        meta = account.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        added = set(added_by_shipway(account))
        current = account.get("imagePullSecrets") or []
        ops = list_removals(current, (i for i, ref in enumerate(current) if ref.get("name") in added))
        for label in (names.PIPELINE_LABEL, names.PHASE_LABEL):
            if label in (meta.get("labels") or {}):
                ops.append({"op": "remove", "path": "/metadata/labels/" + label.replace("/", "~1")})
        for annotation in (ADDED_PULL_SECRETS, LEGACY_IN_OWN_NAMESPACE):
            if annotation in (meta.get("annotations") or {}):
                ops.append({"op": "remove", "path": "/metadata/annotations/" + annotation.replace("/", "~1")})
        if ops:
            await self._patch(kinds.SERVICE_ACCOUNT, names.DEFAULT_SERVICE_ACCOUNT, namespace, ops, patch_type="json")
        self.store.forget("ServiceAccount", names.DEFAULT_SERVICE_ACCOUNT, namespace)
