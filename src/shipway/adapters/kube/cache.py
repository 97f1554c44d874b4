"""The operator's local cache: watch-fed, in memory, holding only the objects Shipway needs.

Fed by watch events (the operator's informers) and by the operator's own successful writes (write-
through, so a reconcile that runs before its own write's watch echo sees the new state and writes nothing
again). An event older than what the cache holds is ignored: resourceVersions are compared as integers
when both parse as integers, which every etcd-backed API server produces; otherwise the event wins.

Each object is kept serialized: what :func:`slim` keeps of it, pickled (about 0.8 KB for a delivered
Secret, against 3.7 KB as decoded JSON dicts and strings), next to its resourceVersion and the pipeline
label the indexes need. A read decodes it (about 2 µs) and returns a fresh copy, so no caller can change
the cache by accident, and memory per managed namespace stays a few KB. The cache pickles only the plain
JSON values (dicts, lists, strings, numbers) it built itself and unpickles only its own bytes.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shipway.core import names
from shipway.core.desired import DATA_DIGEST, data_digest

Key = tuple[str, str, str]  # (kind, namespace or "", name)
PIPELINE_LABEL = names.PIPELINE_LABEL  # indexed: most lookups ask for one pipeline's objects
TOMBSTONES = 10_000  # deleted objects' resourceVersions kept to ignore late, reordered events


def _rv(obj: Mapping[str, Any]) -> int | None:
    value = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SERVER_ONLY = ("managedFields", "selfLink", "creationTimestamp")  # metadata no reconcile reads


def slim(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an object: no managedFields, no kubectl last-applied copy (which may even hold
    a Secret's data), and of the Secrets Shipway writes a digest of their data instead of the data (a
    reconcile compares, it never reads them)."""
    body = dict(obj)
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in _SERVER_ONLY}
    annotations = meta.get("annotations")
    if annotations and _LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != _LAST_APPLIED}
    body["metadata"] = meta
    delivered = (meta.get("labels") or {}).get(names.CREDENTIAL_LABEL) == names.DELIVERED
    if kind == "Secret" and delivered and "data" in body:
        body[DATA_DIGEST] = data_digest(body.pop("data"))
    return body


def key_of(kind: str, obj: Mapping[str, Any]) -> Key:
    """The object's key, its names interned: a namespace's name is shared by the keys of all it holds."""
    meta = obj.get("metadata") or {}
    return kind, sys.intern(str(meta.get("namespace") or "")), sys.intern(str(meta.get("name") or ""))


@dataclass(frozen=True, slots=True)
class _Entry:
    """One cached object: its resourceVersion (as an integer, when it is one), its pipeline label, its bytes."""

    version: int | None
    pipeline: str | None
    blob: bytes
    written: bool = False  # this version is the answer to this process's own write

    @classmethod
    def of(cls, body: Mapping[str, Any], *, written: bool = False) -> _Entry:
        pipeline = ((body.get("metadata") or {}).get("labels") or {}).get(PIPELINE_LABEL)
        return cls(version=_rv(body), pipeline=pipeline if isinstance(pipeline, str) else None,
                   blob=pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL), written=written)

    def body(self) -> dict[str, Any]:
        decoded: dict[str, Any] = pickle.loads(self.blob)  # noqa: S301 (only bytes this cache pickled itself)
        return decoded


class Store:
    """Objects by (kind, namespace, name). Not thread-safe: used from one event loop."""

    def __init__(self) -> None:
        # The objects by place (kind, namespace) and name, and indexes, so a lookup costs what it finds, not
        # the size of the cache:
        self._by_place: dict[tuple[str, str], dict[str, _Entry]] = {}
        self._by_kind: dict[str, dict[Key, _Entry]] = {}
        self._by_pipeline: dict[tuple[str, str], dict[Key, _Entry]] = {}  # (kind, pipeline label)
        self._deleted_rv: dict[Key, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _entry(self, key: Key) -> _Entry | None:
        place = self._by_place.get((key[0], key[1]))
        return place.get(key[2]) if place is not None else None

    def sizes(self) -> dict[str, int]:
        return {kind: len(objects) for kind, objects in self._by_kind.items()}

    def bytes_held(self) -> int:
        """The serialized size of every cached object (their bookkeeping aside)."""
        return sum(len(entry.blob) for objects in self._by_kind.values() for entry in objects.values())

    def upsert(self, kind: str, obj: Mapping[str, Any], *, written: bool = False) -> bool:
        """Store ``obj`` unless the cache holds it already or a newer version. True when it is news."""
        key = key_of(kind, obj)
        new_rv = _rv(obj)
        held = self._entry(key)
        if new_rv is not None:
            held_rv = held.version if held is not None else self._deleted_rv.get(key)
            if held_rv is not None and new_rv <= held_rv:
                return False  # an echo of the cache's own write-through, or an older event
        self._deleted_rv.pop(key, None)
        self._put(key, _Entry.of(slim(kind, obj), written=written))
        return True

    def _put(self, key: Key, entry: _Entry) -> None:
        self._drop(key)
        self._count += 1
        self._by_place.setdefault((key[0], key[1]), {})[key[2]] = entry
        self._by_kind.setdefault(key[0], {})[key] = entry
        if entry.pipeline is not None:
            self._by_pipeline.setdefault((key[0], entry.pipeline), {})[key] = entry

    @staticmethod
    def _unindex(index: dict[Any, dict[Any, _Entry]], bucket: Any, member: Any) -> None:
        found = index.get(bucket)
        if found is not None:
            found.pop(member, None)
            if not found:
                del index[bucket]

    def _drop(self, key: Key) -> None:
        old = self._entry(key)
        if old is None:
            return
        self._count -= 1
        self._unindex(self._by_place, (key[0], key[1]), key[2])
        self._unindex(self._by_kind, key[0], key)
        if old.pipeline is not None:
            self._unindex(self._by_pipeline, (key[0], old.pipeline), key)

    def record_write(self, kind: str, obj: Mapping[str, Any]) -> None:
        """Store the server's answer to this process's own write (write-through), marked as such."""
        self.upsert(kind, obj, written=True)

    def is_own_echo(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """Is this watch event the echo of a write this process made itself (the version the cache holds)?"""
        held = self._entry(key_of(kind, obj))
        version = _rv(obj)
        return held is not None and held.written and version is not None and held.version == version

    def delete(self, kind: str, obj: Mapping[str, Any]) -> None:
        key = key_of(kind, obj)
        self._drop(key)
        rv = _rv(obj)
        if rv is not None:
            self._deleted_rv[key] = rv
            if len(self._deleted_rv) > TOMBSTONES:  # tombstones only guard against reordering; keep them few
                self._deleted_rv.pop(next(iter(self._deleted_rv)))

    def mark_deleting(self, kind: str, name: str, namespace: str = "") -> None:
        """The operator asked to delete an object that goes through Terminating (a namespace): until the
        watch says it is gone, the cache knows it is on its way out."""
        key = (kind, namespace, name)
        found = self._entry(key)
        if found is not None:
            body = found.body()
            meta = body.setdefault("metadata", {})
            meta["deletionTimestamp"] = meta.get("deletionTimestamp") or "deleting"
            self._put(key, _Entry.of(body, written=found.written))

    def forget(self, kind: str, name: str, namespace: str = "") -> None:
        """Drop an object after the operator deleted it itself (write-through)."""
        self._drop((kind, namespace, name))

    def names(self, kind: str) -> list[str]:
        """The names of the cached objects of a cluster-scoped ``kind`` (nothing decoded)."""
        return [key[2] for key in self._by_kind.get(kind, {})]

    def pipeline_labels(self, kind: str) -> set[str]:
        """The pipelines named by the ``shipway.dev/pipeline`` label of cached objects of ``kind``."""
        return {entry.pipeline for entry in self._by_kind.get(kind, {}).values() if entry.pipeline}

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        """A copy of the cached object, or None."""
        found = self._entry((kind, namespace, name))
        return found.body() if found is not None else None

    def list(self, kind: str, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
             ) -> Iterator[dict[str, Any]]:
        """Copies of the cached objects of ``kind`` (in ``namespace``, with all of ``labels``)."""
        if namespace is not None:
            candidates: Iterable[_Entry] = list(self._by_place.get((kind, namespace), {}).values())
        elif labels and PIPELINE_LABEL in labels:
            candidates = list(self._by_pipeline.get((kind, labels[PIPELINE_LABEL]), {}).values())
        else:
            candidates = list(self._by_kind.get(kind, {}).values())
        for entry in candidates:
            if labels and PIPELINE_LABEL in labels and entry.pipeline != labels[PIPELINE_LABEL]:
                continue
            obj = entry.body()
            if labels:
                have = (obj.get("metadata") or {}).get("labels") or {}
                if any(have.get(lk) != lv for lk, lv in labels.items()):
                    continue
            yield obj
