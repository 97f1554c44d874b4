"""Webhook configurations (admissionregistration.k8s.io/v1): their defaults, their validation, and which
requests their rules and selectors match (pure; calling them is :mod:`admission`).

* defaults, as the v1 API sets them: ``failurePolicy: Fail``, ``matchPolicy: Equivalent``, empty
  ``namespaceSelector``/``objectSelector``, ``timeoutSeconds: 10``, ``rules[].scope: "*"``, service port 443
  (and ``reinvocationPolicy: Never`` on mutating webhooks);
* validation with kube-apiserver's wording (422): fully qualified, unique webhook names; ``sideEffects``
  required, and ``None``/``NoneOnDryRun`` only (unless the stored object already had others, as the v1 API
  ratchets); ``timeoutSeconds`` 1..30; exactly one of ``clientConfig.url`` (https, no query, fragment or user)
  and ``clientConfig.service``; ``admissionReviewVersions`` including ``v1`` (the only version this emulator
  sends); rules; label selectors. ``matchConditions`` (CEL) are refused: the emulator does not evaluate them;
* matching, as ``rules.Matcher`` and the namespace and object matchers of the webhook dispatcher.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from shipway_sandbox.emulator import errors, objects, resources, schemas
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.schemas import Cause

ADMISSIONREGISTRATION = resources.ADMISSIONREGISTRATION
_VALIDATING, _MUTATING = "validatingwebhookconfigurations", "mutatingwebhookconfigurations"
_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_SCOPES = ("*", "Cluster", "Namespaced")
_SIDE_EFFECTS = ("None", "NoneOnDryRun", "Some", "Unknown")
NO_SIDE_EFFECTS = ("None", "NoneOnDryRun")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_MESSAGE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
                      " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
                      " for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_URL_FORM = "; desired format: https://host[/path]"


def is_configuration(spec: ResourceSpec) -> bool:
    return spec.group == ADMISSIONREGISTRATION and spec.plural in (_VALIDATING, _MUTATING)


def is_validating(spec: ResourceSpec) -> bool:
    return spec.group == ADMISSIONREGISTRATION and spec.plural == _VALIDATING


# -- defaults ------------------------------------------------------------------------------------------
def defaulted(body: objects.Body) -> objects.Body:
    result = objects.deep_copy(body)
    mutating = result.get("kind") == "MutatingWebhookConfiguration"
    for hook in result.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        hook.setdefault("namespaceSelector", {})
        hook.setdefault("objectSelector", {})
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)
    return result


# -- validation ----------------------------------------------------------------------------------------
def _quoted(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def _go_value(value: Any) -> str:
    if isinstance(value, list):
        return "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"
    return _quoted(value)


def invalid_value(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {_go_value(value)}: {detail}")


def required_value(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def unsupported_value(path: str, value: Any, supported: Sequence[str]) -> Cause:
    listed = ", ".join(json.dumps(s) for s in supported)
    return Cause("FieldValueNotSupported", path, f"Unsupported value: {_quoted(value)}: supported values: {listed}")


def validate_configuration(spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> None:
    hooks = body.get("webhooks") or []
    if not isinstance(hooks, list):
        hooks = []
    require_no_side_effects = old is None or all(
        isinstance(h, dict) and h.get("sideEffects") in NO_SIDE_EFFECTS for h in old.get("webhooks") or [])
    causes: list[Cause] = []
    names: set[str] = set()
    for index, hook in enumerate(hooks):
        path = f"webhooks[{index}]"
        if not isinstance(hook, dict):
            causes.append(invalid_value(path, hook, "must be an object"))
            continue
        causes += _validate_hook(hook, path, require_no_side_effects=require_no_side_effects)
        name = str(hook.get("name") or "")
        if name and name in names:
            causes.append(Cause("FieldValueDuplicate", f"{path}.name", f"Duplicate value: {_quoted(name)}"))
        names.add(name)
    if causes:
        name = str(objects.meta_of(body).get("name") or "")
        raise errors.invalid(spec.kind, spec.group, name, [c.as_json() for c in causes],
                             message=schemas.message(spec.kind, spec.group, name, causes))


def _validate_hook(hook: Mapping[str, Any], path: str, *, require_no_side_effects: bool) -> list[Cause]:
    causes = _validate_name(str(hook.get("name") or ""), f"{path}.name")
    for index, rule in enumerate(hook.get("rules") or []):
        causes += validate_rule(rule if isinstance(rule, dict) else {}, f"{path}.rules[{index}]")
    for key, supported in (("failurePolicy", ("Fail", "Ignore")), ("matchPolicy", ("Equivalent", "Exact"))):
        if hook.get(key) not in supported:
            causes.append(unsupported_value(f"{path}.{key}", hook.get(key), supported))
    for key in ("namespaceSelector", "objectSelector"):
        causes += validate_selector(hook.get(key) or {}, f"{path}.{key}")
    side_effects = hook.get("sideEffects")
    if side_effects is None:
        causes.append(required_value(f"{path}.sideEffects", f"must specify one of {', '.join(NO_SIDE_EFFECTS)}"))
    elif side_effects not in _SIDE_EFFECTS:
        causes.append(unsupported_value(f"{path}.sideEffects", side_effects, _SIDE_EFFECTS))
    elif require_no_side_effects and side_effects not in NO_SIDE_EFFECTS:
        causes.append(unsupported_value(f"{path}.sideEffects", side_effects, NO_SIDE_EFFECTS))
    timeout = hook.get("timeoutSeconds")
    if not isinstance(timeout, int) or not 1 <= timeout <= 30:
        causes.append(invalid_value(f"{path}.timeoutSeconds", timeout,
                                    "the timeout value must be between 1 and 30 seconds"))
    causes += _validate_client_config(hook.get("clientConfig") or {}, f"{path}.clientConfig")
    causes += _validate_review_versions(hook.get("admissionReviewVersions") or [], f"{path}.admissionReviewVersions")
    if hook.get("matchConditions"):
        causes.append(Cause("FieldValueForbidden", f"{path}.matchConditions", "Forbidden: matchConditions (CEL) are"
                            " not supported by this emulator: remove them or test against a real cluster"))
    return causes


def _validate_name(name: str, path: str) -> list[Cause]:
    if not name:
        return [required_value(path)]
    name = name.removesuffix(".")
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return [invalid_value(path, name, _SUBDOMAIN_MESSAGE)]
    if len(name.split(".")) < 3:
        return [invalid_value(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def validate_rule(rule: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    operations = [str(o) for o in rule.get("operations") or []]
    if not operations:
        causes.append(required_value(f"{path}.operations"))
    if len(operations) > 1 and "*" in operations:
        causes.append(invalid_value(f"{path}.operations", operations,
                               "if '*' is present, must not specify other operations"))
    for index, operation in enumerate(operations):
        if operation not in _OPERATIONS:
            causes.append(unsupported_value(f"{path}.operations[{index}]", operation, _OPERATIONS))
    for key, noun in (("apiGroups", "API groups"), ("apiVersions", "API versions")):
        values = [str(v) for v in rule.get(key) or []]
        if not values:
            causes.append(required_value(f"{path}.{key}"))
        if len(values) > 1 and "*" in values:
            causes.append(invalid_value(f"{path}.{key}", values, f"if '*' is present, must not specify other {noun}"))
    listed = [str(r) for r in rule.get("resources") or []]
    if not listed or any(not r for r in listed):
        causes.append(required_value(f"{path}.resources"))
    if len(listed) > 1 and "*/*" in listed:
        causes.append(invalid_value(f"{path}.resources", listed,
                                    "if '*/*' is present, must not specify other resources"))
    if "*" in listed and any("/" not in r and r != "*" for r in listed):
        causes.append(invalid_value(f"{path}.resources", listed,
                               "if '*' is present, must not specify other resources without subresources"))
    if rule.get("scope") not in _SCOPES:
        causes.append(unsupported_value(f"{path}.scope", rule.get("scope"), _SCOPES))
    return causes


def validate_selector(selector: Any, path: str) -> list[Cause]:
    if not isinstance(selector, dict):
        return [invalid_value(path, selector, "must be a label selector")]
    causes: list[Cause] = []
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        operator = expression.get("operator") if isinstance(expression, dict) else None
        where = f"{path}.matchExpressions[{index}]"
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(invalid_value(f"{where}.operator", operator, "not a valid selector operator"))
        elif operator in ("In", "NotIn") and not expression.get("values"):
            causes.append(required_value(f"{where}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist") and expression.get("values"):
            causes.append(Cause("FieldValueForbidden", f"{where}.values",
                                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    return causes


def _validate_client_config(config: Mapping[str, Any], path: str) -> list[Cause]:
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        return [required_value(path, "exactly one of url or service is required")]
    if service is not None:
        if not isinstance(service, dict) or not service.get("name") or not service.get("namespace"):
            return [required_value(f"{path}.service", "service name and namespace are required")]
        return []
    parsed = urllib.parse.urlsplit(str(url))
    causes: list[Cause] = []
    if parsed.scheme != "https":
        causes.append(invalid_value(f"{path}.url", parsed.scheme, "'https' is the only allowed URL scheme" + _URL_FORM))
    if not parsed.hostname:
        causes.append(invalid_value(f"{path}.url", "", "host must be specified" + _URL_FORM))
    if parsed.username is not None:
        causes.append(invalid_value(f"{path}.url", parsed.username, "user information is not permitted in the URL"))
    if parsed.fragment:
        causes.append(invalid_value(f"{path}.url", parsed.fragment, "fragments are not permitted in the URL"))
    if parsed.query:
        causes.append(invalid_value(f"{path}.url", parsed.query, "query parameters are not permitted in the URL"))
    return causes


def _validate_review_versions(versions: Sequence[Any], path: str) -> list[Cause]:
    if not versions:
        return [required_value(path, "must specify one of v1, v1beta1")]
    listed = [str(v) for v in versions]
    if not {"v1", "v1beta1"} & set(listed):
        return [invalid_value(path, listed, "must include at least one of v1, v1beta1")]
    if "v1" not in listed:
        return [invalid_value(path, listed, "this emulator sends admission.k8s.io/v1 reviews only: include v1")]
    return []


# -- matching ------------------------------------------------------------------------------------------
def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector; an empty (or absent) selector matches everything."""
    selector = selector or {}
    if any(labels.get(str(k)) != str(v) for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = str(expression.get("key")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def rule_matches(rule: Mapping[str, Any], *, operation: str, group: str, version: str, resource: str,
                 subresource: str | None, namespace: str | None) -> bool:
    """``rules.Matcher``: operation, group, version, ``resource[/subresource]`` (``*`` is one part), scope."""
    if not any(op in ("*", operation) for op in rule.get("operations") or []):
        return False
    if not any(g in ("*", group) for g in rule.get("apiGroups") or []):
        return False
    if not any(v in ("*", version) for v in rule.get("apiVersions") or []):
        return False
    if not any(_resource_matches(str(r), resource, subresource or "") for r in rule.get("resources") or []):
        return False
    scope = rule.get("scope") or "*"
    is_namespace = group == "" and resource == "namespaces"
    if scope == "Namespaced":
        return not is_namespace and bool(namespace)
    if scope == "Cluster":
        return is_namespace or not namespace
    return scope == "*"


def _resource_matches(listed: str, resource: str, subresource: str) -> bool:
    wanted, _, wanted_sub = listed.partition("/")
    return wanted in ("*", resource) and wanted_sub in ("*", subresource)
