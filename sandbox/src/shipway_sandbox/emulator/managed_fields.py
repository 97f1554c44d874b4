"""Field management: ``metadata.managedFields`` and the field sets behind server-side apply (pure).

As kube-apiserver's field manager (``k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager``, over
sigs.k8s.io/structured-merge-diff; https://kubernetes.io/docs/reference/using-api/server-side-apply/) keeps them:

* every write records who changed which fields: an entry per manager (``manager``, ``operation`` Apply or
  Update, ``apiVersion``, ``time``, ``subresource`` for ``/status`` writes, ``fieldsType: FieldsV1`` and the
  field set as ``fieldsV1``: ``{"f:spec": {".": {}, "f:registry": {}}}``, list items as ``k:{"name":"x"}``
  (lists of type map) or ``v:"pull"`` (sets); ``"."`` marks a node that is itself owned and has owned
  children). The manager is the request's ``fieldManager``, else its User-Agent up to the first ``/``;
* an Update takes the fields it added or changed (``compare``) from everyone else and adds them to its
  manager; removed fields leave every set; an Update that changes nothing records nothing;
* an Apply owns exactly the fields of the applied configuration (``field_set``), merged into the live object
  (``merge``: maps and structs field by field, lists of type map item by item, sets as sets, other lists
  replaced); fields it applied last time and no longer does are removed from the object unless another
  manager owns them (``prune``); a field another manager owns that the apply would change is a conflict
  (409, unless ``force``, which takes the field over);
* identity, server-set and status fields are never owned: ``apiVersion``, ``kind``, ``metadata.name``,
  ``namespace``, ``uid``, ``resourceVersion``, ``generation``, ``creationTimestamp``, ``managedFields``; a
  write to the main resource never owns ``status`` when there is a status subresource, a ``/status`` write
  owns only ``status``;
* a request may set ``managedFields`` itself (a write that sends them replaces them; ``[{}]`` clears them);
  entries are sorted: Apply before Update, then by time, manager, apiVersion, subresource.

Approximations: list items that an apply adds are appended after the live ones (structured-merge-diff
interleaves them in the applied order); the schema of a kind is its CRD's structural schema, the built-in
schemas of :mod:`builtin_schemas`, or, for other kinds, "deduced" (maps granular, lists atomic); no
conversion between versions; the ten-Update-managers cap (``ancient-changes``) is not applied.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shipway_sandbox.emulator import builtin_schemas, objects
from shipway_sandbox.emulator.resources import ResourceSpec

Schema = Mapping[str, Any]
Element = tuple[str, str]  # ("f", field) | ("k", canonical JSON of the keys) | ("v", canonical JSON) | ("i", index)
Path = tuple[Element, ...]
FieldSet = set[Path]
APPLY, UPDATE = "Apply", "Update"
_MISSING: Any = object()
_ORDER = {"f": 0, "v": 1, "i": 2, "k": 3}

_STRIPPED: frozenset[Path] = frozenset({(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),)} | {
    (("f", "metadata"), ("f", name)) for name in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                                  "clusterName", "generation", "managedFields", "resourceVersion")})
_SERVER_SET = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink",
               "deletionTimestamp", "deletionGracePeriodSeconds")


# -- schemas ---------------------------------------------------------------------------------------------
def root_schema(spec: ResourceSpec) -> Schema:
    """The schema field ownership walks: a CRD's (``metadata`` as ``ObjectMeta``), a described built-in
    kind's, or a deduced one (``metadata`` typed, everything else granular maps and atomic lists)."""
    meta = builtin_schemas.OBJECT_META_SCHEMA
    if spec.schema is not None:
        properties = {**(spec.schema.get("properties") or {}), "metadata": meta}
        return {**spec.schema, "properties": properties}
    described = builtin_schemas.schema_for(spec)
    if described is not None:
        return described
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": meta}}


def _child_schema(schema: Schema | None, key: str) -> tuple[Schema | None, bool]:
    """A field's schema and whether it is a named (struct) field; map keys and unknown keys are not."""
    if schema is None:
        return None, False
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    if key in properties:
        return properties[key], True
    extra = schema.get("additionalProperties")
    return (extra if isinstance(extra, Mapping) else None), False


def _atomic_map(schema: Schema | None) -> bool:
    return schema is not None and schema.get("x-kubernetes-map-type") == "atomic"


def _list_type(schema: Schema | None) -> tuple[str, list[str]]:
    if schema is None:
        return "atomic", []
    kind = schema.get("x-kubernetes-list-type") or "atomic"
    keys = [str(k) for k in schema.get("x-kubernetes-list-map-keys") or ()] if kind == "map" else []
    return str(kind), keys


def _items(schema: Schema | None) -> Schema | None:
    items = schema.get("items") if schema is not None else None
    return items if isinstance(items, Mapping) else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _element_of(kind: str, keys: list[str], item: Any, index: int) -> Element:
    if kind == "map" and isinstance(item, dict):
        return ("k", _canonical({k: item[k] for k in keys if k in item}))
    if kind == "set":
        return ("v", _canonical(item))
    return ("i", str(index))


# -- field sets ------------------------------------------------------------------------------------------
def field_set(schema: Schema | None, value: Any) -> FieldSet:
    """Every field a configuration sets (structured-merge-diff's ``ToFieldSet``)."""
    found: FieldSet = set()
    _to_set(schema, value, (), found)
    return found


def _to_set(schema: Schema | None, value: Any, path: Path, found: FieldSet) -> None:
    if isinstance(value, dict):
        if _atomic_map(schema):
            found.add(path)
            return
        for key, item in value.items():
            sub, named = _child_schema(schema, key)
            child = (*path, ("f", key))
            _to_set(sub, item, child, found)
            if item is None or (isinstance(item, dict) and not item) or not named:
                found.add(child)
    elif isinstance(value, list):
        kind, keys = _list_type(schema)
        if kind == "atomic":
            found.add(path)
            return
        for index, item in enumerate(value):
            child = (*path, _element_of(kind, keys, item, index))
            _to_set(_items(schema), item, child, found)
            found.add(child)
    else:
        found.add(path)


@dataclasses.dataclass
class Comparison:
    added: FieldSet = dataclasses.field(default_factory=set)
    modified: FieldSet = dataclasses.field(default_factory=set)
    removed: FieldSet = dataclasses.field(default_factory=set)

    def filtered(self, keep: Any) -> Comparison:
        return Comparison({p for p in self.added if keep(p)}, {p for p in self.modified if keep(p)},
                          {p for p in self.removed if keep(p)})


def compare(schema: Schema | None, old: Any, new: Any) -> Comparison:
    """What changed from ``old`` to ``new`` (structured-merge-diff's ``Compare``)."""
    result = Comparison()
    _compare(schema, old, new, (), result)
    return result


def _same(a: Any, b: Any) -> bool:
    return _canonical(a) == _canonical(b)


def _granular(schema: Schema | None, value: Any) -> bool:
    if isinstance(value, dict):
        return not _atomic_map(schema)
    if isinstance(value, list):
        return _list_type(schema)[0] != "atomic"
    return False


def _children(schema: Schema | None, value: Any) -> Iterator[tuple[Element, Schema | None, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield ("f", key), _child_schema(schema, key)[0], item
    elif isinstance(value, list):
        kind, keys = _list_type(schema)
        for index, item in enumerate(value):
            yield _element_of(kind, keys, item, index), _items(schema), item


def _compare(schema: Schema | None, old: Any, new: Any, path: Path, result: Comparison) -> None:
    old_granular = old is not _MISSING and _granular(schema, old)
    new_granular = new is not _MISSING and _granular(schema, new)
    both_empty = (old is _MISSING or old in ({}, [])) and (new is _MISSING or new in ({}, []))
    same_shape = (old is _MISSING or new is _MISSING or type(old) is type(new))
    if (old_granular or new_granular) and same_shape and not both_empty:
        olds = {element: (sub, item) for element, sub, item in _children(schema, old)} if old is not _MISSING else {}
        news = {element: (sub, item) for element, sub, item in _children(schema, new)} if new is not _MISSING else {}
        for element in [*olds, *(e for e in news if e not in olds)]:
            sub = (news.get(element) or olds[element])[0]
            _compare(sub, olds[element][1] if element in olds else _MISSING,
                     news[element][1] if element in news else _MISSING, (*path, element), result)
        if old is _MISSING:
            result.added.add(path)
        elif new is _MISSING:
            result.removed.add(path)
        return
    if old is _MISSING and new is not _MISSING:
        result.added.add(path)
    elif new is _MISSING and old is not _MISSING:
        result.removed.add(path)
    elif old is not _MISSING and not _same(old, new):
        result.modified.add(path)


def _with_ancestors(paths: Iterable[Path]) -> FieldSet:
    out: FieldSet = set()
    for path in paths:
        for end in range(1, len(path) + 1):
            out.add(path[:end])
    return out


# -- fieldsV1 ----------------------------------------------------------------------------------------------
def _element_text(element: Element) -> str:
    kind, text = element
    return f"{kind}:{text}"


def _parse_element(text: str) -> Element:
    kind, _, rest = text.partition(":")
    if kind in ("k", "v"):
        try:
            return (kind, _canonical(json.loads(rest)))
        except ValueError:
            return (kind, rest)
    return (kind, rest)


def encode(fields: FieldSet) -> dict[str, Any]:
    """A field set as ``fieldsV1``."""
    tree: dict[Element, Any] = {}
    members: set[Path] = set(fields)
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def render(node: dict[Element, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node and prefix:
            out["."] = {}
        for element in sorted(node, key=lambda e: (_ORDER.get(e[0], 9), e[1])):
            out[_element_text(element)] = render(node[element], (*prefix, element))
        return out

    return render(tree, ())


def decode(fields_v1: Any) -> FieldSet:
    """``fieldsV1`` as a field set (malformed entries are skipped)."""
    found: FieldSet = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict):
            return
        for key, child in node.items():
            if key == ".":
                if prefix:
                    found.add(prefix)
                continue
            path = (*prefix, _parse_element(str(key)))
            if isinstance(child, dict) and child:
                walk(child, path)
            else:
                found.add(path)

    walk(fields_v1, ())
    return found


def path_text(path: Path) -> str:
    """A path as kube-apiserver prints it in conflicts: ``.spec.phases[name="stage"].registry``."""
    out = []
    for kind, text in path:
        if kind == "f":
            out.append("." + text)
        elif kind == "k":
            keys = json.loads(text)
            out.append("[" + ",".join(f"{k}={_canonical(v)}" for k, v in sorted(keys.items())) + "]")
        elif kind == "v":
            out.append(f"[={text}]")
        else:
            out.append(f"[{text}]")
    return "".join(out)


# -- entries -----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: FieldSet

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return identity(self.manager, self.operation, self.subresource, self.api_version)

    def describe(self) -> str:
        """As kube-apiserver names a manager in a conflict (``printManager``)."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = encode(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


Managers = dict[tuple[str, str, str, str], Entry]


def identity(manager: str, operation: str, subresource: str, api_version: str) -> tuple[str, str, str, str]:
    """An entry's identity: Apply entries are one per manager whatever the apiVersion (``BuildManagerIdentifier``)."""
    return (manager, operation, subresource, "" if operation == APPLY else api_version)


def entries_of(managed: Any) -> Managers:
    result: Managers = {}
    if not isinstance(managed, list):
        return result
    for raw in managed:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        entry = Entry(manager=str(raw["manager"]), operation=str(raw.get("operation") or UPDATE),
                      api_version=str(raw.get("apiVersion") or ""), subresource=str(raw.get("subresource") or ""),
                      time=raw.get("time"), fields=decode(raw.get("fieldsV1")))
        result[entry.identity] = entry
    return result


def encoded(managers: Managers) -> list[dict[str, Any]]:
    """The entries as ``metadata.managedFields``, sorted as kube-apiserver sorts them."""
    live = [e for e in managers.values() if e.fields]
    live.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.as_json() for e in live]


def carry(meta: dict[str, Any], stored_meta: Mapping[str, Any]) -> None:
    """An update keeps the stored ``managedFields`` (the hook of :func:`stamping.prepare_update`): a controller's
    write inside the emulator leaves them as they were; a request's write recomputes them (see
    :func:`server_side_apply.track`)."""
    meta.pop("managedFields", None)
    if stored_meta.get("managedFields"):
        meta["managedFields"] = copy.deepcopy(stored_meta["managedFields"])


def is_reset(managed: Any) -> bool:
    """``[{}]``: the request clears managedFields (an empty list does not: clients unaware of the field)."""
    return isinstance(managed, list) and len(managed) == 1 and managed[0] == {}


def manager_from_user_agent(user_agent: str | None) -> str:
    """The default manager of a write without ``fieldManager``: the User-Agent up to its first ``/``."""
    prefix = (user_agent or "").split("/", 1)[0]
    return "".join(c for c in prefix if c.isprintable())[:128]


def comparable(body: Any) -> Any:
    """An object without the server-set metadata no manager owns."""
    if not isinstance(body, dict):
        return {}
    out = dict(body)
    meta = dict(objects.meta_of(body))
    for key in _SERVER_SET:
        meta.pop(key, None)
    out["metadata"] = meta
    return out


def ownable(subresource: str, has_status: bool) -> Any:
    """Which paths a write may own: not the stripped ones, and per the status subresource's reset fields."""
    def keep(path: Path) -> bool:
        if path in _STRIPPED or not path:
            return False
        top = path[0]
        if subresource == "status":
            return top == ("f", "status")
        return not (has_status and top == ("f", "status"))
    return keep


# -- operations --------------------------------------------------------------------------------------------
def update(schema: Schema, old: Any, new: Any, managers: Managers, *, manager: str, api_version: str,
           subresource: str, has_status: bool, now: str) -> Managers:
    """The managers after an Update by ``manager`` from ``old`` to ``new``."""
    keep = ownable(subresource, has_status)
    changes = compare(schema, comparable(old), comparable(new)).filtered(keep)
    managers = {key: dataclasses.replace(entry, fields=set(entry.fields)) for key, entry in managers.items()}
    taken = changes.modified | changes.added
    for entry in managers.values():
        entry.fields -= taken
        entry.fields -= changes.removed
    if taken:
        key = identity(manager, UPDATE, subresource, api_version)
        entry = managers.get(key) or Entry(manager, UPDATE, api_version, subresource, None, set())
        entry.fields |= taken
        entry.time = now
        managers[key] = entry
    return {key: entry for key, entry in managers.items() if entry.fields}


def merge(schema: Schema | None, live: Any, config: Any) -> Any:
    """An applied configuration merged into the live object (structured-merge-diff's ``Merge``)."""
    if live is _MISSING:
        return copy.deepcopy(config)
    if isinstance(live, dict) and isinstance(config, dict) and not _atomic_map(schema):
        out = dict(live)
        for key, value in config.items():
            out[key] = merge(_child_schema(schema, key)[0], live.get(key, _MISSING), value)
        return out
    if isinstance(live, list) and isinstance(config, list):
        kind, keys = _list_type(schema)
        if kind == "set":
            return [*copy.deepcopy(live), *(copy.deepcopy(v) for v in config if not any(_same(v, w) for w in live))]
        if kind == "map":
            items = _items(schema)
            out_items = [copy.deepcopy(v) for v in live]
            positions = {_element_of(kind, keys, v, i): i for i, v in enumerate(live)}
            for index, value in enumerate(config):
                element = _element_of(kind, keys, value, index)
                if element in positions:
                    out_items[positions[element]] = merge(items, live[positions[element]], value)
                else:
                    positions[element] = len(out_items)
                    out_items.append(copy.deepcopy(value))
            return out_items
    return copy.deepcopy(config)


_PROTECTED: frozenset[Path] = frozenset({(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),)}) | {
    (("f", "metadata"), ("f", key)) for key in ("name", "namespace", "uid", "resourceVersion", "generation",
                                                "creationTimestamp", "managedFields", "deletionTimestamp",
                                                "deletionGracePeriodSeconds")}


def prune(schema: Schema | None, merged: Any, last: FieldSet, kept: FieldSet) -> Any:
    """``merged`` without what the applier owned last time (``last``) that nobody owns now (``kept``)."""
    last_all, kept_all = _with_ancestors(last), _with_ancestors(kept) | _PROTECTED

    def walk(schema: Schema | None, value: Any, path: Path) -> Any:
        if isinstance(value, dict) and not _atomic_map(schema):
            out = {}
            for key, item in value.items():
                child = (*path, ("f", key))
                if child in last_all and child not in kept_all:
                    continue
                out[key] = walk(_child_schema(schema, key)[0], item, child) if child in last_all else item
            return out
        if isinstance(value, list) and _list_type(schema)[0] != "atomic":
            kind, keys = _list_type(schema)
            kept_items = []
            for index, item in enumerate(value):
                child = (*path, _element_of(kind, keys, item, index))
                if child in last_all and child not in kept_all:
                    continue
                kept_items.append(walk(_items(schema), item, child) if child in last_all else item)
            return kept_items
        return value

    return walk(schema, merged, ())


class ApplyConflicts(Exception):
    """Fields the apply would change that other managers own: ``(manager entry, path)`` pairs."""

    def __init__(self, conflicts: list[tuple[Entry, Path]]) -> None:
        super().__init__(message(conflicts))
        self.conflicts = conflicts


def message(conflicts: list[tuple[Entry, Path]]) -> str:
    """kube-apiserver's wording (``getConflictMessage``)."""
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {entry.describe()}: {path_text(path)}"
    by_manager: dict[str, list[Path]] = {}
    for entry, path in conflicts:
        by_manager.setdefault(entry.describe(), []).append(path)
    lines: list[str] = []
    for name in sorted(by_manager):
        lines.append(f"conflicts with {name}:")
        lines += [f"- {path_text(path)}" for path in by_manager[name]]
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def apply(schema: Schema, live: Any, config: Any, managers: Managers, *, manager: str, api_version: str,
          subresource: str, has_status: bool, force: bool, now: str) -> tuple[Any, Managers]:
    """The object after applying ``config`` as ``manager`` to ``live`` (None: a creation), and the managers.

    Raises :class:`ApplyConflicts` when the apply would change fields other managers own (unless ``force``)."""
    keep = ownable(subresource, has_status)
    applied = field_set(schema, config)
    owned = {path for path in applied if keep(path)}
    key = identity(manager, APPLY, subresource, api_version)
    managers = {k: dataclasses.replace(e, fields=set(e.fields)) for k, e in managers.items()}
    previous = managers.get(key)
    base = live if live is not None else {}
    merged = merge(schema, base, config)
    if previous is not None:
        others: FieldSet = set().union(*(e.fields for k, e in managers.items() if k != key))
        merged = prune(schema, merged, previous.fields, applied | others)
    changes = compare(schema, comparable(base), comparable(merged)).filtered(keep)
    conflicts = [(entry, path) for k, entry in managers.items() if k != key
                 for path in sorted(entry.fields & (changes.modified | changes.added), key=path_text)]
    if conflicts and not force:
        raise ApplyConflicts(conflicts)
    for k, entry in managers.items():
        if k != key:
            entry.fields -= changes.modified | changes.added
            entry.fields -= changes.removed
    changed = previous is None or not _same(comparable(base), comparable(merged))
    time = now if changed or previous is None else previous.time  # a no-op apply keeps its time
    managers[key] = Entry(manager, APPLY, api_version, subresource, time, owned)
    return merged, {k: e for k, e in managers.items() if e.fields}
