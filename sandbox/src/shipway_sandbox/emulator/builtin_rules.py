"""Validation of objects as kube-apiserver's strategies validate them on create and update (pure).

Every kind, custom objects included (``k8s.io/apimachinery/pkg/api/validation/objectmeta.go``):

* ``metadata.labels``: qualified-name keys, values of at most 63 characters (``IsValidLabelValue``);
* ``metadata.annotations``: qualified-name keys (case-insensitive), 256 KiB in all (``Too long: may not be more
  than 262144 bytes``);
* ``metadata.ownerReferences``: apiVersion, kind, name and uid set, at most one ``controller: true``;
* ``metadata.finalizers``: qualified names (for core kinds, a name without ``/`` must be a standard one:
  ``kubernetes``, ``orphan``, ``foregroundDeletion``); not both ``orphan`` and ``foregroundDeletion``; no new
  finalizer once the object is being deleted (``Forbidden: no new finalizers can be added if the object is
  being deleted, found new finalizers []string{...}``);
* ``metadata.uid`` cannot be changed by an update (``field is immutable``).

Built-in kinds (``pkg/apis/*/validation``):

* Secret: ``data`` keys are config keys, 1 MiB of data at most (``data: Too long: may not be more than 1048576
  bytes``), the keys each ``type`` requires (``kubernetes.io/dockerconfigjson``: ``data[.dockerconfigjson]``
  holding a JSON object, ``kubernetes.io/dockercfg``: ``data[.dockercfg]``, ``kubernetes.io/tls``,
  ``kubernetes.io/basic-auth``, ``kubernetes.io/ssh-auth``, ``kubernetes.io/service-account-token``); on update
  ``type`` is immutable, and an ``immutable: true`` Secret keeps its ``data`` and its ``immutable``;
* ConfigMap: config keys, no key in both ``data`` and ``binaryData``, 1 MiB in all (``[]: Too long``), the same
  ``immutable`` rule;
* Namespace: ``spec.finalizers`` names; through ``/status`` the phase is ``Active`` unless deleting, then
  ``Terminating``;
* Role and ClusterRole: every rule has verbs, and either resources with API groups or (ClusterRole only)
  non-resource URLs, never both; resourceNames apply to one resource;
* RoleBinding and ClusterRoleBinding: ``roleRef`` in ``rbac.authorization.k8s.io``, of kind Role or ClusterRole
  (ClusterRole only for a ClusterRoleBinding), with a name; subjects of kind User, Group (apiGroup
  ``rbac.authorization.k8s.io``) or ServiceAccount (apiGroup ``""``, a namespace in a ClusterRoleBinding); on
  update ``roleRef`` cannot change (``roleRef: Invalid value: rbac.RoleRef{...}: cannot change roleRef``);
* Lease: ``leaseDurationSeconds`` > 0, ``leaseTransitions`` >= 0.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import fielderrors, objects, resources
from shipway_sandbox.emulator.fielderrors import FieldError, GoValue, key_path
from shipway_sandbox.emulator.resources import ResourceSpec

RBAC = resources.RBAC
MAX_SECRET_SIZE = 1024 * 1024  # core.MaxSecretSize, for Secrets and ConfigMaps
TOTAL_ANNOTATION_SIZE = 256 * 1024
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_NOT_STANDARD = "name is neither a standard finalizer name nor is it fully qualified"
ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"

_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """``validation.RegexError``: ``msg (e.g. 'a',  or 'b', regex used for validation is 'pattern')``."""
    text = message + " (e.g. "
    for index, example in enumerate(examples):
        text += (" or " if index else "") + f"'{example}', "
    return text + f"regex used for validation is '{pattern}')"


_QUALIFIED_MESSAGE = _regex_error("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                                  "end with an alphanumeric character", "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
                                  "MyName", "my.name", "123-abc")
_LABEL_VALUE_MESSAGE = _regex_error("a valid label must be an empty string or consist of alphanumeric characters, "
                                    "'-', '_' or '.', and must start and end with an alphanumeric character",
                                    "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", "MyValue", "my_value", "12345")
_SUBDOMAIN_MESSAGE = _regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                  "characters, '-' or '.', and must start and end with an alphanumeric character",
                                  r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                                  "example.com")
_CONFIG_KEY_MESSAGE = _regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                   "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name")


# -- the string rules of k8s.io/apimachinery/pkg/util/validation ---------------------------------------------
def qualified_name_errors(value: str) -> list[str]:
    """``IsQualifiedName``."""
    found: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _QUALIFIED_MESSAGE
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            found.append("prefix part must be non-empty")
        else:
            found += ["prefix part " + m for m in subdomain_errors(prefix)]
    if not name:
        found.append("name part must be non-empty")
    elif len(name) > 63:
        found.append("name part must be no more than 63 characters")
    if not _QUALIFIED.match(name):
        found.append("name part " + _QUALIFIED_MESSAGE)
    return found


def subdomain_errors(value: str) -> list[str]:
    found = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _SUBDOMAIN.match(value):
        found.append(_SUBDOMAIN_MESSAGE)
    return found


def label_value_errors(value: str) -> list[str]:
    found = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _LABEL_VALUE.match(value):
        found.append(_LABEL_VALUE_MESSAGE)
    return found


def config_key_errors(value: str) -> list[str]:
    """``IsConfigMapKey``."""
    found = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _CONFIG_KEY.match(value):
        found.append(_CONFIG_KEY_MESSAGE)
    if value == ".":
        found.append("must not be '.'")
    elif value == "..":
        found.append("must not be '..'")
    elif value.startswith(".."):
        found.append("must not start with '..'")
    return found


# -- ObjectMeta -----------------------------------------------------------------------------------------------
def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def meta_errors(spec: ResourceSpec, body: objects.Body, old: objects.Body | None) -> list[FieldError]:
    meta = objects.meta_of(body)
    found: list[FieldError] = []
    for key, value in _mapping(meta.get("labels")).items():
        found += [fielderrors.invalid_value("metadata.labels", key, m) for m in qualified_name_errors(str(key))]
        found += [fielderrors.invalid_value("metadata.labels", value, m) for m in label_value_errors(str(value))]
    annotations = _mapping(meta.get("annotations"))
    for key in annotations:
        found += [fielderrors.invalid_value("metadata.annotations", key, m)
                  for m in qualified_name_errors(str(key).lower())]
    if sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE:
        found.append(fielderrors.too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE))
    found += _owner_reference_errors(meta.get("ownerReferences"))
    finalizers = _strings(meta.get("finalizers"))
    for finalizer in finalizers:
        found += [fielderrors.invalid_value("metadata.finalizers", finalizer, m)
                  for m in qualified_name_errors(finalizer)]
        if spec.group == "" and "/" not in finalizer and finalizer not in STANDARD_FINALIZERS \
                and not qualified_name_errors(finalizer):
            found.append(fielderrors.invalid_value("metadata.finalizers", finalizer, _NOT_STANDARD))
    if ORPHAN in finalizers and FOREGROUND in finalizers:
        found.append(fielderrors.invalid_value("metadata.finalizers", finalizers,
                                               f"finalizer {ORPHAN} and {FOREGROUND} cannot be both set"))
    if old is not None:
        old_meta = objects.meta_of(old)
        if old_meta.get("deletionTimestamp"):
            added = sorted(set(finalizers) - set(_strings(old_meta.get("finalizers"))))
            if added:
                shown = "[]string{" + ", ".join(fielderrors.go_quote(f) for f in added) + "}"
                found.append(fielderrors.forbidden("metadata.finalizers", "no new finalizers can be added if the "
                                                   f"object is being deleted, found new finalizers {shown}"))
        if meta.get("uid") and old_meta.get("uid") and meta["uid"] != old_meta["uid"]:
            found.append(fielderrors.immutable("metadata.uid", str(meta["uid"])))
    return found


def _owner_reference_errors(refs: Any) -> list[FieldError]:
    path = "metadata.ownerReferences"
    found: list[FieldError] = []
    controller = ""
    for ref in refs if isinstance(refs, list) else []:
        ref = _mapping(ref)
        api_version = str(ref.get("apiVersion") or "")
        if not api_version.rpartition("/")[2]:
            found.append(fielderrors.invalid_value(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key, what in (("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(key):
                found.append(fielderrors.invalid_value(f"{path}.{key}", str(ref.get(key) or ""),
                                                       f"{what} must not be empty"))
        if ref.get("controller") is True:
            current = f"{ref.get('kind')}/{ref.get('name')}"
            if controller:
                found.append(fielderrors.invalid_value(
                    path, GoValue("[]v1.OwnerReference{...}"), "Only one reference can have Controller set to "
                    f'true. Found "true" in references for {controller} and {current}'))
            else:
                controller = current
    return found


# -- built-in kinds -------------------------------------------------------------------------------------------
def errors_of(spec: ResourceSpec, body: objects.Body, old: objects.Body | None, *,
              subresource: str | None = None) -> list[FieldError]:
    """Every field error of ``body`` (``old``: the stored object on an update)."""
    found = meta_errors(spec, body, old)
    rule = _RULES.get((spec.group, spec.plural))
    if rule is not None:
        found += rule(body, old, subresource)
    return found


def _secret(body: objects.Body, old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    found: list[FieldError] = []
    if old is not None:
        if body.get("type") != old.get("type"):
            found.append(fielderrors.immutable("type", str(body.get("type") or "")))
        found += _immutable_data(body, old, ("data",))
    data = _mapping(body.get("data"))
    size = 0
    for key, value in data.items():
        found += [fielderrors.invalid_value(key_path("data", key), key, m) for m in config_key_errors(key)]
        size += len(_bytes(value))
    if size > MAX_SECRET_SIZE:
        found.append(fielderrors.too_long("data", MAX_SECRET_SIZE))
    found += _secret_type_errors(str(body.get("type") or ""), data, _mapping(objects.meta_of(body).get("annotations")))
    return found


def _bytes(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value or ""))
    except ValueError:
        return b""


def _secret_type_errors(kind: str, data: Mapping[str, Any], annotations: Mapping[str, Any]) -> list[FieldError]:
    if kind == "kubernetes.io/service-account-token":
        name = "kubernetes.io/service-account.name"
        return [] if annotations.get(name) else [fielderrors.required(key_path("metadata.annotations", name))]
    if kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [fielderrors.required(key_path("data", key))]
        problem = go_json_map_error(_bytes(data[key]))
        return [] if problem is None else [
            fielderrors.invalid_value(key_path("data", key), "<secret contents redacted>", problem)]
    if kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        return [fielderrors.required(key_path("data", "username")),
                fielderrors.required(key_path("data", "password"))]
    if kind == "kubernetes.io/ssh-auth" and not _bytes(data.get("ssh-privatekey")):
        return [fielderrors.required(key_path("data", "ssh-privatekey"))]
    if kind == "kubernetes.io/tls":
        return [fielderrors.required(key_path("data", k)) for k in ("tls.crt", "tls.key") if k not in data]
    return []


def go_json_map_error(raw: bytes) -> str | None:
    """What Go's ``json.Unmarshal(raw, &map[string]interface{}{})`` says, or None when it succeeds."""
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return "unexpected end of JSON input"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) or exc.msg.startswith("Unterminated"):
            return "unexpected end of JSON input"
        char = text[exc.pos]
        context = {"Expecting value": "looking for beginning of value",
                   "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
                   "Expecting ':' delimiter": "after object key",
                   "Expecting ',' delimiter": "after object key:value pair" if _in_object(text, exc.pos)
                   else "after array element",
                   "Extra data": "after top-level value"}.get(exc.msg, "looking for beginning of value")
        return f"invalid character {_go_char(char)} {context}"
    if value is None or isinstance(value, dict):
        return None
    what = "array" if isinstance(value, list) else "string" if isinstance(value, str) else \
        "bool" if isinstance(value, bool) else "number"
    return f"json: cannot unmarshal {what} into Go value of type map[string]interface {{}}"


def _in_object(text: str, position: int) -> bool:
    depth: list[str] = []
    in_string = escaped = False
    for char in text[:position]:
        if in_string:
            in_string = not (char == '"' and not escaped)
            escaped = char == "\\" and not escaped
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth.append(char)
        elif char in "]}" and depth:
            depth.pop()
    return bool(depth) and depth[-1] == "{"


def _go_char(char: str) -> str:
    """``quoteChar`` of encoding/json's syntax errors."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + (char if char.isprintable() else repr(char)[1:-1]) + "'"


def _immutable_data(body: objects.Body, old: objects.Body, fields: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    found: list[FieldError] = []
    message = "field is immutable when `immutable` is set"
    if body.get("immutable") is not True:
        found.append(fielderrors.forbidden("immutable", message))
    found += [fielderrors.forbidden(f, message) for f in fields if (body.get(f) or {}) != (old.get(f) or {})]
    return found


def _config_map(body: objects.Body, old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    found: list[FieldError] = []
    if old is not None:
        found += _immutable_data(body, old, ("data", "binaryData"))
    data, binary = _mapping(body.get("data")), _mapping(body.get("binaryData"))
    size = 0
    for key, value in data.items():
        found += [fielderrors.invalid_value(key_path("data", key), key, m) for m in config_key_errors(key)]
        if key in binary:
            found.append(fielderrors.invalid_value(key_path("data", key), key,
                                                   "duplicate of key present in binaryData"))
        size += len(str(value).encode())
    for key, value in binary.items():
        found += [fielderrors.invalid_value(key_path("binaryData", key), key, m) for m in config_key_errors(key)]
        size += len(_bytes(value))
    if size > MAX_SECRET_SIZE:
        found.append(fielderrors.too_long("[]", MAX_SECRET_SIZE))
    return found


def _namespace(body: objects.Body, old: objects.Body | None, subresource: str | None) -> list[FieldError]:
    found: list[FieldError] = []
    for index, finalizer in enumerate(_strings(_mapping(body.get("spec")).get("finalizers"))):
        path = f"spec.finalizers[{index}]"
        found += [fielderrors.invalid_value(path, finalizer, m) for m in qualified_name_errors(finalizer)]
        if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS and not qualified_name_errors(finalizer):
            found.append(fielderrors.invalid_value(path, finalizer, _NOT_STANDARD))
    if subresource == "status" and old is not None:
        phase = str(_mapping(body.get("status")).get("phase") or "")
        if not objects.is_deleting(body) and phase != "Active":
            found.append(fielderrors.invalid_value("status.Phase", phase,
                                                   "may only be 'Active' if `deletionTimestamp` is empty"))
        elif objects.is_deleting(body) and phase != "Terminating":
            found.append(fielderrors.invalid_value("status.Phase", phase,
                                                   "may only be 'Terminating' if `deletionTimestamp` is not empty"))
    return found


def _rules(body: objects.Body, *, namespaced: bool) -> list[FieldError]:
    found: list[FieldError] = []
    for index, rule in enumerate(body.get("rules") or []):
        rule = _mapping(rule)
        path = f"rules[{index}]"
        if not rule.get("verbs"):
            found.append(fielderrors.required(f"{path}.verbs", "verbs must contain at least one value"))
        urls = _strings(rule.get("nonResourceURLs"))
        if urls:
            if namespaced:
                found.append(fielderrors.invalid_value(f"{path}.nonResourceURLs", urls,
                                                       "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                found.append(fielderrors.invalid_value(
                    f"{path}.nonResourceURLs", urls, "rules cannot apply to both regular resources and non-resource "
                                                     "URLs"))
            continue
        if not rule.get("apiGroups"):
            found.append(fielderrors.required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            found.append(fielderrors.required(f"{path}.resources", "resource rules must supply at least one resource"))
        if rule.get("resourceNames") and len(_strings(rule.get("resources"))) > 1:
            found.append(fielderrors.required(f"{path}.resourceNames",
                                              "resource names cannot apply to multiple resources"))
    return found


def _role(body: objects.Body, _old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    return _rules(body, namespaced=True)


def _cluster_role(body: objects.Body, _old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    return _rules(body, namespaced=False)


def role_ref_value(ref: Mapping[str, Any]) -> GoValue:
    """How ``%#v`` prints the internal ``rbac.RoleRef``."""
    quote = fielderrors.go_quote
    return GoValue(f"rbac.RoleRef{{APIGroup:{quote(str(ref.get('apiGroup') or ''))}, "
                   f"Kind:{quote(str(ref.get('kind') or ''))}, Name:{quote(str(ref.get('name') or ''))}}}")


def _path_segment_errors(name: str) -> list[str]:
    """``path.IsValidPathSegmentName``."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    found = [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    return found


def _binding(body: objects.Body, old: objects.Body | None, *, namespaced: bool) -> list[FieldError]:
    found: list[FieldError] = []
    ref = _mapping(body.get("roleRef"))
    if ref.get("apiGroup") != RBAC:
        found.append(fielderrors.not_supported("roleRef.apiGroup", str(ref.get("apiGroup") or ""), [RBAC]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        found.append(fielderrors.not_supported("roleRef.kind", str(ref.get("kind") or ""), kinds))
    name = str(ref.get("name") or "")
    if not name:
        found.append(fielderrors.required("roleRef.name"))
    else:
        found += [fielderrors.invalid_value("roleRef.name", name, m) for m in _path_segment_errors(name)]
    for index, subject in enumerate(body.get("subjects") or []):
        found += _subject_errors(_mapping(subject), namespaced, f"subjects[{index}]")
    if old is not None:
        old_ref = _mapping(old.get("roleRef"))
        keys = ("apiGroup", "kind", "name")
        if {k: old_ref.get(k) for k in keys} != {k: ref.get(k) for k in keys}:
            found.append(fielderrors.invalid_value("roleRef", role_ref_value(ref), "cannot change roleRef"))
    return found


def _subject_errors(subject: Mapping[str, Any], namespaced: bool, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    name, kind, group = str(subject.get("name") or ""), subject.get("kind"), str(subject.get("apiGroup") or "")
    if not name:
        found.append(fielderrors.required(f"{path}.name"))
    if kind == "ServiceAccount":
        if name:
            found += [fielderrors.invalid_value(f"{path}.name", name, m) for m in subdomain_errors(name)]
        if group:
            found.append(fielderrors.not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            found.append(fielderrors.required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if not name:
            found.append(fielderrors.invalid_value(f"{path}.name", name, f"{str(kind).lower()} name cannot be empty"))
        if group != RBAC:
            found.append(fielderrors.not_supported(f"{path}.apiGroup", group, [RBAC]))
    else:
        found.append(fielderrors.not_supported(f"{path}.kind", str(kind or ""), ["ServiceAccount", "User", "Group"]))
    return found


def _role_binding(body: objects.Body, old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    return _binding(body, old, namespaced=True)


def _cluster_role_binding(body: objects.Body, old: objects.Body | None, _sub: str | None) -> list[FieldError]:
    return _binding(body, old, namespaced=False)


def _lease(body: objects.Body, _old: objects.Body | None, _subresource: str | None) -> list[FieldError]:
    spec = _mapping(body.get("spec"))
    found: list[FieldError] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        found.append(fielderrors.invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        found.append(fielderrors.invalid_value("spec.leaseTransitions", transitions,
                                               "must be greater than or equal to 0"))
    return found


_RULES = {
    ("", "secrets"): _secret, ("", "configmaps"): _config_map, ("", "namespaces"): _namespace,
    (RBAC, "roles"): _role, (RBAC, "clusterroles"): _cluster_role, (RBAC, "rolebindings"): _role_binding,
    (RBAC, "clusterrolebindings"): _cluster_role_binding, ("coordination.k8s.io", "leases"): _lease,
}
