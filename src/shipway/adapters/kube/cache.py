"""The operator's local cache: watch-fed, in memory, holding only the objects Shipway needs.

Fed by watch events (the operator's kopf handlers) and by the operator's own successful writes (write-
through, so a reconcile that runs before its own write's watch echo sees the new state and writes nothing
again). An event older than what the cache holds is ignored: resourceVersions are compared as integers
when both parse as integers, which every etcd-backed API server produces; otherwise the event wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Key = tuple[str, str, str]  # (kind, namespace or "", name)


def _rv(obj: Mapping[str, Any]) -> int | None:
    value = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def key_of(kind: str, obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return kind, meta.get("namespace") or "", meta.get("name") or ""


class Store:
    """Objects by (kind, namespace, name). Not thread-safe: used from one event loop."""

    def __init__(self) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        self._deleted_rv: dict[Key, int] = {}
        self._written_rv: dict[Key, str] = {}  # resourceVersions this process wrote itself

    def __len__(self) -> int:
        return len(self._objects)

    def sizes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, _, _ in self._objects:
            out[kind] = out.get(kind, 0) + 1
        return out

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
        self._objects[key] = dict(obj)
        return True

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
        self._objects.pop(key, None)
        self._written_rv.pop(key, None)
        rv = _rv(obj)
        if rv is not None:
            self._deleted_rv[key] = rv
            if len(self._deleted_rv) > 10_000:  # tombstones only guard against reordering; keep them few
                self._deleted_rv.pop(next(iter(self._deleted_rv)))

    def forget(self, kind: str, name: str, namespace: str = "") -> None:
        """Drop an object after the operator deleted it itself (write-through)."""
        self._objects.pop((kind, namespace, name), None)
        self._written_rv.pop((kind, namespace, name), None)

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self._objects.get((kind, namespace, name))

    def list(self, kind: str, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
             ) -> Iterator[dict[str, Any]]:
        for (k, ns, _), obj in self._objects.items():
            if k != kind or (namespace is not None and ns != namespace):
                continue
            if labels:
                have = (obj.get("metadata") or {}).get("labels") or {}
                if any(have.get(lk) != lv for lk, lv in labels.items()):
                    continue
            yield obj
