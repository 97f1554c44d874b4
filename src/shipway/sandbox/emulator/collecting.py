"""The control-plane controllers a real cluster runs next to the API server, in miniature.

* garbage collector: when no owner (by uid) of an object exists any more, the object is deleted
  (background propagation, recursively); an object created with only absent owners is collected right
  away; dangling references next to a live owner are removed. A namespaced owner must be in the
  dependent's namespace; cluster-scoped owners may own namespaced dependents.
* finalizers: an object marked for deletion is removed once its last finalizer is gone.
* namespace controller: a deleted namespace is Terminating until everything inside it is gone.
* CRD cleanup: a deleted CRD deletes its custom objects, then drops its cleanup finalizer;
  creating (or updating) a CRD serves its resources, removing it stops serving them.
* ServiceAccount controller: every new namespace gets its ``default`` ServiceAccount a moment later.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from shipway.sandbox.emulator import objects, resources
from shipway.sandbox.emulator.resources import ResourceSpec

if TYPE_CHECKING:
    from shipway.sandbox.emulator.cluster import Cluster


def after_create(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    if spec.key == resources.CRDS.key:
        _serve_crd(cluster, body)
    elif spec.key == resources.NAMESPACES.key:
        cluster.schedule_service_account(str(objects.meta_of(body)["name"]))
    if objects.owner_uids_of(body):
        collect_garbage(cluster)


def after_update(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    if objects.is_deleting(body) and not objects.finalizers_of(body) and spec.key != resources.NAMESPACES.key:
        removed = cluster.store.remove(spec, body)
        after_remove(cluster, spec, removed)
        return
    if spec.key == resources.CRDS.key:
        if objects.is_deleting(body):
            _cleanup_crd(cluster, body)
        else:
            _serve_crd(cluster, body)
    elif spec.key == resources.NAMESPACES.key and objects.is_deleting(body):
        _cleanup_namespace(cluster, str(objects.meta_of(body)["name"]))
    if objects.owner_uids_of(body):
        collect_garbage(cluster)


def after_remove(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    if spec.key == resources.CRDS.key:
        for served in resources.specs_from_crd(body):
            cluster.catalogue.unregister(*served.key)
    collect_garbage(cluster)
    namespace = objects.meta_of(body).get("namespace")
    if namespace:
        ns = cluster.store.get(resources.NAMESPACES, None, namespace)
        if ns is not None and objects.is_deleting(ns):
            _cleanup_namespace(cluster, namespace)
    for crd in list(cluster.store.scan(resources.CRDS)):
        if objects.is_deleting(crd) and _crd_group_resource(crd) == (spec.group, spec.plural):
            _cleanup_crd(cluster, crd)


def collect_garbage(cluster: Cluster) -> None:
    """Delete dependents whose owners are all gone; repeat until nothing more is collectable.

    Only the objects the store queued are looked at: those written with ``ownerReferences`` and the
    dependents of removed objects (see :class:`~shipway.sandbox.emulator.store.ObjectStore`). Queued
    objects that are collectable but of a resource not served (now) stay queued for every later run.
    """
    if "gc" in cluster.running:  # a nested call (from a deletion the collector made): the outer loop drains
        return
    cluster.running.add("gc")
    try:
        _collect_until_stable(cluster)
    finally:
        cluster.running.discard("gc")


def _collect_until_stable(cluster: Cluster) -> None:
    unserved: list[str] = []
    changed = False
    while True:
        batch = cluster.store.take_gc_queue()
        if not batch:
            if not (changed and unserved):
                break
            batch, unserved, changed = unserved, [], False  # a change may have served them: look again
        for uid, outcome in _collect_pass(cluster, batch):
            if outcome is None:
                unserved.append(uid)
            changed = changed or bool(outcome)
    cluster.store.queue_for_gc(unserved)


def _collect_pass(cluster: Cluster, batch: list[str]) -> list[tuple[str, bool | None]]:
    """One pass in store order; objects queued meanwhile join it if they come later, else the next pass."""
    store = cluster.store
    heap = [(store.store_order(uid), uid) for uid in batch]
    heapq.heapify(heap)
    done: dict[str, bool | None] = {}
    later: list[str] = []
    while heap:
        order, uid = heapq.heappop(heap)
        if uid in done:
            continue
        done[uid] = _collect_one(cluster, uid)
        for queued in store.take_gc_queue():
            queued_order = store.store_order(queued)
            if queued_order > order and queued not in done:
                heapq.heappush(heap, (queued_order, queued))
            else:
                later.append(queued)
    store.queue_for_gc(later)
    return list(done.items())


def _collect_one(cluster: Cluster, uid: str) -> bool | None:
    """Collect (or drop dangling references of) one object: whether it changed, None if unserved."""
    located = cluster.store.locate_uid(uid)
    if located is None:
        return False
    resource, (namespace, _name) = located
    body = cluster.store.get_located(resource, located[1])
    if body is None:
        return False
    uids = objects.owner_uids_of(body)
    if not uids or objects.is_deleting(body):
        return False
    alive = [owner for owner in uids if _owner_alive(cluster, owner, namespace)]
    if len(alive) == len(uids):
        return False
    spec = _any_spec(cluster, *resource)
    if spec is None:
        return None
    if not alive:
        cluster.delete_stored(spec, body)
    else:
        _drop_owner_refs(cluster, spec, body, keep=set(alive))
    return True


def orphan_dependents(cluster: Cluster, owner_uid: str) -> None:
    """``propagationPolicy: Orphan``: dependents lose their reference to the owner and survive it."""
    for uid in cluster.store.dependents_of(owner_uid):
        located = cluster.store.locate_uid(uid)
        body = None if located is None else cluster.store.get_located(*located)
        if located is None or body is None:
            continue
        uids = objects.owner_uids_of(body)
        spec = _any_spec(cluster, *located[0])
        if owner_uid in uids and spec is not None:
            _drop_owner_refs(cluster, spec, body, keep=set(uids) - {owner_uid})


def ensure_default_service_account(cluster: Cluster, namespace: str) -> None:
    ns = cluster.store.get(resources.NAMESPACES, None, namespace)
    if ns is None or objects.is_deleting(ns):
        return
    if cluster.store.get(resources.SERVICEACCOUNTS, namespace, "default") is None:
        cluster.create(resources.SERVICEACCOUNTS, namespace, {"metadata": {"name": "default"}})


def _owner_alive(cluster: Cluster, uid: str, dependent_namespace: str | None) -> bool:
    located = cluster.store.locate_uid(uid)
    if located is None:
        return False
    _resource, (owner_namespace, _name) = located
    return owner_namespace is None or owner_namespace == dependent_namespace


def _drop_owner_refs(cluster: Cluster, spec: ResourceSpec, body: objects.Body, *, keep: set[str]) -> None:
    refs = objects.meta_of(body).get("ownerReferences") or []
    patched = objects.deep_copy(body)
    objects.metadata(patched)["ownerReferences"] = [r for r in refs if str(r.get("uid")) in keep] or None
    if objects.metadata(patched)["ownerReferences"] is None:
        del objects.metadata(patched)["ownerReferences"]
    meta = objects.meta_of(body)
    cluster.update(spec, meta.get("namespace"), str(meta["name"]), patched, subresource=None)


def _any_spec(cluster: Cluster, group: str, plural: str) -> ResourceSpec | None:
    for spec in cluster.catalogue:
        if spec.group == group and spec.plural == plural:
            return spec
    return None


def _serve_crd(cluster: Cluster, crd: objects.Body) -> None:
    served = resources.specs_from_crd(crd)
    group, plural = _crd_group_resource(crd)
    keep = {spec.key for spec in served}
    for spec in cluster.catalogue:
        if spec.group == group and spec.plural == plural and spec.key not in keep:
            cluster.catalogue.unregister(*spec.key)
    for spec in served:
        cluster.catalogue.register(spec)


def _crd_group_resource(crd: objects.Body) -> tuple[str, str]:
    spec = crd.get("spec") or {}
    return (str(spec.get("group") or ""), str((spec.get("names") or {}).get("plural") or ""))


def _cleanup_crd(cluster: Cluster, crd: objects.Body) -> None:
    marker = f"crd/{objects.meta_of(crd).get('name')}"
    if marker in cluster.running:
        return
    cluster.running.add(marker)
    try:
        _empty_crd(cluster, crd)
    finally:
        cluster.running.discard(marker)


def _empty_crd(cluster: Cluster, crd: objects.Body) -> None:
    group, plural = _crd_group_resource(crd)
    spec = _any_spec(cluster, group, plural)
    remaining = cluster.store.scan_group_resource((group, plural))
    if spec is not None:
        for _key, body in remaining:
            cluster.delete_stored(spec, body)
        remaining = cluster.store.scan_group_resource((group, plural))
    if remaining:
        return
    current = cluster.store.get(resources.CRDS, None, str(objects.meta_of(crd)["name"]))
    if current is not None and resources.CRD_CLEANUP_FINALIZER in objects.finalizers_of(current):
        patched = objects.deep_copy(current)
        objects.metadata(patched)["finalizers"] = [
            f for f in objects.finalizers_of(current) if f != resources.CRD_CLEANUP_FINALIZER
        ]
        cluster.update(resources.CRDS, None, str(objects.meta_of(current)["name"]), patched, subresource=None)


def _cleanup_namespace(cluster: Cluster, namespace: str) -> None:
    """Delete everything in a terminating namespace; remove the namespace once it is empty."""
    marker = f"namespace/{namespace}"
    if marker in cluster.running:
        return
    cluster.running.add(marker)
    try:
        _empty_namespace(cluster, namespace)
    finally:
        cluster.running.discard(marker)


def _empty_namespace(cluster: Cluster, namespace: str) -> None:
    for resource, body in cluster.store.in_namespace(namespace):
        spec = _any_spec(cluster, *resource)
        meta = objects.meta_of(body)
        current = cluster.store.get_located(resource, (namespace, str(meta["name"])))
        if spec is not None and current is not None and not objects.is_deleting(current):
            cluster.delete_stored(spec, current)
    if cluster.store.has_namespace_content(namespace):
        return
    ns_body = cluster.store.get(resources.NAMESPACES, None, namespace)
    if ns_body is not None and objects.is_deleting(ns_body):
        removed = cluster.store.remove(resources.NAMESPACES, ns_body)
        after_remove(cluster, resources.NAMESPACES, removed)
