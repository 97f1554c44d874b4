"""The object store: kmock's versioned object array, indexed per group-resource and by uid.

Objects are kept under their storage version, so a custom object written through one served
version of a CRD is visible through all of them (without conversion, as ``conversion: None`` does).
Events are kept once, in their core form, for both API groups that serve them, and converted on every read
and write through ``events.k8s.io`` (see :mod:`event_versions`).
Every write is synchronous (no awaits), so each one is atomic on the event loop.

Besides the per-group-resource index (which keeps deleted objects, for their history), the store keeps
indexes in step with every write and removal so that no controller has to scan the whole store:

* live objects per group-resource and namespace (namespaced lists, namespace deletion);
* uid → where the object lives;
* owner uid → the uids of the objects that name it in their ``ownerReferences`` (which need not exist);
* the garbage collector's queue: uids of objects whose ownership may have changed since it last looked
  (written with ``ownerReferences``, or one of their owners removed).
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import kmock

from shipway_sandbox.emulator import event_versions, events, objects, paging
from shipway_sandbox.emulator.resources import ResourceSpec

ObjectKey = tuple[str | None, str]  # (namespace, name)


def etcd_key(namespace: str | None, name: str) -> str:
    """An object's key under its resource's etcd prefix: ``namespace/name``, or ``name`` when cluster-scoped."""
    return f"{namespace}/{name}" if namespace else name


@functools.lru_cache(maxsize=1024)
def kmock_resource(group: str, version: str, plural: str) -> kmock.resource:
    """kmock's resource key (immutable; slow to make: its constructor checks its arguments against protocols)."""
    return kmock.resource(group, version, plural)


def served_as(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    """A stored object as ``spec``'s version serves it (stored objects are returned as they are, but Events)."""
    if event_versions.is_event(spec.group, spec.plural):
        return event_versions.served(body, spec.group_version)
    return body


def _stored_form(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    return event_versions.stored(body) if event_versions.is_event(spec.group, spec.plural) else body


class ObjectStore:
    def __init__(self, *, array: kmock.ObjectsArray, history_limit: int = 8, retention: int = 50_000,
                 retention_seconds: float | None = None) -> None:
        self._array = array
        self._history_limit = history_limit
        self._index: dict[events.GroupResource, dict[ObjectKey, kmock.Object]] = collections.defaultdict(dict)
        self._by_uid: dict[str, tuple[events.GroupResource, ObjectKey]] = {}
        self._live: dict[events.GroupResource, dict[str | None, dict[str, kmock.Object]]] = {}
        self._owners: dict[str, tuple[str, ...]] = {}  # dependent uid -> its owners' uids
        self._dependents: dict[str, dict[str, None]] = {}  # owner uid -> dependent uids (insertion-ordered)
        self._gc_queue: dict[str, None] = {}
        self._positions: dict[tuple[events.GroupResource, ObjectKey], int] = {}  # first insertion order
        self._ranks: dict[events.GroupResource, int] = {}
        self.changes = events.ChangeLog(retention=retention, retention_seconds=retention_seconds)
        self._generations: dict[events.GroupResource, int] = {}
        self._generations_in: dict[tuple[events.GroupResource, str | None], int] = {}
        self.derived: dict[str, Any] = {}  # what other modules keep computed from stored objects (see generation)
        self._ordered: dict[events.GroupResource, tuple[int, list[str], list[kmock.Object]]] = {}

    def generation(self, spec: ResourceSpec, namespace: str | None = None) -> int:
        """A number that changes whenever an object of ``spec``'s resource is written or removed, in ``namespace``
        (``None``: in any namespace, or cluster-scoped): what is derived from them is still valid while it holds."""
        resource = self.group_resource(spec)
        if namespace is None:
            return self._generations.get(resource, 0)
        return self._generations_in.get((resource, namespace), 0)

    def _touch(self, resource: events.GroupResource, namespace: str | None) -> None:
        self._generations[resource] = self._generations.get(resource, 0) + 1
        self._generations_in[(resource, namespace)] = self._generations_in.get((resource, namespace), 0) + 1

    @staticmethod
    def group_resource(spec: ResourceSpec) -> events.GroupResource:
        """Where objects of ``spec`` are stored (their group-resource, or the one whose storage they share)."""
        return event_versions.storage_resource(spec.group, spec.plural)

    def get(self, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body | None:
        obj = self._index[self.group_resource(spec)].get((namespace, name))
        return None if obj is None or obj.deleted else served_as(spec, obj.raw)

    def get_located(self, resource: events.GroupResource, key: ObjectKey) -> objects.Body | None:
        obj = self._live.get(resource, {}).get(key[0], {}).get(key[1])
        return None if obj is None else obj.raw

    def scan(self, spec: ResourceSpec, namespace: str | None = None) -> Iterator[objects.Body]:
        """Live objects of a resource, in one namespace or all of them, in etcd's key order
        (``namespace/name``, byte-wise: as a real list returns them)."""
        listing = self.listing(spec, namespace)
        for index in range(len(listing.keys)):
            yield listing.body_at(index)

    def listing(self, spec: ResourceSpec, namespace: str | None, revision: int | None = None) -> paging.Listing:
        """The objects of a resource (in one namespace or all) in key order, live or as they were at ``revision``
        (the live objects with the changes made since undone; 410 Gone when those are no longer kept)."""
        resource = self.group_resource(spec)
        changes = self.changes.changes_after(resource, revision) if revision is not None else []
        if not changes:
            if namespace is not None:
                bucket = self._live.get(resource, {}).get(namespace, {})
                names = sorted(bucket)
                return paging.Listing(keys=[etcd_key(namespace, n) for n in names],
                                      body_at=lambda i: served_as(spec, bucket[names[i]].raw))
            keys, found = self._ordered_live(resource)
            return paging.Listing(keys=keys, body_at=lambda i: served_as(spec, found[i].raw))
        state: dict[ObjectKey, objects.Body] = {
            (ns, name): obj.raw for ns, bucket in self._live.get(resource, {}).items() for name, obj in bucket.items()}
        for change in reversed(changes):
            key = (change.namespace, str(objects.meta_of(change.new).get("name")))
            if change.type == "ADDED" or change.old is None:
                state.pop(key, None)
            else:
                state[key] = change.old
        kept = sorted(((etcd_key(ns, name), body) for (ns, name), body in state.items()
                       if namespace is None or ns == namespace), key=lambda item: item[0])
        return paging.Listing(keys=[k for k, _ in kept], body_at=lambda i: served_as(spec, kept[i][1]))

    def _ordered_live(self, resource: events.GroupResource) -> tuple[list[str], list[kmock.Object]]:
        """The live objects of a resource across namespaces in key order, kept until the resource's next write."""
        generation = self._generations.get(resource, 0)
        held = self._ordered.get(resource)
        if held is None or held[0] != generation:
            pairs = sorted(((etcd_key(ns, name), obj) for ns, bucket in self._live.get(resource, {}).items()
                            for name, obj in bucket.items()), key=lambda item: item[0])
            held = (generation, [k for k, _ in pairs], [o for _, o in pairs])
            self._ordered[resource] = held
        return held[1], held[2]

    def in_namespace(self, namespace: str) -> list[tuple[events.GroupResource, objects.Body]]:
        """Every live object in a namespace, whatever its resource (resources in the store's order)."""
        return [
            (resource, obj.raw)
            for resource in list(self._index)
            for obj in list(self._live.get(resource, {}).get(namespace, {}).values())
        ]

    def has_namespace_content(self, namespace: str) -> bool:
        return any(by_namespace.get(namespace) for by_namespace in self._live.values())

    def scan_group_resource(self, resource: events.GroupResource) -> list[tuple[ObjectKey, objects.Body]]:
        return [(key, obj.raw) for key, obj in self._index[resource].items() if not obj.deleted]

    def exists_uid(self, uid: str) -> bool:
        return uid in self._by_uid

    def locate_uid(self, uid: str) -> tuple[events.GroupResource, ObjectKey] | None:
        return self._by_uid.get(uid)

    def dependents_of(self, owner_uid: str) -> list[str]:
        """Uids of the stored objects that name ``owner_uid`` among their owners, in store order."""
        return sorted(self._dependents.get(owner_uid, ()), key=self.store_order)

    @property
    def gc_queued(self) -> int:
        """How many uids wait for the garbage collector."""
        return len(self._gc_queue)

    def take_gc_queue(self) -> list[str]:
        """The uids queued for the garbage collector since it last took them (the queue is emptied)."""
        queued, self._gc_queue = list(self._gc_queue), {}
        return queued

    def store_order(self, uid: str) -> tuple[int, int]:
        """Where an object comes in the store's order (that of :meth:`all_objects`); gone objects first."""
        located = self._by_uid.get(uid)
        if located is None:
            return (-1, -1)
        resource, key = located
        if resource not in self._ranks:
            self._ranks = {known: rank for rank, known in enumerate(self._index)}
        return (self._ranks[resource], self._positions[(resource, key)])

    def queue_for_gc(self, uids: Iterable[str]) -> None:
        self._gc_queue.update(dict.fromkeys(uids))

    def all_objects(self) -> list[tuple[events.GroupResource, ObjectKey, objects.Body]]:
        return [
            (resource, key, obj.raw)
            for resource, bucket in list(self._index.items())
            for key, obj in list(bucket.items())
            if not obj.deleted
        ]

    def write(self, spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> objects.Body:
        """Store a new version (already stamped with its resourceVersion) and publish the change; the stored
        object is returned as ``spec`` serves it."""
        body, old = _stored_form(spec, body), None if old is None else _stored_form(spec, old)
        meta = objects.meta_of(body)
        namespace, name = meta.get("namespace"), str(meta["name"])
        resource = self.group_resource(spec)
        version = spec.version if resource == (spec.group, spec.plural) else str(body.get("apiVersion"))
        key = kmock_resource(resource[0], version, resource[1])
        obj = self._index[resource].get((namespace, name))
        if obj is None:
            self._array[key, namespace, name] = body
            obj = self._array[key, namespace, name]
            self._index[resource][(namespace, name)] = obj
            self._positions[(resource, (namespace, name))] = len(self._positions)
        else:
            obj.create(body)
            self._trim(obj)
        self._touch(resource, namespace)
        uid = str(meta["uid"])
        self._by_uid[uid] = (resource, (namespace, name))
        self._live.setdefault(resource, {}).setdefault(namespace, {})[name] = obj
        self._index_owners(uid, objects.owner_uids_of(body))
        self.changes.commit(events.Change(
            revision=int(meta["resourceVersion"]), type="ADDED" if old is None else "MODIFIED",
            resource=resource, namespace=namespace, old=old, new=body,
        ))
        return served_as(spec, body)

    def remove(self, spec: ResourceSpec, body: objects.Body, *, final: objects.Body | None = None) -> objects.Body:
        """Delete for good; the DELETED event carries the last state (or ``final``: the object as the update that
        deletes it left it) with a fresh resourceVersion."""
        resource = self.group_resource(spec)
        meta = objects.meta_of(body)
        namespace, name = meta.get("namespace"), str(meta["name"])
        obj = self._index[resource].get((namespace, name))
        if obj is None or obj.deleted:
            return body
        final = objects.deep_copy(obj.raw if final is None else _stored_form(spec, final))
        objects.metadata(final)["resourceVersion"] = str(self.changes.next_revision())
        obj.delete()
        self._trim(obj)
        self._touch(resource, namespace)
        uid = str(meta.get("uid"))
        self._by_uid.pop(uid, None)
        self._forget_live(resource, namespace, name)
        self._index_owners(uid, [])
        self.queue_for_gc(self._dependents.get(uid, ()))
        self.changes.commit(events.Change(
            revision=int(objects.meta_of(final)["resourceVersion"]), type="DELETED",
            resource=resource, namespace=namespace, old=obj.last.raw, new=final,
        ))
        return served_as(spec, final)

    def _forget_live(self, resource: events.GroupResource, namespace: str | None, name: str) -> None:
        by_namespace = self._live.get(resource, {})
        bucket = by_namespace.get(namespace)
        if bucket is not None:
            bucket.pop(name, None)
            if not bucket:
                del by_namespace[namespace]

    def _index_owners(self, uid: str, owner_uids: list[str]) -> None:
        """Keep owner → dependents in step with a dependent's ``ownerReferences``; queue it for the GC."""
        new = tuple(dict.fromkeys(owner_uids))
        old = self._owners.get(uid, ())
        if new != old:
            for owner in old:
                if owner not in new:
                    dependents = self._dependents.get(owner, {})
                    dependents.pop(uid, None)
                    if not dependents:
                        self._dependents.pop(owner, None)
            for owner in new:
                self._dependents.setdefault(owner, {})[uid] = None
            if new:
                self._owners[uid] = new
            else:
                self._owners.pop(uid, None)
        if new:
            self._gc_queue[uid] = None

    def _trim(self, obj: kmock.Object) -> None:
        if len(obj.history) > self._history_limit:
            del obj.history[: len(obj.history) - self._history_limit]
