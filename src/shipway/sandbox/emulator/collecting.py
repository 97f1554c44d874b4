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
    """Delete dependents whose owners are all gone; repeat until nothing more is collectable."""
    if "gc" in cluster.running:  # a nested call (from a deletion the collector made): the outer loop repeats
        cluster.running.add("gc-again")
        return
    cluster.running.add("gc")
    try:
        _collect_until_stable(cluster)
    finally:
        cluster.running.discard("gc")


def _collect_until_stable(cluster: Cluster) -> None:
    changed = True
    while changed or "gc-again" in cluster.running:
        changed = False
        cluster.running.discard("gc-again")
        for (group, plural), (namespace, _name), body in cluster.store.all_objects():
            uids = objects.owner_uids_of(body)
            if not uids or objects.is_deleting(body):
                continue
            alive = [uid for uid in uids if _owner_alive(cluster, uid, namespace)]
            spec = _any_spec(cluster, group, plural)
            if spec is None or len(alive) == len(uids):
                continue
            current = cluster.store.get(spec, namespace, objects.meta_of(body)["name"])
            if current is None:
                continue
            if not alive:
                cluster.delete_stored(spec, current)
            else:
                _drop_owner_refs(cluster, spec, current, keep=set(alive))
            changed = True


def orphan_dependents(cluster: Cluster, owner_uid: str) -> None:
    """``propagationPolicy: Orphan``: dependents lose their reference to the owner and survive it."""
    for (group, plural), _key, body in cluster.store.all_objects():
        uids = objects.owner_uids_of(body)
        spec = _any_spec(cluster, group, plural)
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
    leftovers = False
    for resource in cluster.store.namespaced_resources():
        spec = _any_spec(cluster, *resource)
        for (ns, _name), body in cluster.store.scan_group_resource(resource):
            if ns != namespace:
                continue
            leftovers = True
            if spec is not None and not objects.is_deleting(body):
                cluster.delete_stored(spec, body)
    if leftovers and any(
        ns == namespace
        for resource in cluster.store.namespaced_resources()
        for (ns, _name), _body in cluster.store.scan_group_resource(resource)
    ):
        return
    ns_body = cluster.store.get(resources.NAMESPACES, None, namespace)
    if ns_body is not None and objects.is_deleting(ns_body):
        removed = cluster.store.remove(resources.NAMESPACES, ns_body)
        after_remove(cluster, resources.NAMESPACES, removed)
