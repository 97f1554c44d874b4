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

import builtins
import pickle
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube import resources as kinds
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
_GENERATIONS = ("Pipeline", "Platform")  # the kinds whose metadata.generation a reconcile reads (observedGeneration)
_TYPES = {k.kind: k.api_version for k in kinds.BY_KIND.values()}  # implied by the kind: not kept in each object


def slim(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an object: no managedFields, no kubectl last-applied copy (which may even hold
    a Secret's data), and of the Secrets Shipway writes a digest of their data instead of the data (a
    reconcile compares, it never reads them); of a Namespace not its spec and status (its deletionTimestamp
    says it is terminating), and a generation only where a status reports it."""
    body = dict(obj)
    meta = {k: v for k, v in (body.get("metadata") or {}).items()
            if k not in _SERVER_ONLY and (k != "generation" or kind in _GENERATIONS)}
    if kind == "Namespace":
        body.pop("spec", None)
        body.pop("status", None)
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
    managed: bool  # labelled as managed by Shipway
    blob: bytes
    typed: bool  # apiVersion and kind left out of the blob (the kind's own)
    written: bool = False  # this version is the answer to this process's own write

    @classmethod
    def of(cls, kind: str, body: Mapping[str, Any], *, written: bool = False) -> _Entry:
        labels = (body.get("metadata") or {}).get("labels") or {}
        pipeline = labels.get(PIPELINE_LABEL)
        typed = body.get("kind") == kind and kind in _TYPES and body.get("apiVersion") == _TYPES[kind]
        kept = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")} if typed else body
        return cls(version=_rv(body), pipeline=pipeline if isinstance(pipeline, str) else None,
                   managed=labels.get(names.MANAGED_BY_LABEL) == names.MANAGED_BY,
                   blob=pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL), typed=typed, written=written)

    def has(self, labels: Mapping[str, str]) -> bool | None:
        """Whether the object has ``labels``, when the entry can tell without decoding it (else None)."""
        unknown = False
        for key, value in labels.items():
            if key == PIPELINE_LABEL:
                matches: bool | None = self.pipeline == value
            elif key == names.MANAGED_BY_LABEL:
                matches = self.managed if value == names.MANAGED_BY else (False if self.managed else None)
            else:
                matches = None
            if matches is False:
                return False
            unknown = unknown or matches is None
        return None if unknown else True

    def body(self, kind: str) -> dict[str, Any]:
        decoded: dict[str, Any] = pickle.loads(self.blob)  # noqa: S301 (only bytes this cache pickled itself)
        return {"apiVersion": _TYPES[kind], "kind": kind, **decoded} if self.typed else decoded


class Store:
    """Objects by (kind, namespace, name). Not thread-safe: used from one event loop."""

    def __init__(self) -> None:
        # The objects by kind, and indexes by namespace and by pipeline label, so a lookup costs what it finds,
        # not the size of the cache (one index dict per namespace and per pipeline, whatever the kinds: a few
        # hundred bytes each, so not one per kind as well):
        self._by_kind: dict[str, dict[Key, _Entry]] = {}
        self._by_namespace: dict[str, dict[Key, _Entry]] = {}  # namespaced objects only
        self._by_pipeline: dict[str, dict[Key, _Entry]] = {}
        self._deleted_rv: dict[Key, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _entry(self, key: Key) -> _Entry | None:
        of_kind = self._by_kind.get(key[0])
        return of_kind.get(key) if of_kind is not None else None

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
        self._put(key, _Entry.of(kind, slim(kind, obj), written=written))
        return True

    def _put(self, key: Key, entry: _Entry) -> None:
        self._drop(key)
        self._count += 1
        self._by_kind.setdefault(key[0], {})[key] = entry
        if key[1]:
            self._by_namespace.setdefault(key[1], {})[key] = entry
        if entry.pipeline is not None:
            self._by_pipeline.setdefault(entry.pipeline, {})[key] = entry

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
        self._unindex(self._by_kind, key[0], key)
        if key[1]:
            self._unindex(self._by_namespace, key[1], key)
        if old.pipeline is not None:
            self._unindex(self._by_pipeline, old.pipeline, key)

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
            body = found.body(kind)
            meta = body.setdefault("metadata", {})
            meta["deletionTimestamp"] = meta.get("deletionTimestamp") or "deleting"
            self._put(key, _Entry.of(kind, body, written=found.written))

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
        return found.body(kind) if found is not None else None

    def _candidates(self, kind: str, namespace: str | None, labels: Mapping[str, str] | None
                    ) -> list[tuple[Key, _Entry]]:
        if namespace:
            return [(key, entry) for key, entry in self._by_namespace.get(namespace, {}).items() if key[0] == kind]
        if labels and PIPELINE_LABEL in labels:
            return [(key, entry) for key, entry in self._by_pipeline.get(labels[PIPELINE_LABEL], {}).items()
                    if key[0] == kind]
        return [(key, entry) for key, entry in self._by_kind.get(kind, {}).items()
                if namespace is None or key[1] == namespace]

    def _matching(self, kind: str, namespace: str | None, labels: Mapping[str, str] | None
                  ) -> Iterator[tuple[Key, _Entry, dict[str, Any] | None]]:
        """The entries of ``kind`` (in ``namespace``) with all of ``labels``, each with its decoded object when
        telling took decoding it (the pipeline and managed-by labels are known without)."""
        for key, entry in self._candidates(kind, namespace, labels):
            known = entry.has(labels) if labels else True
            if known is None and labels:
                body = entry.body(kind)
                have = (body.get("metadata") or {}).get("labels") or {}
                if all(have.get(lk) == lv for lk, lv in labels.items()):
                    yield key, entry, body
            elif known:
                yield key, entry, None

    def list(self, kind: str, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
             ) -> Iterator[dict[str, Any]]:
        """Copies of the cached objects of ``kind`` (in ``namespace``, with all of ``labels``)."""
        for _key, entry, body in self._matching(kind, namespace, labels):
            yield body if body is not None else entry.body(kind)

    def where(self, kind: str, *, labels: Mapping[str, str], namespace: str | None = None
              ) -> builtins.list[tuple[str, str]]:
        """The (namespace, name) of the cached objects of ``kind`` with ``labels``, decoding none that the
        labels the entries know (pipeline, managed-by) can tell."""
        return [(key[1], key[2]) for key, _entry, _body in self._matching(kind, namespace, labels)]
