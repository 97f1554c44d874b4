"""The object store: kmock's versioned object array, indexed per group-resource and by uid.

Objects are kept under their storage version, so a custom object written through one served
version of a CRD is visible through all of them (without conversion, as ``conversion: None`` does).
Every write is synchronous (no awaits), so each one is atomic on the event loop.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import kmock

from shipway.sandbox.emulator import events, objects
from shipway.sandbox.emulator.resources import ResourceSpec

ObjectKey = tuple[str | None, str]  # (namespace, name)


class ObjectStore:
    def __init__(self, *, array: kmock.ObjectsArray, history_limit: int = 8, retention: int = 50_000) -> None:
        self._array = array
        self._history_limit = history_limit
        self._index: dict[events.GroupResource, dict[ObjectKey, kmock.Object]] = collections.defaultdict(dict)
        self._by_uid: dict[str, tuple[events.GroupResource, ObjectKey]] = {}
        self.changes = events.ChangeLog(retention=retention)

    @staticmethod
    def group_resource(spec: ResourceSpec) -> events.GroupResource:
        return (spec.group, spec.plural)

    def get(self, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body | None:
        obj = self._index[self.group_resource(spec)].get((namespace, name))
        return None if obj is None or obj.deleted else obj.raw

    def scan(self, spec: ResourceSpec, namespace: str | None = None) -> Iterator[objects.Body]:
        """Live objects of a resource, in one namespace or all of them, sorted by namespace and name."""
        bucket = self._index[self.group_resource(spec)]
        for (ns, _name), obj in sorted(bucket.items(), key=lambda item: (item[0][0] or "", item[0][1])):
            if (namespace is None or ns == namespace) and not obj.deleted:
                yield obj.raw

    def scan_group_resource(self, resource: events.GroupResource) -> list[tuple[ObjectKey, objects.Body]]:
        return [(key, obj.raw) for key, obj in self._index[resource].items() if not obj.deleted]

    def namespaced_resources(self) -> list[events.GroupResource]:
        return list(self._index)

    def exists_uid(self, uid: str) -> bool:
        return uid in self._by_uid

    def locate_uid(self, uid: str) -> tuple[events.GroupResource, ObjectKey] | None:
        return self._by_uid.get(uid)

    def all_objects(self) -> list[tuple[events.GroupResource, ObjectKey, objects.Body]]:
        return [
            (resource, key, obj.raw)
            for resource, bucket in list(self._index.items())
            for key, obj in list(bucket.items())
            if not obj.deleted
        ]

    def write(self, spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> objects.Body:
        """Store a new version (already stamped with its resourceVersion) and publish the change."""
        meta = objects.meta_of(body)
        namespace, name = meta.get("namespace"), str(meta["name"])
        resource = self.group_resource(spec)
        key = kmock.resource(spec.group, spec.version, spec.plural)
        obj = self._index[resource].get((namespace, name))
        if obj is None:
            self._array[key, namespace, name] = body
            obj = self._array[key, namespace, name]
            self._index[resource][(namespace, name)] = obj
        else:
            obj.create(body)
            self._trim(obj)
        self._by_uid[str(meta["uid"])] = (resource, (namespace, name))
        self.changes.commit(events.Change(
            revision=int(meta["resourceVersion"]), type="ADDED" if old is None else "MODIFIED",
            resource=resource, namespace=namespace, old=old, new=body,
        ))
        return body

    def remove(self, spec: ResourceSpec, body: objects.Body) -> objects.Body:
        """Delete for good; the DELETED event carries the last state with a fresh resourceVersion."""
        resource = self.group_resource(spec)
        meta = objects.meta_of(body)
        namespace, name = meta.get("namespace"), str(meta["name"])
        obj = self._index[resource].get((namespace, name))
        if obj is None or obj.deleted:
            return body
        final = objects.deep_copy(obj.raw)
        objects.metadata(final)["resourceVersion"] = str(self.changes.next_revision())
        obj.delete()
        self._trim(obj)
        self._by_uid.pop(str(meta.get("uid")), None)
        self.changes.commit(events.Change(
            revision=int(objects.meta_of(final)["resourceVersion"]), type="DELETED",
            resource=resource, namespace=namespace, old=obj.last.raw, new=final,
        ))
        return final

    def _trim(self, obj: kmock.Object) -> None:
        if len(obj.history) > self._history_limit:
            del obj.history[: len(obj.history) - self._history_limit]
