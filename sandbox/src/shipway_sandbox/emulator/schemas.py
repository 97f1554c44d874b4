"""Structural OpenAPI v3 schemas of CRDs: pruning, defaulting and validation of custom objects (pure).

What the apiextensions-apiserver does with ``spec.versions[].schema.openAPIV3Schema``:

* on decoding every write: unknown fields are pruned (unless ``x-kubernetes-preserve-unknown-fields``),
  ``null`` in a non-nullable field is dropped, then ``default`` fills missing fields (top-down, so a
  defaulted object gets its own defaults);
* validation: ``type`` (and ``x-kubernetes-int-or-string``), ``nullable``, ``enum``, ``required``,
  ``properties``/``additionalProperties``, ``items``, ``minLength``/``maxLength``/``pattern`` (RE2, search
  semantics), ``minItems``/``maxItems``, ``minProperties``/``maxProperties``, ``minimum``/``maximum``
  (``exclusiveMinimum``/``exclusiveMaximum``), ``multipleOf``; then ``x-kubernetes-list-type`` ``set`` and
  ``map`` (``x-kubernetes-list-map-keys``) uniqueness, reported after the schema's own errors;
* ratcheting on updates (on by default since 1.30): a value deep-equal to its old counterpart (object
  properties by name, list-map items by key) is not validated again.

* ``format`` of strings (``date``, ``date-time``, ``duration``, ``uuid``/``uuid3``/``uuid4``/``uuid5``,
  ``email``, ``hostname``, ``ipv4``, ``ipv6``, ``cidr``, ``mac``, ``uri``, ``byte``, ``hexcolor``):
  ``Invalid value: "x": spec.a in body must be of type email: "x"``; other formats are not checked (as the
  API server ignores formats it does not know);
* ``x-kubernetes-validations``: CEL rules (see :mod:`crd_rules`), after everything else, skipped when a type
  or enum error was found.

The root's ``apiVersion``, ``kind`` and ``metadata`` are left to the object-meta handling: never pruned,
defaulted or validated here (but the root's CEL rules see them). ``x-kubernetes-embedded-resource`` and
``allOf``/``anyOf``/``oneOf``/``not`` are not interpreted. Messages follow the API server's ``field.Error``
bodies (``Invalid value: "x": spec.a in body should match '...'``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import datetime
import functools
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import crd_rules

Schema = Mapping[str, Any]
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
_ROOT_KEPT = ("apiVersion", "kind", "metadata")
_MISSING: Any = object()


@dataclasses.dataclass(frozen=True)
class Cause:
    """One field error, as a ``Status`` cause: ``reason`` (the error type), ``field``, ``message`` (its body)."""

    reason: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


# -- pruning and defaulting ---------------------------------------------------------------------------
def prune_and_default(schema: Schema, body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` without unknown fields and non-nullable nulls, with the schema's defaults."""
    rest = {k: v for k, v in body.items() if k not in _ROOT_KEPT}
    kept = {k: copy.deepcopy(body[k]) for k in _ROOT_KEPT if k in body}
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _ROOT_KEPT}
    return {**kept, **_prune({**schema, "properties": properties}, rest)}


def _prune(schema: Schema, value: Any) -> Any:
    if isinstance(value, dict):
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = schema.get(PRESERVE) is True or extra is True
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is None:
                if preserve:
                    out[key] = copy.deepcopy(item)
            elif item is not None or sub.get("nullable") is True:
                out[key] = _prune(sub, item)
        for key, sub in properties.items():
            if key not in out and "default" in sub:
                out[key] = _prune(sub, copy.deepcopy(sub["default"]))
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return copy.deepcopy(value) if schema.get(PRESERVE) is True else [_prune({}, v) for v in value]
        return [_prune(items, v) for v in value]
    return value


# -- validation ---------------------------------------------------------------------------------------
def validate(schema: Schema, body: Mapping[str, Any], *, old: Mapping[str, Any] | None = None) -> list[Cause]:
    """Every field error of ``body`` (without the root's metadata); ``old`` enables ratcheting."""
    rest = {k: v for k, v in body.items() if k not in _ROOT_KEPT}
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _ROOT_KEPT}
    root = {**schema, "properties": properties, "type": "object"}
    old_rest = _MISSING if old is None else {k: v for k, v in old.items() if k not in _ROOT_KEPT}
    found: list[Cause] = []
    lists: list[Cause] = []
    rules: list[Cause] = []
    _check(root, rest, "", old_rest, found, lists, rules)
    if root.get("x-kubernetes-validations") and not (old is not None and _equal(dict(old), dict(body))):
        meta = {k: v for k, v in (body.get("metadata") or {}).items() if k in ("name", "generateName")}
        whole = {**rest, **{k: body[k] for k in ("apiVersion", "kind") if k in body}, "metadata": meta}
        old_whole: Any = None
        if old is not None:
            old_meta = {k: v for k, v in (old.get("metadata") or {}).items() if k in ("name", "generateName")}
            old_whole = {**old_rest, **{k: old[k] for k in ("apiVersion", "kind") if k in old}, "metadata": old_meta}
        rules[:0] = [Cause(e.reason, e.field, e.message) for e in crd_rules.evaluate(
            root, whole, old_whole, "", has_old=old is not None)]
    if rules and any(c.reason in ("FieldValueTypeInvalid", "FieldValueNotSupported") for c in found):
        rules = [Cause("FieldValueInvalid", "<nil>", f'Invalid value: "null": {crd_rules.BLOCKED}')]
    unique: dict[str, Cause] = {}
    for cause in found + lists + rules:
        unique.setdefault(str(cause), cause)
    return list(unique.values())


def message(kind: str, group: str, name: str, causes: list[Cause]) -> str:
    """The ``Status.message`` of a 422 Invalid: ``Kind.group "name" is invalid: ...``."""
    qualified = f"{kind}.{group}" if group else kind
    listed = str(causes[0]) if len(causes) == 1 else "[" + ", ".join(str(c) for c in causes) + "]"
    return f'{qualified} "{name}" is invalid: {listed}'


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    for kind, name in ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"),
                       (dict, "object"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "string"


def _type_ok(wanted: str, value: Any) -> bool:
    actual = _type_name(value)
    if wanted == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    if wanted == "number":
        return actual in ("integer", "number")
    return actual == wanted


def _go(value: Any) -> str:
    """A bad value as Go's ``field.Error`` prints it."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    return "[]interface {}{" + ", ".join(_go(v) for v in value) + "}"


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {_go(value)}: {path} in body {detail}")


def _too_many(path: str, count: int, limit: int) -> Cause:
    return Cause("FieldValueTooMany", path, f"Too many: {count}: must have at most {limit} item{'s' * (limit != 1)}")


def _equal(a: Any, b: Any) -> bool:
    """Deep JSON equality with types kept apart at every level (Python's ``True == 1`` is not JSON's)."""
    if a is _MISSING or type(a) is not type(b):
        return False
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), booleans apart from numbers."""
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    return bool(a == b) if numbers else _equal(a, b)


def _check(schema: Schema, value: Any, path: str, old: Any, found: list[Cause], lists: list[Cause],
           rules: list[Cause]) -> None:
    if _equal(old, value):
        return  # ratcheting: unchanged values are not validated again
    if path and schema.get("x-kubernetes-validations"):  # the root's rules see the whole object: see validate()
        rules.extend(Cause(e.reason, e.field, e.message) for e in crd_rules.evaluate(
            schema, value, None if old is _MISSING else old, path, has_old=old is not _MISSING))
    if value is None and schema.get("nullable") is True:
        return
    wanted = ["integer", "string"] if schema.get(INT_OR_STRING) is True else \
        [schema["type"]] if isinstance(schema.get("type"), str) else []
    if wanted and not any(_type_ok(t, value) for t in wanted):
        actual = _type_name(value)
        found.append(Cause("FieldValueTypeInvalid", path, f"Invalid value: {_go(actual)}: {path} in body must be"
                           f" of type {','.join(wanted)}: {_go(actual)}"))
        return
    if isinstance(value, str):
        _check_string(schema, value, path, found)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(schema, value, path, found)
    if "enum" in schema and not any(_same(e, value) for e in schema["enum"]):
        supported = ", ".join(json.dumps(e if isinstance(e, str) else json.dumps(e)) for e in schema["enum"])
        found.append(Cause("FieldValueNotSupported", path,
                           f"Unsupported value: {_go(value)}: supported values: {supported}"))
    if isinstance(value, dict):
        _check_object(schema, value, path, old if isinstance(old, dict) else {}, found, lists, rules)
    elif isinstance(value, list):
        _check_array(schema, value, path, old if isinstance(old, list) else [], found, lists, rules)


def _check_string(schema: Schema, value: str, path: str, found: list[Cause]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        limit = int(schema["maxLength"])
        found.append(Cause("FieldValueTooLong", path,
                           f"Too long: may not be more than {limit} byte{'' if limit == 1 else 's'}"))
    elif "minLength" in schema and len(value) < schema["minLength"]:
        found.append(_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    elif isinstance(schema.get("pattern"), str):
        compiled = _compiled(schema["pattern"])
        if compiled is not None and compiled.search(value) is None:
            found.append(_invalid(path, value, f"should match '{schema['pattern']}'"))
    check = _FORMATS.get(str(schema.get("format") or ""))
    if check is not None and not check(value):
        shown = json.dumps(value, ensure_ascii=False)
        found.append(_invalid(path, value, f"must be of type {schema['format']}: {shown}"))


# -- formats (kube-openapi's strfmt registry, as the apiextensions-apiserver uses it) ----------------------
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_PATTERNS = {
    "uuid": r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    "uuid3": r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    "uuid4": r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
    "uuid5": r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "hostname": rf"^(?=.{{1,255}}$){_HOST_LABEL}(\.{_HOST_LABEL})*\.?$",
    "mac": r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$",
    "hexcolor": r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$",
    "duration": r"^[-+]?(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w))+$",
}


def _matches(name: str) -> Any:
    compiled = re.compile(_PATTERNS[name], re.IGNORECASE if name.startswith("uuid") else 0)
    return lambda value: compiled.match(value) is not None


def _ip(kind: type[Any]) -> Any:
    def check(value: str) -> bool:
        try:
            kind(value)
        except ValueError:
            return False
        return True
    return check


def _cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _date_time(value: str) -> bool:
    if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$", value) is None:
        return False
    try:
        datetime.datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", value.replace(" ", "T").replace("t", "T")))
    except ValueError:
        return False
    return True


def _uri(value: str) -> bool:
    parsed = urllib.parse.urlparse(value)
    return bool(parsed.scheme) or value.startswith("/")


def _byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_FORMATS: dict[str, Any] = {
    **{name: _matches(name) for name in _PATTERNS},
    "ipv4": _ip(ipaddress.IPv4Address), "ipv6": _ip(ipaddress.IPv6Address), "cidr": _cidr,
    "date": _date, "date-time": _date_time, "datetime": _date_time, "uri": _uri, "byte": _byte,
}


def _check_number(schema: Schema, value: float, path: str, found: list[Cause]) -> None:
    factor = schema.get("multipleOf")
    if isinstance(factor, int | float) and factor and not float(value / factor).is_integer():
        found.append(_invalid(path, value, f"should be a multiple of {_go(factor)}"))
    if "maximum" in schema:
        limit = schema["maximum"]
        if value > limit or (schema.get("exclusiveMaximum") is True and value == limit):
            relation = "less than" if schema.get("exclusiveMaximum") is True else "less than or equal to"
            found.append(_invalid(path, value, f"should be {relation} {_go(limit)}"))
    if "minimum" in schema:
        limit = schema["minimum"]
        if value < limit or (schema.get("exclusiveMinimum") is True and value == limit):
            relation = "greater than" if schema.get("exclusiveMinimum") is True else "greater than or equal to"
            found.append(_invalid(path, value, f"should be {relation} {_go(limit)}"))


def _check_object(schema: Schema, value: dict[str, Any], path: str, old: dict[str, Any], found: list[Cause],
                  lists: list[Cause], rules: list[Cause]) -> None:
    for key in schema.get("required") or ():
        if key not in value:
            found.append(Cause("FieldValueRequired", _child(path, key), "Required value"))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        found.append(_too_many(path, len(value), int(schema["maxProperties"])))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        found.append(_invalid(path, len(value), f"should have at least {schema['minProperties']} properties"))
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
        if sub is not None:
            _check(sub, item, _child(path, key), old.get(key, _MISSING), found, lists, rules)


def _check_array(schema: Schema, value: list[Any], path: str, old: list[Any], found: list[Cause],
                 lists: list[Cause], rules: list[Cause]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        found.append(_too_many(path, len(value), int(schema["maxItems"])))
    if "minItems" in schema and len(value) < schema["minItems"]:
        found.append(_invalid(path, len(value), f"should have at least {schema['minItems']} items"))
    list_type = schema.get("x-kubernetes-list-type")
    keys = [str(k) for k in schema.get("x-kubernetes-list-map-keys") or ()] if list_type == "map" else []
    items = schema.get("items")
    seen: list[Any] = []
    for index, item in enumerate(value):
        at = f"{path}[{index}]"
        if isinstance(items, Mapping):
            _check(items, item, at, _correlate(list_type, keys, item, old), found, lists, rules)
        if list_type == "set":
            identity: Any = item
        elif list_type == "map" and isinstance(item, dict):
            identity = {k: item[k] for k in keys if k in item}
        else:
            continue
        if any(_equal(identity, earlier) for earlier in seen):
            lists.append(Cause("FieldValueDuplicate", at, f"Duplicate value: {_go(identity)}"))
        seen.append(identity)


def _correlate(list_type: Any, keys: list[str], item: Any, old: list[Any]) -> Any:
    """The old counterpart of a list item (ratcheting): set items by value, map items by key, else none."""
    if list_type == "set" and any(_equal(item, o) for o in old):
        return item
    if list_type == "map" and isinstance(item, dict) and keys:
        for candidate in old:
            if isinstance(candidate, dict) and all(_equal(candidate.get(k, _MISSING), item.get(k)) for k in keys):
                return candidate
    return _MISSING


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """A Go RE2 pattern as a Python one: ``$`` and ``\\z`` match only at the very end (no final newline)."""
    out: list[str] = []
    escaped = False
    class_start = -1  # where the current character class's content starts; -1: outside a class
    for char in pattern:
        if escaped:
            out.append("Z" if char == "z" and class_start < 0 else char)
            escaped = False
        elif char == "\\":
            escaped = True
            out.append(char)
        elif char == "[" and class_start < 0:
            out.append(char)
            class_start = len(out)
        elif char == "]" and class_start >= 0 and "".join(out[class_start:]) not in ("", "^"):
            class_start = -1
            out.append(char)
        else:
            out.append("\\Z" if char == "$" and class_start < 0 else char)
    try:
        return re.compile("".join(out))
    except re.error:
        return None  # not expressible in Python's re (e.g. \pN classes): not checked
