"""Reclaiming a phase that is gone (removed, disabled, or its pipeline deleted), as a PersistentVolume's
reclaim policy does: Shipway always removes what it made there (its Secrets, the builder ServiceAccount, Role
and RoleBinding, its entries, labels and annotation on the ``default`` ServiceAccount); then

* ``Retain`` (the default) leaves the namespace and everything else in it. A namespace Shipway created loses
  Shipway's labels and annotation and gets ``shipway.dev/released-from: <pipeline>``, so that same pipeline
  may claim it again (and no other, unless a platform admin adopts it);
* ``Delete`` deletes the namespace, and only a namespace Shipway created (never an adopted one).

The policy is the pipeline's (or the Platform's default) while the pipeline exists, and the one recorded on
the namespace once it is gone. Level-triggered: a reclaim interrupted by a crash is finished by the next run.
"""

from __future__ import annotations

import logging
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.cache import Store
from shipway.core import names
from shipway.core.errors import NotFound
from shipway.core.resources import ReclaimPolicy, is_protected_namespace
from shipway.reconcile.apply import Applier

log = logging.getLogger(__name__)
OWNED_KINDS = (kinds.SECRET, kinds.SERVICE_ACCOUNT, kinds.ROLE, kinds.ROLE_BINDING)


def mine(pipeline: str) -> dict[str, str]:
    return {names.PIPELINE_LABEL: pipeline, names.MANAGED_BY_LABEL: names.MANAGED_BY}


def policy_of(namespace: dict[str, Any] | None, *, current: ReclaimPolicy | None) -> ReclaimPolicy:
    """The pipeline's policy while it exists; once it is gone, the one recorded on the namespace."""
    if current is not None:
        return current
    recorded = (((namespace or {}).get("metadata") or {}).get("annotations") or {}).get(names.RECLAIM_ANNOTATION)
    return ReclaimPolicy.DELETE if recorded == ReclaimPolicy.DELETE.value else ReclaimPolicy.RETAIN


def stale_namespaces(store: Store, pipeline: str, *, keep: set[str]) -> set[str]:
    """Every namespace outside ``keep`` that holds something of ``pipeline``'s: its own namespaces, and the
    objects and ``default`` ServiceAccounts it left in adopted ones."""
    found = {name for _, name in store.where("Namespace", labels=mine(pipeline))}
    for kind in OWNED_KINDS:
        found |= {namespace for namespace, _ in store.where(kind.kind, labels=mine(pipeline))}
    found |= {namespace for namespace, _ in store.where("ServiceAccount", labels={names.PIPELINE_LABEL: pipeline})}
    return found - keep


async def reclaim(applier: Applier, store: Store, *, pipeline: str, namespace: str, current: ReclaimPolicy | None,
                  system_namespace: str) -> None:
    """Undo what Shipway did for ``pipeline`` in ``namespace``, then apply the reclaim policy."""
    body = store.get("Namespace", namespace)
    created = body is not None and (body.get("metadata") or {}).get("labels", {}).get(
        names.PIPELINE_LABEL) == pipeline
    if body is not None and (body.get("metadata") or {}).get("deletionTimestamp"):
        return  # on its way out already: its contents go with it
    policy = policy_of(body, current=current)
    if created and policy is ReclaimPolicy.DELETE and not is_protected_namespace(namespace,
                                                                                 system_namespace=system_namespace):
        log.info("reclaim %s: deleting namespace %s (policy Delete)", pipeline, namespace)
        await _quietly(applier.delete(kinds.NAMESPACE, namespace, None))
        return
    for kind in OWNED_KINDS:
        for obj in list(store.list(kind.kind, namespace=namespace, labels=mine(pipeline))):
            if not obj["metadata"].get("deletionTimestamp"):
                await _quietly(applier.delete(kind, obj["metadata"]["name"], namespace))
    account = store.get("ServiceAccount", names.DEFAULT_SERVICE_ACCOUNT, namespace)
    if account is not None and (account.get("metadata") or {}).get("labels", {}).get(
            names.PIPELINE_LABEL) == pipeline:
        try:
            await applier.release_default_account(account)
        except NotFound:
            store.forget("ServiceAccount", names.DEFAULT_SERVICE_ACCOUNT, namespace)
    if created:
        log.info("reclaim %s: retaining namespace %s (policy Retain)", pipeline, namespace)
        await _quietly(applier.release_namespace(namespace, pipeline=pipeline))


async def _quietly(write: Any) -> None:
    """A write whose object may already be gone (garbage collection races the operator): 404 is done."""
    try:
        await write
    except NotFound:
        return
