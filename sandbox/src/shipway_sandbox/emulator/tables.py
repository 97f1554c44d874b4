"""Server-side printing: ``meta.k8s.io/v1`` Table responses, as kubectl asks for with ``as=Table``.

* a custom resource's columns are its CRD version's ``additionalPrinterColumns`` after ``Name``, or ``Name``
  and ``Age`` when it declares none (the apiextensions-apiserver's ``tableconvertor`` and
  ``serveDefaultColumnsIfEmpty``): each cell is the first result of the column's JSONPath (a JSONPath may
  match several values, ``.spec.phases[*].name``: the server shows the first only), printed as kubectl's
  JSONPath prints a ``string`` column, typed for ``integer``/``number``/``boolean``, and for ``date`` as a
  human-readable age (``ConvertToHumanReadableDateType``); a missing value is an empty (null) cell;
* built-in kinds: kube-apiserver's printer columns (:mod:`builtin_tables`; Namespaces their ``Status``, Events
  their own columns), else ``Name`` and ``Age``;
* a watch asked for as a Table (``kubectl get -w``) sends each event's object as a one-row Table, with the
  column definitions in the first event only ("on watch, we only want to print table headers on the first
  object and omit them on subsequent events": the API server's watch handler).

The JSONPath subset: ``.field``, ``['field']``, ``[n]``, ``[*]``, ``.*`` and filters ``[?(@.a.b=="x")]`` with
``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=`` or a bare ``@.a`` (present), as printer columns use it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

from shipway_sandbox.emulator import (
    builtin_schemas,
    builtin_tables,
    event_table,
    event_versions,
    objects,
    resources,
    watching,
)
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore

_META_DOCS = builtin_schemas.OBJECT_META_SCHEMA["properties"]
NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "description": _META_DOCS["name"]["description"],
               "priority": 0}
_COLUMNS = [
    NAME_COLUMN,
    {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0},
]
# a CRD version without additionalPrinterColumns is served with this one (serveDefaultColumnsIfEmpty)
DEFAULT_CUSTOM_COLUMNS = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                           "description": _META_DOCS["creationTimestamp"]["description"]}]


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "")


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration`` of apimachinery: ``45s``, ``3m20s``, ``5h``, ``2d3h``, ``400d``, ``3y12d``."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    total = int(seconds)
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest_days = days // 365, days % 365
    if days < 365 * 8:
        return f"{years}y{rest_days}d" if rest_days else f"{years}y"
    return f"{years}y"


def _parse_time(timestamp: Any) -> datetime.datetime | None:
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:  # second precision (Time) or microseconds (MicroTime)
        parsed = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


def _age(timestamp: str | None) -> str:
    created = _parse_time(timestamp)
    if created is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(tz=datetime.UTC) - created).total_seconds())


_STATUS_COLUMN = {"name": "Status", "type": "string", "format": "", "description": "The phase", "priority": 0}


# -- JSONPath ----------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""\.\.|\.(?P<field>[A-Za-z0-9_\-$]+)|\.\*|\[(?P<bracket>(?:[^\[\]'"]|'[^']*'|"[^"]*")*)\]""")
_FILTER = re.compile(r"""^\?\(\s*@(?P<path>(?:\.[A-Za-z0-9_\-]+|\['[^']*'\])*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*"""
                     r"""(?P<value>'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?|true|false))?\s*\)$""")


class JsonPathError(ValueError):
    pass


def compile_path(expression: str) -> list[tuple[str, Any]]:
    """A printer column's JSONPath (``.status.conditions[?(@.type=="Ready")].status``) as steps."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    steps: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JsonPathError(f"unrecognized column definition {expression!r}")
        position = match.end()
        token = match.group(0)
        if token == "..":
            raise JsonPathError(f"recursive descent is not supported: {expression!r}")
        if token == ".*":
            steps.append(("all", None))
        elif match.group("field") is not None:
            steps.append(("field", match.group("field")))
        else:
            steps.append(_bracket(match.group("bracket").strip(), expression))
    return steps


def _bracket(inner: str, expression: str) -> tuple[str, Any]:
    if inner == "*":
        return ("all", None)
    if inner[:1] in ("'", '"') and inner[-1:] == inner[:1]:
        return ("field", inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    found = _FILTER.match(inner)
    if found is None:
        raise JsonPathError(f"unrecognized column definition {expression!r}")
    path = [plain or quoted for plain, quoted in re.findall(r"\.([A-Za-z0-9_\-]+)|\['([^']*)'\]", found.group("path"))]
    value: Any = found.group("value")
    if value is not None:
        value = value[1:-1] if value[:1] in ("'", '"') else json.loads(value)
    return ("filter", (path, found.group("op"), value))


def _compare(left: Any, op: str | None, right: Any) -> bool:
    if op is None:
        return True
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if not (isinstance(left, int | float) and isinstance(right, int | float)):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def find(steps: list[tuple[str, Any]], data: Any) -> list[Any]:
    """Every value the path reaches (missing keys are no match, as with ``AllowMissingKeys``)."""
    current = [data]
    for kind, argument in steps:
        following: list[Any] = []
        for value in current:
            following.extend(_step(kind, argument, value))
        current = following
    return current


def _step(kind: str, argument: Any, value: Any) -> Iterator[Any]:
    if kind == "field":
        if isinstance(value, dict) and argument in value:
            yield value[argument]
    elif kind == "index":
        if isinstance(value, list) and -len(value) <= argument < len(value):
            yield value[argument]
    elif kind == "all":
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()
    elif kind == "filter" and isinstance(value, list):
        path, op, expected = argument
        for item in value:
            found = find([("field", part) for part in path], item)
            if found and _compare(found[0], op, expected):
                yield item


def _text(value: Any) -> str:
    """A value as kubectl's JSONPath prints it: strings raw, objects and lists as JSON, others as Go does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "<nil>" if value is None else str(value)


def _cell(column_type: str, value: Any) -> Any:
    """``cellForJSONValue`` (and the string case of the convertor)."""
    if column_type == "string":
        return _text(value)
    if value is None:
        return None
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        parsed = _parse_time(value)
        return "<invalid>" if parsed is None else human_duration(
            (datetime.datetime.now(tz=datetime.UTC) - parsed).total_seconds())
    return None


# -- columns ---------------------------------------------------------------------------------------------
def columns_of(store: ObjectStore, spec: ResourceSpec) -> list[dict[str, Any]] | None:
    """A custom resource's printer columns (None for built-in kinds): its CRD version's, or the default."""
    if not spec.group:
        return None
    crd = store.get(resources.CRDS, None, f"{spec.plural}.{spec.group}")
    if crd is None:
        return None
    for version in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(version, dict) and version.get("name") == spec.version:
            declared = version.get("additionalPrinterColumns") or []
            return [dict(c) for c in declared if isinstance(c, dict)] or [dict(c) for c in DEFAULT_CUSTOM_COLUMNS]
    return [dict(c) for c in DEFAULT_CUSTOM_COLUMNS]


def _definitions(spec: ResourceSpec, custom: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if custom is not None:
        return [NAME_COLUMN, *({
            "name": str(c.get("name") or ""), "type": str(c.get("type") or "string"),
            "format": str(c.get("format") or ""),
            "description": str(c.get("description") or
                               f"Custom resource definition column (in JSONPath format): {c.get('jsonPath')}"),
            "priority": int(c.get("priority") or 0)} for c in custom)]
    if event_versions.is_event(spec.group, spec.plural):
        return list(event_table.COLUMNS)
    printed = builtin_tables.columns(spec)
    if printed is not None:
        return [NAME_COLUMN, *printed]
    return [_COLUMNS[0], _STATUS_COLUMN, _COLUMNS[1]] if spec.kind == "Namespace" else list(_COLUMNS)


def _custom_cells(body: objects.Body, custom: list[dict[str, Any]]) -> list[Any]:
    cells: list[Any] = [objects.meta_of(body).get("name")]
    for column in custom:
        try:
            found = find(compile_path(str(column.get("jsonPath") or "")), body)
        except JsonPathError:
            found = []
        cells.append(_cell(str(column.get("type") or "string"), found[0]) if found else None)
    return cells


def _row(spec: ResourceSpec, body: objects.Body, custom: list[dict[str, Any]] | None) -> objects.Body:
    meta = objects.meta_of(body)
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {k: v for k, v in meta.items() if k != "managedFields"},
    }
    if custom is not None:
        return {"cells": _custom_cells(body, custom), "object": partial}
    if event_versions.is_event(spec.group, spec.plural):
        return {"cells": event_table.cells(body, _age), "object": partial}
    printed = builtin_tables.cells(spec, body, _age)
    if printed is not None:
        return {"cells": printed, "object": partial}
    cells = [meta.get("name"), _age(meta.get("creationTimestamp"))]
    if spec.kind == "Namespace":
        cells.insert(1, (body.get("status") or {}).get("phase", ""))
    return {"cells": cells, "object": partial}


def maybe_table(accept: str | None, spec: ResourceSpec, body: objects.Body, *, listing: bool,
                columns: list[dict[str, Any]] | None = None) -> objects.Body:
    """The body as a Table when the client asked for one, else unchanged (``columns``: a custom resource's
    printer columns, from :func:`columns_of`)."""
    if not wants_table(accept):
        return body
    rows = [_row(spec, item, columns) for item in body.get("items", [])] if listing else [_row(spec, body, columns)]
    source = objects.meta_of(body)
    meta: dict[str, Any] = {"resourceVersion": source.get("resourceVersion", "")}
    if listing and source.get("continue"):
        meta["continue"] = source["continue"]
    if listing and source.get("remainingItemCount") is not None:
        meta["remainingItemCount"] = source["remainingItemCount"]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": _definitions(spec, columns), "rows": rows}


@dataclasses.dataclass(frozen=True, kw_only=True)
class TableWatchRequest(watching.WatchRequest):
    """A watch whose events carry one-row Tables (see :func:`table_watch`)."""

    columns: list[dict[str, Any]] | None = None
    headers_sent: list[bool] = dataclasses.field(default_factory=lambda: [False])

    def versioned(self, body: objects.Body) -> objects.Body:
        served = super().versioned(body)
        table = maybe_table("as=Table", self.spec, served, listing=False, columns=self.columns)
        if self.headers_sent[0]:
            table["columnDefinitions"] = []
        self.headers_sent[0] = True
        return table


def table_watch(accept: str | None, request: watching.WatchRequest, store: ObjectStore) -> watching.WatchRequest:
    """The watch request as a Table watch when the client asked for Tables, else unchanged."""
    if not wants_table(accept):
        return request
    fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(watching.WatchRequest)}
    return TableWatchRequest(**fields, columns=columns_of(store, request.spec))
