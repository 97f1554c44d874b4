"""Server-side field validation: the ``fieldValidation`` query parameter of create, update and patch.

As kube-apiserver does it (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation, and
its integration tests, ``test/integration/apiserver/field_validation_test.go``):

* ``fieldValidation`` is ``Ignore``, ``Warn`` or ``Strict`` (missing or empty: ``Warn``, the default since
  1.27); any other value is a 422 on the request's options (``CreateOptions.meta.k8s.io "" is invalid:
  fieldValidation: Unsupported value: "x": supported values: "", "Ignore", "Strict", "Warn"``);
* a request body is decoded strictly: a field the kind does not declare is an *unknown field*
  (``unknown field "spec.regsitry"``), a key given twice in one object a *duplicate field*
  (``duplicate field "spec.paused"``; in a YAML body ``line 12: key "paused" already set in map``);
* ``Strict``: 400 BadRequest listing them all: ``Pipeline in version "v1alpha1" cannot be handled as a
  Pipeline: strict decoding error: unknown field "spec.regsitry"`` on create and update,
  ``strict decoding error: ...`` on a merge or JSON patch (checked on the patched object; a JSON patch's own
  operations are checked too: ``json patch unknown field "[0].foo"``);
* ``Warn``: the request succeeds, each of them a ``Warning`` header; ``Ignore``: silently. Either way the
  unknown fields are dropped, as decoding into the kind drops them, and the last duplicate wins.

For custom resources, the duplicates come first (in document order) and the unknown fields after them,
sorted (the pruning's order); for built-in kinds everything is in document order. Server-side apply is
different: a duplicate in its body is ``error strict decoding YAML: ...`` (400, Strict only) and an unknown
field is always refused, whatever the directive (``failed to create typed patch object (...): .spec.x:
field not declared in schema``, a 500 without a reason, as kube-apiserver answers:
kubernetes/kubernetes#122480).

The kinds checked: custom resources (their CRD's structural schema; ``metadata`` against ``ObjectMeta``) and
the built-in kinds :mod:`builtin_schemas` describes; other built-in kinds have only their ``metadata`` checked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import yaml

from shipway_sandbox.emulator import builtin_schemas, errors, objects
from shipway_sandbox.emulator.resources import ResourceSpec

IGNORE, WARN, STRICT = "Ignore", "Warn", "Strict"
SUPPORTED = ("", IGNORE, STRICT, WARN)
_OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}
_ROOT_KEPT = ("apiVersion", "kind", "metadata")
Schema = Mapping[str, Any]


def directive(verb: str, value: str | None) -> str:
    """The request's directive (``Warn`` when not given); 422 for an unsupported one."""
    if value is None or value == "":
        return WARN
    if value not in SUPPORTED:
        supported = ", ".join(json.dumps(v) for v in SUPPORTED)
        raise errors.invalid_options(_OPTIONS.get(verb, "CreateOptions"), "fieldValidation", "FieldValueNotSupported",
                                     f"Unsupported value: {json.dumps(value)}: supported values: {supported}")
    return value


# -- decoding with duplicate detection ---------------------------------------------------------------------
class _Pairs(dict[str, Any]):
    """A decoded JSON object that remembers its keys in order, duplicates included."""

    keys_in_order: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    result = _Pairs(pairs)
    result.keys_in_order = [key for key, _ in pairs]
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclasses.dataclass
class Decoded:
    """A request body and what strict decoding found in its syntax (before any schema is looked at)."""

    body: Any
    duplicates: list[str] = dataclasses.field(default_factory=list)  # paths (JSON bodies)
    yaml_errors: list[str] = dataclasses.field(default_factory=list)  # ``line N: key "x" already set in map``
    tree: Any = None  # the JSON body as decoded, with its keys' order and duplicates (for document order)


def decode_json(raw: bytes) -> Decoded:
    """A JSON body; 400 BadRequest when it is not JSON."""
    try:
        tree = json.loads(raw, object_pairs_hook=_pairs_hook) if raw else None
    except ValueError as exc:
        raise errors.BadRequest(f"error decoding the request body as JSON: {exc}") from exc
    return Decoded(body=_plain(tree), duplicates=_duplicates(tree, ""), tree=tree)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _duplicates(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key in value.keys_in_order:
            if key in seen:
                found.append(_child(path, key))
            seen.add(key)
        for key, item in value.items():
            found += _duplicates(item, _child(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _duplicates(item, f"{path}[{index}]")
    return found


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that notes keys set twice in one mapping, as go-yaml's strict mode words them."""

    duplicate_keys: list[str]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                self.duplicate_keys.append(f"line {key_node.start_mark.line + 1}: key {json.dumps(str(key))} "
                                           "already set in map")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def decode_yaml(raw: bytes) -> Decoded:
    """A YAML body (JSON is YAML too); 400 BadRequest when it is not YAML."""
    loader = _StrictLoader(raw.decode("utf-8", "replace"))
    loader.duplicate_keys = []
    try:
        body = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise errors.BadRequest(f"error decoding YAML: {exc}") from exc
    finally:
        loader.dispose()
    return Decoded(body=body, yaml_errors=list(loader.duplicate_keys))


def decode_body(raw: bytes, content_type: str | None) -> Decoded:
    """A create or update body, JSON or (``application/yaml``) YAML."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return decode_yaml(raw) if media == "application/yaml" else decode_json(raw)


# -- unknown fields ----------------------------------------------------------------------------------------
_METADATA_ONLY: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                          "properties": {"metadata": builtin_schemas.OBJECT_META_SCHEMA}}


def schema_of(spec: ResourceSpec) -> tuple[Schema, bool]:
    """The schema a kind's objects decode against, and whether it is a custom resource's (a built-in kind this
    emulator does not describe has its ``metadata`` checked only)."""
    if spec.schema is not None:
        return spec.schema, True
    described = builtin_schemas.schema_for(spec)
    return (described if described is not None else _METADATA_ONLY), False


def _sub_schema(schema: Schema | None, key: str) -> tuple[Schema | None, bool]:
    """The schema of ``key`` in an object of ``schema`` (None: anything goes), and whether ``key`` is known."""
    if schema is None:
        return None, True
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    if key in properties:
        return properties[key], True
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        return extra, True
    if extra is True or schema.get("x-kubernetes-preserve-unknown-fields") is True:
        return None, True
    if schema.get("x-kubernetes-embedded-resource") is True and key in ("apiVersion", "kind"):
        return {"type": "string"}, True
    if schema.get("x-kubernetes-embedded-resource") is True and key == "metadata":
        return builtin_schemas.OBJECT_META_SCHEMA, True
    return None, False


def _walk(schema: Schema | None, value: Any, path: str, out: list[tuple[str, str]], *, tree: Any = None) -> None:
    """Unknown fields (and, through ``tree``, duplicates) in document order, as ``("unknown"|"duplicate", path)``."""
    if isinstance(value, dict):
        order = tree.keys_in_order if isinstance(tree, _Pairs) else list(value)
        seen: set[str] = set()
        for key in order:
            sub, known = _sub_schema(schema, key)
            if key in seen:
                if known:
                    out.append(("duplicate", _child(path, key)))
                continue
            seen.add(key)
            if not known:
                out.append(("unknown", _child(path, key)))
                continue
            _walk(sub, value[key], _child(path, key), out, tree=tree.get(key) if isinstance(tree, dict) else None)
    elif isinstance(value, list) and schema is not None:
        items = schema.get("items")
        for index, item in enumerate(value):
            _walk(items if isinstance(items, Mapping) else None, item, f"{path}[{index}]", out,
                  tree=tree[index] if isinstance(tree, list) and index < len(tree) else None)


def _root_schema(schema: Schema, custom: bool) -> Schema:
    if not custom:
        return schema
    properties = dict(schema.get("properties") or {})
    properties["metadata"] = builtin_schemas.OBJECT_META_SCHEMA
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    return {**schema, "properties": properties}


def unknown_fields(spec: ResourceSpec, body: Any) -> list[str]:
    """The paths of the fields of ``body`` the kind does not declare (custom resources: sorted)."""
    if not isinstance(body, dict):
        return []
    schema, custom = schema_of(spec)
    out: list[tuple[str, str]] = []
    _walk(_root_schema(schema, custom), body, "", out)
    paths = [path for what, path in out if what == "unknown"]
    return sorted(paths) if custom else paths


def prune_unknown(spec: ResourceSpec, body: Any) -> Any:
    """``body`` without the fields its built-in kind does not declare (custom resources are pruned by their
    schema when decoded: see :func:`schemas.prune_and_default`)."""
    schema, custom = schema_of(spec)
    if custom or not isinstance(body, dict):
        return body
    return _pruned(schema, body)


def _pruned(schema: Schema | None, value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub, known = _sub_schema(schema, key)
            if known:
                out[key] = _pruned(sub, item)
        return out
    if isinstance(value, list) and schema is not None and isinstance(schema.get("items"), Mapping):
        return [_pruned(schema["items"], item) for item in value]
    return value


# -- what a request is answered ------------------------------------------------------------------------------
def problems(spec: ResourceSpec, decoded: Decoded, body: Any | None = None) -> list[str]:
    """The strict decoding errors of a body, in kube-apiserver's order and words (``body``: the object to check
    for unknown fields when it is not the decoded body itself, e.g. a patched object)."""
    target = decoded.body if body is None else body
    schema, custom = schema_of(spec)
    if not custom and body is None and isinstance(target, dict):  # a built-in kind: all in document order
        out: list[tuple[str, str]] = []
        _walk(schema, target, "", out, tree=decoded.tree)
        listed = [f"{what} field {json.dumps(path)}" for what, path in out]
    else:
        listed = [f"duplicate field {json.dumps(path)}" for path in decoded.duplicates]
        listed += [f"unknown field {json.dumps(path)}" for path in unknown_fields(spec, target)]
    if decoded.yaml_errors:
        return [*decoded.yaml_errors, *listed]
    return listed


def strict_message(decoded: Decoded, listed: list[str]) -> str:
    """``strict decoding error: ...`` (YAML duplicates first, as one ``yaml: unmarshal errors`` error)."""
    if decoded.yaml_errors:
        yaml_part = "yaml: unmarshal errors:\n  " + "\n  ".join(decoded.yaml_errors)
        rest = listed[len(decoded.yaml_errors):]
        return "strict decoding error: " + ", ".join([yaml_part, *rest])
    return "strict decoding error: " + ", ".join(listed)


def check(spec: ResourceSpec, decoded: Decoded, mode: str, warnings: list[str], *, patched: Any | None = None,
          prefix: bool = True, extra: list[str] | None = None) -> None:
    """Apply the directive: 400 on Strict, ``Warning`` headers on Warn, nothing on Ignore.

    ``prefix``: a create or update error names the kind (``Pipeline in version "v1alpha1" cannot be handled as
    a Pipeline: ...``); a patch's does not. ``extra``: errors found first (a JSON patch's own operations)."""
    listed = [*(extra or []), *problems(spec, decoded, patched)]
    if not listed or mode == IGNORE:
        return
    if mode == WARN:
        warnings.extend(listed)
        return
    message = strict_message(decoded, listed) if not extra else "strict decoding error: " + ", ".join(listed)
    if prefix:
        message = f"{spec.kind} in version {json.dumps(spec.version)} cannot be handled as a {spec.kind}: {message}"
    raise errors.BadRequest(message)


_JSON_PATCH_FIELDS = frozenset({"op", "path", "value", "from"})


def json_patch_problems(tree: Any) -> list[str]:
    """A JSON patch's own strict errors: ``json patch unknown field "[0].foo"``, ``json patch duplicate field
    "[1].path"``."""
    found: list[str] = []
    if not isinstance(tree, list):
        return found
    for index, operation in enumerate(tree):
        if not isinstance(operation, _Pairs):
            continue
        seen: set[str] = set()
        for key in operation.keys_in_order:
            if key in seen:
                found.append(f"json patch duplicate field {json.dumps(f'[{index}].{key}')}")
            elif key not in _JSON_PATCH_FIELDS:
                found.append(f"json patch unknown field {json.dumps(f'[{index}].{key}')}")
            seen.add(key)
    return found


# -- server-side apply -------------------------------------------------------------------------------------
def check_apply(spec: ResourceSpec, decoded: Decoded, mode: str, warnings: list[str], *, namespace: str | None,
                name: str) -> None:
    """An apply body: duplicates per the directive (YAML wording), unknown fields always refused."""
    if decoded.yaml_errors and mode != IGNORE:
        if mode == WARN:
            warnings.extend(decoded.yaml_errors)
        else:
            raise errors.BadRequest("error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal "
                                    "errors:\n  " + "\n  ".join(decoded.yaml_errors))
    if not isinstance(decoded.body, dict):
        return
    out: list[tuple[str, str]] = []
    _walk(_root_schema(*schema_of(spec)), decoded.body, "", out)
    unknown = ["." + path for what, path in out if what == "unknown"]
    if not unknown:
        return
    causes = [f"{path}: field not declared in schema" for path in unknown]
    text = causes[0] if len(causes) == 1 else "errors:\n  " + "\n  ".join(causes)
    where = f"{namespace or ''}/{name}"
    gvk = f"{spec.group_version}, Kind={spec.kind}" if spec.group else f"/{spec.version}, Kind={spec.kind}"
    raise errors.StatusError({"status": "Failure", "code": 500,  # no reason: StatusReasonUnknown
                              "message": f"failed to create typed patch object ({where}; {gvk}): {text}"})


def object_of(decoded: Decoded) -> objects.Body:
    if not isinstance(decoded.body, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return decoded.body
