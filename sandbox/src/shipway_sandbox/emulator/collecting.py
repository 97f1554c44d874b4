"""The control-plane controllers a real cluster runs next to the API server, in miniature.

Each one reacts to a committed write a moment later (see :mod:`controllers` for the lags and timers), never
inside the request that caused it, as kube-controller-manager's controllers react to watch events:

* **garbage collector** (``pkg/controller/garbagecollector``): an object's owners (by uid; a namespaced owner
  only in the dependent's namespace) are *solid* (present), *dangling* (absent) or *waiting* (being deleted in
  the foreground). An object with a solid owner keeps it and loses its dangling and waiting references; an
  object with none is deleted (in the foreground if a waiting owner has it and it has dependents itself, else
  as its own ``orphan``/``foregroundDeletion`` finalizer says, else in the background). An owner deleted with
  ``propagationPolicy: Orphan`` (finalizer ``orphan``) first has its dependents' references to it removed; one
  deleted in the Foreground (finalizer ``foregroundDeletion``) has its dependents deleted and is removed once
  no dependent with ``blockOwnerDeletion: true`` is left. Cascades take one pass per level. An object created
  with only absent owners is collected on the next pass.
* **finalizers**: an object marked for deletion is removed by the write that removes its last finalizer.
* **namespace controller** (``pkg/controller/namespace/deletion``): a deleted namespace is ``Terminating``; each
  pass deletes its content (in the background), writes the deletion conditions (``NamespaceContentRemaining``,
  ``NamespaceFinalizersRemaining``, ...) and, once nothing is left, removes its ``kubernetes`` finalizer, which
  removes the namespace. A pass runs after the deletion and whenever content of it goes away.
* **CRD cleanup**: a deleted CRD deletes its custom objects, then drops its cleanup finalizer; creating (or
  updating) a CRD serves its resources, removing it stops serving them.
* **ServiceAccount controller**: every active namespace gets its ``default`` ServiceAccount a moment after it
  appears, and again a moment after ``default`` is deleted.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from shipway_sandbox.emulator import deletion, events, objects, resources
from shipway_sandbox.emulator.resources import ResourceSpec

if TYPE_CHECKING:
    from shipway_sandbox.emulator.cluster import Cluster

GC_KEY = "garbage-collector"
KUBERNETES_FINALIZER = "kubernetes"
DEFAULT_SERVICE_ACCOUNT = "default"


# -- reactions to committed writes --------------------------------------------------------------------------
def after_create(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    if spec.key == resources.CRDS.key:
        _serve_crd(cluster, body)
    elif spec.key == resources.NAMESPACES.key:
        cluster.schedule_service_account(str(objects.meta_of(body)["name"]))
    kick_garbage_collector(cluster)


def after_update(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    meta = objects.meta_of(body)
    if objects.is_deleting(body):
        finalizers = objects.finalizers_of(body)
        if spec.key == resources.NAMESPACES.key:
            if not finalizers and not _spec_finalizers(body):  # ShouldDeleteNamespaceDuringUpdate
                _remove(cluster, spec, body)
                return
            schedule_namespace_controller(cluster, str(meta["name"]))
        elif not finalizers:
            _remove(cluster, spec, body)
            return
        elif deletion.ORPHAN in finalizers or deletion.FOREGROUND in finalizers:
            cluster.gc_owners[str(meta.get("uid"))] = None
    if spec.key == resources.CRDS.key:
        if objects.is_deleting(body):
            _cleanup_crd(cluster, body)
        else:
            _serve_crd(cluster, body)
    kick_garbage_collector(cluster)


def after_remove(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    meta = objects.meta_of(body)
    cluster.gc_owners.pop(str(meta.get("uid")), None)
    if spec.key == resources.CRDS.key:
        for served in resources.specs_from_crd(body):
            cluster.catalogue.unregister(*served.key)
    kick_garbage_collector(cluster, force=bool(cluster.gc_owners))
    namespace = meta.get("namespace")
    if namespace:
        ns = cluster.store.get(resources.NAMESPACES, None, str(namespace))
        if ns is not None and objects.is_deleting(ns):
            schedule_namespace_controller(cluster, str(namespace))
        elif spec.key == resources.SERVICEACCOUNTS.key and meta.get("name") == DEFAULT_SERVICE_ACCOUNT:
            cluster.schedule_service_account(str(namespace))
    for crd in list(cluster.store.scan(resources.CRDS)):
        if objects.is_deleting(crd) and _crd_group_resource(crd) == (spec.group, spec.plural):
            _cleanup_crd(cluster, crd)


def deleted_by_update(spec: ResourceSpec, body: objects.Body) -> bool:
    """``ShouldDeleteDuringUpdate``: an update that leaves an object being deleted without finalizers (and, for a
    Namespace, without ``spec.finalizers``) deletes it instead of storing it."""
    if not objects.is_deleting(body) or objects.finalizers_of(body):
        return False
    return spec.key != resources.NAMESPACES.key or not _spec_finalizers(body)


def _remove(cluster: Cluster, spec: ResourceSpec, body: objects.Body) -> None:
    removed = cluster.store.remove(spec, body)
    after_remove(cluster, spec, removed)


def _spec_finalizers(body: objects.Body) -> list[str]:
    found = (body.get("spec") or {}).get("finalizers") if isinstance(body.get("spec"), dict) else None
    return [str(f) for f in found] if isinstance(found, list) else []


# -- garbage collector ------------------------------------------------------------------------------------------
def kick_garbage_collector(cluster: Cluster, *, force: bool = False) -> None:
    """Schedule the collector's next pass if it has something to look at."""
    if force or cluster.store.gc_queued or cluster.gc_owners:
        cluster.timers.later(GC_KEY, cluster.timing.gc_delay, functools.partial(collect_garbage, cluster))


def collect_garbage(cluster: Cluster) -> None:
    """One pass: the objects whose ownership may have changed, then the owners being deleted with a policy."""
    store = cluster.store
    changed = False
    for uid in sorted(store.take_gc_queue(), key=store.store_order):
        outcome = _attempt_to_delete(cluster, uid)
        if outcome is None:
            cluster.gc_unserved[uid] = None
        changed = changed or bool(outcome)
    for uid in list(cluster.gc_owners):
        changed = _process_owner(cluster, uid) or changed
    if store.gc_queued or (changed and cluster.gc_owners):
        kick_garbage_collector(cluster)


def _located(cluster: Cluster, uid: str) -> tuple[ResourceSpec | None, objects.Body] | None:
    located = cluster.store.locate_uid(uid)
    body = None if located is None else cluster.store.get_located(*located)
    if located is None or body is None:
        return None
    return _any_spec(cluster, *located[0]), body


def _classify(cluster: Cluster, body: objects.Body) -> tuple[list[str], list[str], list[str]]:
    """The uids of the object's owners: (solid, dangling, waiting for their dependents' deletion)."""
    solid: list[str] = []
    dangling: list[str] = []
    waiting: list[str] = []
    namespace = objects.meta_of(body).get("namespace")
    for uid in objects.owner_uids_of(body):
        located = cluster.store.locate_uid(uid)
        owner = None if located is None else cluster.store.get_located(*located)
        if located is None or owner is None or located[1][0] not in (None, namespace):
            dangling.append(uid)
        elif objects.is_deleting(owner) and deletion.FOREGROUND in objects.finalizers_of(owner):
            waiting.append(uid)
        else:
            solid.append(uid)
    return solid, dangling, waiting


def _attempt_to_delete(cluster: Cluster, uid: str) -> bool | None:
    """``attemptToDeleteItem``: whether it changed something, None when the object's resource is not served."""
    found = _located(cluster, uid)
    if found is None:
        return False
    spec, body = found
    if objects.is_deleting(body):
        if deletion.FOREGROUND in objects.finalizers_of(body):
            cluster.gc_owners[uid] = None
        return False
    if not objects.owner_uids_of(body):
        return False
    solid, dangling, waiting = _classify(cluster, body)
    if solid and not dangling and not waiting:
        return False
    if spec is None:
        return None
    if solid:
        _drop_owner_refs(cluster, spec, body, drop=set(dangling) | set(waiting))
        return True
    if waiting and _live_dependents(cluster, uid):
        cluster.delete_stored(spec, body, policy="Foreground")
        return True
    finalizers = objects.finalizers_of(body)
    policy: deletion.Policy = "Orphan" if deletion.ORPHAN in finalizers else \
        "Foreground" if deletion.FOREGROUND in finalizers else "Background"
    cluster.delete_stored(spec, body, policy=policy)
    return True


def _live_dependents(cluster: Cluster, uid: str) -> list[tuple[str, ResourceSpec | None, objects.Body]]:
    result = []
    for dependent in cluster.store.dependents_of(uid):
        found = _located(cluster, dependent)
        if found is not None:
            result.append((dependent, found[0], found[1]))
    return result


def _process_owner(cluster: Cluster, uid: str) -> bool:
    """An owner being deleted with the ``orphan`` or the ``foregroundDeletion`` finalizer."""
    found = _located(cluster, uid)
    if found is None or not objects.is_deleting(found[1]):
        cluster.gc_owners.pop(uid, None)
        return False
    spec, owner = found
    finalizers = objects.finalizers_of(owner)
    if spec is None:
        return False
    if deletion.ORPHAN in finalizers:
        for _dependent, dependent_spec, body in _live_dependents(cluster, uid):
            if dependent_spec is not None:
                _drop_owner_refs(cluster, dependent_spec, body, drop={uid})
        _remove_finalizer(cluster, spec, uid, deletion.ORPHAN)
        return True
    if deletion.FOREGROUND not in finalizers:
        cluster.gc_owners.pop(uid, None)
        return False
    dependents = _live_dependents(cluster, uid)
    blocking = [d for d in dependents if _blocks(d[2], uid)]
    if not blocking:
        _remove_finalizer(cluster, spec, uid, deletion.FOREGROUND)
        return True
    changed = False
    for dependent, _spec, body in dependents:
        if not objects.is_deleting(body):
            changed = bool(_attempt_to_delete(cluster, dependent)) or changed
    return changed


def _blocks(dependent: objects.Body, owner_uid: str) -> bool:
    refs = objects.meta_of(dependent).get("ownerReferences") or []
    return any(isinstance(r, dict) and str(r.get("uid")) == owner_uid and r.get("blockOwnerDeletion") is True
               for r in refs)


def _remove_finalizer(cluster: Cluster, spec: ResourceSpec, uid: str, finalizer: str) -> None:
    found = _located(cluster, uid)
    if found is None:
        return
    body = objects.deep_copy(found[1])
    remaining = [f for f in objects.finalizers_of(body) if f != finalizer]
    if remaining:
        objects.metadata(body)["finalizers"] = remaining
    else:
        objects.metadata(body).pop("finalizers", None)
    cluster.gc_owners.pop(uid, None)
    _update(cluster, spec, body)


def _drop_owner_refs(cluster: Cluster, spec: ResourceSpec, body: objects.Body, *, drop: set[str]) -> None:
    refs = objects.meta_of(body).get("ownerReferences") or []
    patched = objects.deep_copy(body)
    kept = [r for r in refs if not (isinstance(r, dict) and str(r.get("uid")) in drop)]
    if kept:
        objects.metadata(patched)["ownerReferences"] = kept
    else:
        objects.metadata(patched).pop("ownerReferences", None)
    _update(cluster, spec, patched)


def _update(cluster: Cluster, spec: ResourceSpec, body: objects.Body, subresource: str | None = None) -> None:
    meta = objects.meta_of(body)
    cluster.update(spec, meta.get("namespace"), str(meta["name"]), body, subresource=subresource)


def _any_spec(cluster: Cluster, group: str, plural: str) -> ResourceSpec | None:
    for spec in cluster.catalogue:
        if spec.group == group and spec.plural == plural:
            return spec
    return None


# -- ServiceAccount controller ----------------------------------------------------------------------------------
def ensure_default_service_account(cluster: Cluster, namespace: str) -> None:
    ns = cluster.store.get(resources.NAMESPACES, None, namespace)
    if ns is None or objects.is_deleting(ns):
        return
    if cluster.store.get(resources.SERVICEACCOUNTS, namespace, DEFAULT_SERVICE_ACCOUNT) is None:
        cluster.create(resources.SERVICEACCOUNTS, namespace, {"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}})


# -- CRDs -----------------------------------------------------------------------------------------------------
def _serve_crd(cluster: Cluster, crd: objects.Body) -> None:
    served = resources.specs_from_crd(crd)
    group, plural = _crd_group_resource(crd)
    keep = {spec.key for spec in served}
    for spec in cluster.catalogue:
        if spec.group == group and spec.plural == plural and spec.key not in keep:
            cluster.catalogue.unregister(*spec.key)
    for spec in served:
        cluster.catalogue.register(spec)
    if served and cluster.gc_unserved:  # objects the collector could not handle before may now be served
        cluster.store.queue_for_gc(list(cluster.gc_unserved))
        cluster.gc_unserved.clear()


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


# -- namespace controller ---------------------------------------------------------------------------------------
CONDITION_TYPES = ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                   "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining")
_OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                       "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentRemoved", "All content successfully removed"),
}


def schedule_namespace_controller(cluster: Cluster, namespace: str) -> None:
    cluster.timers.later(f"namespace/{namespace}", cluster.timing.namespace_deletion_delay,
                         functools.partial(sync_namespace, cluster, namespace))


def sync_namespace(cluster: Cluster, name: str) -> None:
    """One pass of the namespace controller over a namespace being deleted."""
    ns = cluster.store.get(resources.NAMESPACES, None, name)
    if ns is None or not objects.is_deleting(ns):
        return
    if KUBERNETES_FINALIZER not in _spec_finalizers(ns):
        return  # finalized by us already: waiting for other spec or metadata finalizers
    remaining, by_finalizer = _delete_content(cluster, name)
    _write_conditions(cluster, name, remaining, by_finalizer)
    if remaining:
        return  # the next pass comes when some of it goes away
    current = cluster.store.get(resources.NAMESPACES, None, name)
    if current is None:
        return
    finalized = objects.deep_copy(current)
    finalized.setdefault("spec", {})["finalizers"] = sorted(
        f for f in _spec_finalizers(current) if f != KUBERNETES_FINALIZER)
    _update(cluster, resources.NAMESPACES, finalized, subresource="finalize")


def _delete_content(cluster: Cluster, namespace: str) -> tuple[dict[events.GroupResource, int], dict[str, int]]:
    for resource, body in cluster.store.in_namespace(namespace):
        spec = _any_spec(cluster, *resource)
        current = cluster.store.get_located(resource, (namespace, str(objects.meta_of(body)["name"])))
        if spec is not None and current is not None and not objects.is_deleting(current):
            cluster.delete_stored(spec, current, policy="Background")
    remaining: dict[events.GroupResource, int] = {}
    by_finalizer: dict[str, int] = {}
    for resource, body in cluster.store.in_namespace(namespace):
        remaining[resource] = remaining.get(resource, 0) + 1
        for finalizer in objects.finalizers_of(body):
            by_finalizer[finalizer] = by_finalizer.get(finalizer, 0) + 1
    return remaining, by_finalizer


def _write_conditions(cluster: Cluster, name: str, remaining: dict[events.GroupResource, int],
                      by_finalizer: dict[str, int]) -> None:
    """``namespaceConditionUpdater``: the conditions of this pass, the "ok" variant of those that do not fail."""
    failing: dict[str, tuple[str, str]] = {}
    if remaining:
        listed = sorted(f"{plural}.{group} has {count} resource instances"
                        for (group, plural), count in remaining.items())
        failing["NamespaceContentRemaining"] = ("SomeResourcesRemain",
                                                f"Some resources are remaining: {', '.join(listed)}")
    if by_finalizer:
        listed = sorted(f"{finalizer} in {count} resource instances" for finalizer, count in by_finalizer.items())
        failing["NamespaceFinalizersRemaining"] = ("SomeFinalizerRemain",
                                                   f"Some finalizers are remaining: {', '.join(listed)}")
    current = cluster.store.get(resources.NAMESPACES, None, name)
    if current is None:
        return
    body = objects.deep_copy(current)
    status = body.setdefault("status", {})
    conditions: list[dict[str, Any]] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    changed = False
    now = objects.now_rfc3339()
    for kind in CONDITION_TYPES:
        state, (reason, message) = ("True", failing[kind]) if kind in failing else ("False", _OK[kind])
        old = next((c for c in conditions if c.get("type") == kind), None)
        if old is None:
            conditions.append({"type": kind, "status": state, "lastTransitionTime": now, "reason": reason,
                               "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (state, reason, message):
            if old.get("status") != state:
                old["lastTransitionTime"] = now
            old.update(status=state, reason=reason, message=message)
            changed = True
    if changed:
        status["conditions"] = conditions
        _update(cluster, resources.NAMESPACES, body, subresource="status")
