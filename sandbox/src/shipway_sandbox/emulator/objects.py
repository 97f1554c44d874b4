"""Raw Kubernetes JSON bodies and small accessors over them (pure, no I/O)."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from shipway.core.timestamps import kube_time

Body = dict[str, Any]


def metadata(body: Body) -> Body:
    """The ``metadata`` dict of a body, created if absent or malformed."""
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        body["metadata"] = meta
    return meta


def meta_of(body: Body) -> Body:
    """The ``metadata`` dict of a body for reading (never mutates the body)."""
    meta = body.get("metadata")
    return meta if isinstance(meta, dict) else {}


def labels_of(body: Body) -> dict[str, str]:
    labels = meta_of(body).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def finalizers_of(body: Body) -> list[str]:
    finalizers = meta_of(body).get("finalizers")
    return [str(f) for f in finalizers] if isinstance(finalizers, list) else []


def owner_uids_of(body: Body) -> list[str]:
    refs = meta_of(body).get("ownerReferences")
    if not isinstance(refs, list):
        return []
    return [str(ref["uid"]) for ref in refs if isinstance(ref, dict) and ref.get("uid")]


def is_deleting(body: Body) -> bool:
    return bool(meta_of(body).get("deletionTimestamp"))


def deep_copy(body: Body) -> Body:
    """A copy sharing nothing mutable with ``body``: JSON (dicts, lists, scalars) copied directly, anything
    else (tuples, other types) by :func:`copy.deepcopy`."""
    copied: Body = _copied(body)
    return copied


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict:
        return {key: item if type(item) in _ATOMIC else _copied(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _ATOMIC else _copied(item) for item in value]
    return copy.deepcopy(value)


def now_rfc3339() -> str:
    """A timestamp as the API server writes it: UTC, second precision, ``Z`` suffix."""
    return kube_time(datetime.datetime.now(tz=datetime.UTC))
