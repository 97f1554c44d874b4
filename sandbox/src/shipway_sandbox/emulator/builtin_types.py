"""Built-in kinds decoded as kube-apiserver decodes them into their Go types, and encoded back (pure).

A built-in object is read into Go structs before anything else happens to it, and written out by
``encoding/json``; this module does both in one pass over the JSON, for the kinds the emulator serves:

* **types**: a value of the wrong JSON type is a 400 ``<Kind> in version "v1" cannot be handled as a <Kind>:
  json: cannot unmarshal <what> into Go struct field <Struct>.<path> of type <go type>`` (the message of Go's
  ``UnmarshalTypeError``); ``[]byte`` fields (a Secret's ``data``, a ConfigMap's ``binaryData``) must be
  standard base64 (``illegal base64 data at input byte N``); a Lease's ``acquireTime``/``renewTime`` are
  ``MicroTime``: RFC 3339 with exactly six fractional digits (``parsing time "..." as
  "2006-01-02T15:04:05.000000Z07:00": ...``), written back in UTC;
* **unknown fields** are dropped (what ``fieldValidation=Ignore`` does; :func:`unknown_fields` lists them for
  ``Strict``/``Warn``);
* **omitempty**: a field whose Go tag has ``omitempty`` and whose value is empty (``""``, ``0``, ``false``,
  ``[]``, ``{}`` for values; ``null`` for pointers) is not written out, e.g. ``imagePullSecrets: []`` or
  ``labels: {}``; ``null`` is no value, nor is an empty list or map (built-in kinds are stored as protobuf,
  which has no empty list); fields without ``omitempty`` are always written (a Role's ``rules`` as ``null``
  when it has none or ``[]``, ``roleRef``, a Lease's ``spec``);
* **defaults** (``pkg/apis/*/v1/defaults.go``): a Secret's ``type`` is ``Opaque``; a binding's
  ``roleRef.apiGroup`` and its User and Group subjects' ``apiGroup`` are ``rbac.authorization.k8s.io``.

``metadata`` is an ``ObjectMeta`` for every kind, custom objects included (unknown metadata fields dropped,
empty labels and annotations omitted); ``managedFields`` are kept as they are. Kinds not modelled here
(CRDs, admission configurations, Events: see their own modules) only have their metadata decoded.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import errors, objects, resources
from shipway_sandbox.emulator.resources import ResourceSpec

RBAC = resources.RBAC


@dataclasses.dataclass(frozen=True)
class Scalar:
    go: str  # the Go type as UnmarshalTypeError prints it


@dataclasses.dataclass(frozen=True)
class Opaque:
    """Kept as it is (fields this emulator does not model)."""


@dataclasses.dataclass(frozen=True)
class ListOf:
    item: Type
    go: str


@dataclasses.dataclass(frozen=True)
class MapOf:
    value: Type
    go: str


@dataclasses.dataclass(frozen=True)
class Field:
    type: Type
    omitempty: bool = True
    pointer: bool = False  # *T: omitempty drops only null, "" / 0 / false are kept


@dataclasses.dataclass(frozen=True)
class Struct:
    name: str  # the Go struct's name (UnmarshalTypeError's "Struct")
    fields: Mapping[str, Field]


Type = Scalar | Opaque | ListOf | MapOf | Struct

STRING, BOOL, INT32, INT64 = Scalar("string"), Scalar("bool"), Scalar("int32"), Scalar("int64")
BYTES, TIME, MICRO_TIME, UID = Scalar("[]uint8"), Scalar("v1.Time"), Scalar("v1.MicroTime"), Scalar("types.UID")
STRINGS = ListOf(STRING, "[]string")
STRING_MAP = MapOf(STRING, "map[string]string")
BYTES_MAP = MapOf(BYTES, "map[string][]uint8")


def _struct(type_name: str, /, **fields: Field) -> Struct:
    return Struct(type_name, fields)


def _f(kind: Type, *, omitempty: bool = True, pointer: bool = False) -> Field:
    return Field(kind, omitempty, pointer)


OWNER_REFERENCE = _struct(
    "OwnerReference", apiVersion=_f(STRING, omitempty=False), kind=_f(STRING, omitempty=False),
    name=_f(STRING, omitempty=False), uid=_f(UID, omitempty=False), controller=_f(BOOL, pointer=True),
    blockOwnerDeletion=_f(BOOL, pointer=True))
OBJECT_META = _struct(
    "ObjectMeta", name=_f(STRING), generateName=_f(STRING), namespace=_f(STRING), selfLink=_f(STRING),
    uid=_f(UID), resourceVersion=_f(STRING), generation=_f(INT64),
    creationTimestamp=_f(Opaque()), deletionTimestamp=_f(Opaque(), pointer=True),
    deletionGracePeriodSeconds=_f(INT64, pointer=True), labels=_f(STRING_MAP), annotations=_f(STRING_MAP),
    ownerReferences=_f(ListOf(OWNER_REFERENCE, "[]v1.OwnerReference")), finalizers=_f(STRINGS),
    managedFields=_f(Opaque()))
_META = {"apiVersion": _f(STRING), "kind": _f(STRING), "metadata": _f(OBJECT_META, omitempty=False)}

SECRET = _struct("Secret", **_META, immutable=_f(BOOL, pointer=True), data=_f(BYTES_MAP),
                 stringData=_f(STRING_MAP), type=_f(Scalar("v1.SecretType")))
CONFIG_MAP = _struct("ConfigMap", **_META, immutable=_f(BOOL, pointer=True), data=_f(STRING_MAP),
                     binaryData=_f(BYTES_MAP))
OBJECT_REFERENCE = _struct("ObjectReference", **{key: _f(STRING) for key in (
    "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")})
SERVICE_ACCOUNT = _struct(
    "ServiceAccount", **_META, secrets=_f(ListOf(OBJECT_REFERENCE, "[]v1.ObjectReference")),
    imagePullSecrets=_f(ListOf(_struct("LocalObjectReference", name=_f(STRING)), "[]v1.LocalObjectReference")),
    automountServiceAccountToken=_f(BOOL, pointer=True))
NAMESPACE_CONDITION = _struct("NamespaceCondition", type=_f(STRING, omitempty=False),
                              status=_f(STRING, omitempty=False), lastTransitionTime=_f(Opaque()),
                              reason=_f(STRING), message=_f(STRING))
NAMESPACE = _struct(
    "Namespace", **_META,
    spec=_f(_struct("NamespaceSpec", finalizers=_f(ListOf(Scalar("v1.FinalizerName"), "[]v1.FinalizerName"))),
            omitempty=False),
    status=_f(_struct("NamespaceStatus", phase=_f(Scalar("v1.NamespacePhase")),
                      conditions=_f(ListOf(NAMESPACE_CONDITION, "[]v1.NamespaceCondition"))), omitempty=False))
POLICY_RULE = _struct("PolicyRule", verbs=_f(STRINGS, omitempty=False), apiGroups=_f(STRINGS),
                      resources=_f(STRINGS), resourceNames=_f(STRINGS), nonResourceURLs=_f(STRINGS))
RULES = _f(ListOf(POLICY_RULE, "[]v1.PolicyRule"), omitempty=False)
LABEL_SELECTOR = _struct(
    "LabelSelector", matchLabels=_f(STRING_MAP),
    matchExpressions=_f(ListOf(_struct("LabelSelectorRequirement", key=_f(STRING, omitempty=False),
                                       operator=_f(STRING, omitempty=False), values=_f(STRINGS)),
                               "[]v1.LabelSelectorRequirement")))
ROLE = _struct("Role", **_META, rules=RULES)
CLUSTER_ROLE = _struct("ClusterRole", **_META, rules=RULES, aggregationRule=_f(
    _struct("AggregationRule", clusterRoleSelectors=_f(ListOf(LABEL_SELECTOR, "[]v1.LabelSelector"))), pointer=True))
SUBJECT = _struct("Subject", kind=_f(STRING, omitempty=False), apiGroup=_f(STRING), name=_f(STRING, omitempty=False),
                  namespace=_f(STRING))
ROLE_REF = _struct("RoleRef", apiGroup=_f(STRING, omitempty=False), kind=_f(STRING, omitempty=False),
                   name=_f(STRING, omitempty=False))
ROLE_BINDING = _struct("RoleBinding", **_META, subjects=_f(ListOf(SUBJECT, "[]v1.Subject")),
                       roleRef=_f(ROLE_REF, omitempty=False))
CLUSTER_ROLE_BINDING = dataclasses.replace(ROLE_BINDING, name="ClusterRoleBinding")
LEASE = _struct("Lease", **_META, spec=_f(_struct(
    "LeaseSpec", holderIdentity=_f(STRING, pointer=True), leaseDurationSeconds=_f(INT32, pointer=True),
    acquireTime=_f(MICRO_TIME, pointer=True), renewTime=_f(MICRO_TIME, pointer=True),
    leaseTransitions=_f(INT32, pointer=True), strategy=_f(Scalar("v1.CoordinatedLeaseStrategy"), pointer=True),
    preferredHolder=_f(STRING, pointer=True)), omitempty=False))
ANY_OBJECT = _struct("Object", metadata=_f(OBJECT_META, omitempty=False))

TYPES: Mapping[tuple[str, str], Struct] = {
    ("", "secrets"): SECRET, ("", "configmaps"): CONFIG_MAP, ("", "serviceaccounts"): SERVICE_ACCOUNT,
    ("", "namespaces"): NAMESPACE, (RBAC, "roles"): ROLE, (RBAC, "clusterroles"): CLUSTER_ROLE,
    (RBAC, "rolebindings"): ROLE_BINDING, (RBAC, "clusterrolebindings"): CLUSTER_ROLE_BINDING,
    ("coordination.k8s.io", "leases"): LEASE,
}
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_MICRO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})(Z|[+-]\d{2}:\d{2})$")
_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class DecodeError(Exception):
    """What Go's decoder says (``json: cannot unmarshal ...``, ``illegal base64 data ...``, ``parsing time ...``)."""


def type_of(spec: ResourceSpec) -> Struct | None:
    """The Go type of a built-in kind served here (None: only its metadata is decoded)."""
    return TYPES.get((spec.group, spec.plural))


def decode(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    """The object as kube-apiserver holds it after decoding and defaulting (400 BadRequest when it cannot be
    decoded); a new dict, ``body`` is not changed."""
    kind = type_of(spec)
    try:
        if kind is None:
            result = dict(body)
            if "metadata" in body:
                result["metadata"] = _decode_struct(OBJECT_META, body["metadata"], "metadata", "Object", [], None)
            return result
        decoded = _decode_struct(kind, body, "", kind.name, [], None)
    except DecodeError as exc:
        version = spec.version
        raise errors.BadRequest(f'{spec.kind} in version "{version}" cannot be handled as a {spec.kind}: {exc}'
                                ) from exc
    assert isinstance(decoded, dict)
    _default(spec, decoded)
    return decoded


def unknown_fields(spec: ResourceSpec, body: objects.Body) -> list[str]:
    """The fields of ``body`` its Go type does not have (``spec.foo``, ``subjects[0].bar``), in order; empty for
    kinds not modelled here (and for custom objects: see their schemas)."""
    kind = type_of(spec)
    found: list[str] = []
    try:
        if kind is None:
            if isinstance(body.get("metadata"), dict):
                _decode_struct(OBJECT_META, body["metadata"], "metadata", "Object", [], found)
        else:
            _decode_struct(kind, body, "", kind.name, [], found)
    except DecodeError:
        return found
    return found


# -- decoding ------------------------------------------------------------------------------------------------
def _what(value: Any) -> str:
    """UnmarshalTypeError's ``Value``: the JSON type found (numbers with their text when the target is an int)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value: Any, go: str, struct: str, stack: list[str]) -> DecodeError:
    where = ".".join(stack)
    if where:
        return DecodeError(f"json: cannot unmarshal {_what(value)} into Go struct field {struct}.{where} of type {go}")
    return DecodeError(f"json: cannot unmarshal {_what(value)} into Go value of type {go}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _decode(kind: Type, value: Any, path: str, struct: str, stack: list[str], unknown: list[str] | None) -> Any:
    if value is None or isinstance(kind, Opaque):
        return value
    if isinstance(kind, Struct):
        return _decode_struct(kind, value, path, struct, stack, unknown)
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            raise _type_error(value, kind.go, struct, stack)
        return [_decode(kind.item, item, f"{path}[{i}]", struct, stack, unknown) for i, item in enumerate(value)]
    if isinstance(kind, MapOf):
        if not isinstance(value, dict):
            raise _type_error(value, kind.go, struct, stack)
        return {str(k): _decode(kind.value, v, f"{path}[{k}]", struct, stack, unknown) for k, v in value.items()}
    return _decode_scalar(kind, value, struct, stack)


def _decode_struct(kind: Struct, value: Any, path: str, struct: str, stack: list[str],
                   unknown: list[str] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(value, f"v1.{kind.name}", struct, stack)
    result: dict[str, Any] = {}
    for key, item in value.items():
        field = kind.fields.get(key)
        if field is None:
            if unknown is not None:
                unknown.append(_join(path, key))
            continue
        decoded = _decode(field.type, item, _join(path, key), kind.name, [*stack, key], unknown)
        if not _omitted(field, decoded):
            result[key] = decoded
    for key, field in kind.fields.items():
        if key not in result and not field.omitempty:
            result[key] = _zero(field.type)
    return result


def _zero(kind: Type) -> Any:
    if isinstance(kind, Struct):
        return {key: _zero(f.type) for key, f in kind.fields.items() if not f.omitempty}
    if isinstance(kind, Scalar):
        return {"bool": False, "int32": 0, "int64": 0}.get(kind.go, "")
    return None


def _omitted(field: Field, value: Any) -> bool:
    if value is None or (value in ([], {}) and isinstance(field.type, ListOf | MapOf)):
        return True  # null is no value, nor is an empty list or map once stored (etcd's protobuf has no empty
        # slice): a field without omitempty gets its zero value written instead (null)
    if not field.omitempty:
        return False
    if field.pointer:
        return False
    return value in ("", 0, False, [], {}) and not isinstance(field.type, Struct)


def _decode_scalar(kind: Scalar, value: Any, struct: str, stack: list[str]) -> Any:
    go = kind.go
    if go in ("int32", "int64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(value, go, struct, stack)
        low, high = _INT_RANGE[go]
        if isinstance(value, float) or not low <= value <= high:
            where = ".".join(stack)
            raise DecodeError(f"json: cannot unmarshal number {json.dumps(value)} into Go struct field "
                              f"{struct}.{where} of type {go}")
        return value
    if go == "bool":
        if not isinstance(value, bool):
            raise _type_error(value, go, struct, stack)
        return value
    if not isinstance(value, str):
        raise _type_error(value, go, struct, stack)
    if kind is BYTES:
        _check_base64(value)
    elif kind is MICRO_TIME:
        return micro_time(value)
    return value


def _check_base64(text: str) -> None:
    """``base64.StdEncoding`` as ``encoding/json`` decodes ``[]byte``: padding required, ``\\r\\n`` skipped."""
    stripped = text.replace("\r", "").replace("\n", "")
    for index, char in enumerate(stripped):
        if not (char.isascii() and (char.isalnum() or char in "+/=")):
            raise DecodeError(f"illegal base64 data at input byte {index}")
    if _BASE64.match(stripped) and len(stripped) % 4 == 0:
        try:
            base64.b64decode(stripped, validate=True)
            return
        except ValueError:
            pass
    padding = stripped.find("=")
    position = padding if 0 <= padding < len(stripped) - len(stripped) % 4 else len(stripped) - len(stripped) % 4
    raise DecodeError(f"illegal base64 data at input byte {position}")


def micro_time(text: str) -> str:
    """A ``metav1.MicroTime`` read (``time.Parse(RFC3339Micro)``) and written back in UTC."""
    match = _MICRO.match(text)
    if match is None:
        raise DecodeError(f'parsing time "{text}" as "{MICRO_LAYOUT}": cannot parse "{_unparsed(text)}" as '
                          f'"{_layout_part(text)}"')
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unparsed(text: str) -> str:
    """The rest of ``text`` from where Go's time.Parse gave up on the micro-time layout (approximate)."""
    head = re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", text)
    if head is None:
        return text
    rest = text[head.end():]
    return rest if rest else '"'


def _layout_part(text: str) -> str:
    head = re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", text)
    return "2006" if head is None else ".000000"


# -- defaults -----------------------------------------------------------------------------------------------
def _default(spec: ResourceSpec, body: objects.Body) -> None:
    if spec.key == resources.SECRETS.key and not body.get("type"):
        body["type"] = "Opaque"
    if spec.group == RBAC and spec.plural in ("rolebindings", "clusterrolebindings"):
        ref = body.get("roleRef")
        if isinstance(ref, dict) and not ref.get("apiGroup"):
            ref["apiGroup"] = RBAC
        for subject in body.get("subjects") or []:
            if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = RBAC
