"""Server-side printing: ``meta.k8s.io/v1`` Table responses, as kubectl asks for with ``as=Table``."""

from __future__ import annotations

import datetime

from shipway.sandbox.emulator import event_table, event_versions, objects
from shipway.sandbox.emulator.resources import ResourceSpec

_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
    {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0},
]


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "")


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:  # second precision (Time) or microseconds (MicroTime)
        created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    seconds = int((datetime.datetime.now(tz=datetime.UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


_STATUS_COLUMN = {"name": "Status", "type": "string", "format": "", "description": "The phase", "priority": 0}


def _columns(spec: ResourceSpec) -> list[dict[str, object]]:
    """Name and Age for every kind; Namespaces also show their phase, Events kube-apiserver's own columns."""
    if event_versions.is_event(spec.group, spec.plural):
        return list(event_table.COLUMNS)
    return [_COLUMNS[0], _STATUS_COLUMN, _COLUMNS[1]] if spec.kind == "Namespace" else list(_COLUMNS)


def _row(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    meta = objects.meta_of(body)
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {k: v for k, v in meta.items() if k != "managedFields"},
    }
    if event_versions.is_event(spec.group, spec.plural):
        return {"cells": event_table.cells(body, _age), "object": partial}
    cells = [meta.get("name"), _age(meta.get("creationTimestamp"))]
    if spec.kind == "Namespace":
        cells.insert(1, (body.get("status") or {}).get("phase", ""))
    return {"cells": cells, "object": partial}


def maybe_table(accept: str | None, spec: ResourceSpec, body: objects.Body, *, listing: bool) -> objects.Body:
    """The body as a Table when the client asked for one, else unchanged."""
    if not wants_table(accept):
        return body
    rows = [_row(spec, item) for item in body.get("items", [])] if listing else [_row(spec, body)]
    meta = {"resourceVersion": objects.meta_of(body).get("resourceVersion", "")}
    if listing and objects.meta_of(body).get("continue"):
        meta["continue"] = objects.meta_of(body)["continue"]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": _columns(spec), "rows": rows}
