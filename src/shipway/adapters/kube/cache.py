"""The operator's local cache: watch-fed, in memory, holding only the objects Shipway needs.

Fed by watch events (the operator's informers) and by the operator's own successful writes (write-
through, so a reconcile that runs before its own write's watch echo sees the new state and writes nothing
again). An event older than what the cache holds is ignored: resourceVersions are compared as integers
when both parse as integers, which every etcd-backed API server produces; otherwise the event wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shipway.core.desired import DATA_DIGEST, data_digest

Key = tuple[str, str, str]  # (kind, namespace or "", name)
PIPELINE_LABEL = "shipway.dev/pipeline"  # indexed: most lookups ask for one pipeline's objects


def _rv(obj: Mapping[str, Any]) -> int | None:
    value = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_DELIVERED = ("shipway.dev/credential", "delivered")  # the label of the Secrets Shipway writes


def slim(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an object: no managedFields, no kubectl last-applied copy (which may even hold
    a Secret's data), and of the Secrets Shipway writes a digest of their data instead of the data (a
    reconcile compares, it never reads them)."""
    body = dict(obj)
    meta = dict(body.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if annotations and _LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != _LAST_APPLIED}
    body["metadata"] = meta
    if kind == "Secret" and (meta.get("labels") or {}).get(_DELIVERED[0]) == _DELIVERED[1] and "data" in body:
        body[DATA_DIGEST] = data_digest(body.pop("data"))
    return body


def key_of(kind: str, obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return kind, meta.get("namespace") or "", meta.get("name") or ""


class Store:
    """Objects by (kind, namespace, name). Not thread-safe: used from one event loop."""

    def __init__(self) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        # Indexes, so a lookup costs what it finds, not the size of the cache:
        self._by_place: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (kind, namespace) -> name -> obj
        self._by_kind: dict[str, dict[Key, dict[str, Any]]] = {}
        self._by_pipeline: dict[tuple[str, str], dict[Key, dict[str, Any]]] = {}  # (kind, pipeline label)
        self._deleted_rv: dict[Key, int] = {}
        self._written_rv: dict[Key, str] = {}  # resourceVersions this process wrote itself

    def __len__(self) -> int:
        return len(self._objects)

    def sizes(self) -> dict[str, int]:
        return {kind: len(objects) for kind, objects in self._by_kind.items()}

    def upsert(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """Store ``obj`` unless the cache holds it already or a newer version. True when it is news."""
        key = key_of(kind, obj)
        new_rv = _rv(obj)
        held = self._objects.get(key)
        if new_rv is not None:
            held_rv = _rv(held) if held is not None else self._deleted_rv.get(key)
            if held_rv is not None and new_rv <= held_rv:
                return False  # an echo of the cache's own write-through, or an older event
        self._deleted_rv.pop(key, None)
        self._put(key, slim(kind, obj))
        return True

    @staticmethod
    def _pipeline_of(obj: Mapping[str, Any]) -> str | None:
        return ((obj.get("metadata") or {}).get("labels") or {}).get(PIPELINE_LABEL)

    def _put(self, key: Key, obj: dict[str, Any]) -> None:
        self._drop(key)
        self._objects[key] = obj
        self._by_place.setdefault((key[0], key[1]), {})[key[2]] = obj
        self._by_kind.setdefault(key[0], {})[key] = obj
        pipeline = self._pipeline_of(obj)
        if pipeline is not None:
            self._by_pipeline.setdefault((key[0], pipeline), {})[key] = obj

    @staticmethod
    def _unindex(index: dict[Any, dict[Any, dict[str, Any]]], bucket: Any, member: Any) -> None:
        found = index.get(bucket)
        if found is not None:
            found.pop(member, None)
            if not found:
                del index[bucket]

    def _drop(self, key: Key) -> None:
        old = self._objects.pop(key, None)
        if old is None:
            return
        self._unindex(self._by_place, (key[0], key[1]), key[2])
        self._unindex(self._by_kind, key[0], key)
        pipeline = self._pipeline_of(old)
        if pipeline is not None:
            self._unindex(self._by_pipeline, (key[0], pipeline), key)

    def record_write(self, kind: str, obj: Mapping[str, Any]) -> None:
        """Store the server's answer to this process's own write (write-through), remembering its version."""
        self.upsert(kind, obj)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version is not None:
            self._written_rv[key_of(kind, obj)] = str(version)

    def is_own_echo(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """Is this watch event the echo of a write this process made itself?"""
        version = (obj.get("metadata") or {}).get("resourceVersion")
        return version is not None and self._written_rv.get(key_of(kind, obj)) == str(version)

    def delete(self, kind: str, obj: Mapping[str, Any]) -> None:
        key = key_of(kind, obj)
        self._drop(key)
        self._written_rv.pop(key, None)
        rv = _rv(obj)
        if rv is not None:
            self._deleted_rv[key] = rv
            if len(self._deleted_rv) > 10_000:  # tombstones only guard against reordering; keep them few
                self._deleted_rv.pop(next(iter(self._deleted_rv)))

    def mark_deleting(self, kind: str, name: str, namespace: str = "") -> None:
        """The operator asked to delete an object that goes through Terminating (a namespace): until the
        watch says it is gone, the cache knows it is on its way out."""
        found = self._objects.get((kind, namespace, name))
        if found is not None:
            found.setdefault("metadata", {})["deletionTimestamp"] = found.get("metadata", {}).get(
                "deletionTimestamp") or "deleting"

    def forget(self, kind: str, name: str, namespace: str = "") -> None:
        """Drop an object after the operator deleted it itself (write-through)."""
        self._drop((kind, namespace, name))
        self._written_rv.pop((kind, namespace, name), None)

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self._objects.get((kind, namespace, name))

    def list(self, kind: str, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
             ) -> Iterator[dict[str, Any]]:
        if namespace is not None:
            candidates: Iterable[dict[str, Any]] = list(self._by_place.get((kind, namespace), {}).values())
        elif labels and PIPELINE_LABEL in labels:
            candidates = list(self._by_pipeline.get((kind, labels[PIPELINE_LABEL]), {}).values())
        else:
            candidates = list(self._by_kind.get(kind, {}).values())
        for obj in candidates:
            if labels:
                have = (obj.get("metadata") or {}).get("labels") or {}
                if any(have.get(lk) != lv for lk, lv in labels.items()):
                    continue
            yield obj
