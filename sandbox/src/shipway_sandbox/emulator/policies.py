"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1): their
defaults and their validation when written (pure; matching is :mod:`policy_matching`, evaluating
:mod:`policy_admission`).

* defaults, as the v1 API sets them: ``failurePolicy: Fail``; in ``matchConstraints`` and a binding's
  ``matchResources``: ``matchPolicy: Equivalent``, empty ``namespaceSelector``/``objectSelector``, rules'
  ``scope: "*"``;
* validation with kube-apiserver's wording (422, every cause listed): ``matchConstraints.resourceRules``
  required, rules and selectors as for webhooks; match condition names (qualified names, unique) and
  expressions; variable names (CEL identifiers); at least one validation (or audit annotation); each
  expression compiled (:mod:`cel`: a policy that does not compile is refused, as kube-apiserver refuses it);
  ``message`` without line breaks; ``reason`` one of Unauthorized, Forbidden, Invalid, RequestEntityTooLarge;
  a binding's ``policyName`` and ``validationActions`` (Deny, Warn, Audit; not both Deny and Warn);
* parameter resources (``paramKind``, ``paramRef``) are refused: the emulator does not resolve them.

Admission configuration objects (webhook configurations, policies and bindings) are never themselves
admitted by webhooks or policies (kube-apiserver's ``IsExemptAdmissionConfigurationResource``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import cel, errors, objects, resources, schemas
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.schemas import Cause
from shipway_sandbox.emulator.webhooks import (
    invalid_value,
    required_value,
    unsupported_value,
    validate_rule,
    validate_selector,
)

POLICIES, BINDINGS = "validatingadmissionpolicies", "validatingadmissionpolicybindings"
_EXEMPT = frozenset({"validatingwebhookconfigurations", "mutatingwebhookconfigurations", POLICIES, BINDINGS,
                     "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"})
REASON_CODES: Mapping[str, int] = {"Unauthorized": 401, "Forbidden": 403, "Invalid": 422,
                                   "RequestEntityTooLarge": 413}
ACTIONS = ("Audit", "Deny", "Warn")
FAILURE_POLICIES = ("Fail", "Ignore")
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_QUALIFIED_MESSAGE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end"
                      " with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for"
                      " validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_CEL_IDENTIFIER = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_NOT_SUPPORTED = "parameter resources (paramKind, paramRef) are not supported by this emulator"


def is_policy(spec: ResourceSpec) -> bool:
    return spec.group == resources.ADMISSIONREGISTRATION and spec.plural == POLICIES


def is_binding(spec: ResourceSpec) -> bool:
    return spec.group == resources.ADMISSIONREGISTRATION and spec.plural == BINDINGS


def is_exempt(spec: ResourceSpec) -> bool:
    """Admission configuration resources, which neither webhooks nor policies are asked about."""
    return spec.group == resources.ADMISSIONREGISTRATION and spec.plural in _EXEMPT


def _spec_of(body: Mapping[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


# -- defaults ------------------------------------------------------------------------------------------
def defaulted(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    result = objects.deep_copy(body)
    inner = result.get("spec")
    if not isinstance(inner, dict):
        return result
    if is_policy(spec):
        inner.setdefault("failurePolicy", "Fail")
        _default_match_resources(inner.get("matchConstraints"))
    else:
        _default_match_resources(inner.get("matchResources"))
    return result


def _default_match_resources(match: Any) -> None:
    if not isinstance(match, dict):
        return
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    match.setdefault("matchPolicy", "Equivalent")
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(key) or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


# -- validation ----------------------------------------------------------------------------------------
def validate(spec: ResourceSpec, body: objects.Body) -> None:
    """422 Invalid with every cause, as kube-apiserver validates a policy or a binding when it is written."""
    causes = _policy_causes(_spec_of(body)) if is_policy(spec) else _binding_causes(_spec_of(body))
    if causes:
        name = str(objects.meta_of(body).get("name") or "")
        raise errors.invalid(spec.kind, spec.group, name, [c.as_json() for c in causes],
                             message=schemas.message(spec.kind, spec.group, name, causes))


def _forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", path, f"Forbidden: {detail}")


def _compiled(expression: str, path: str, variables: frozenset[str] = frozenset()) -> list[Cause]:
    try:
        cel.compile_expression(expression, variables)
    except cel.CompileError as error:
        return [invalid_value(path, expression, f"compilation failed: {error}")]
    return []


def _items(value: Any) -> list[dict[str, Any]]:
    return [item if isinstance(item, dict) else {} for item in value] if isinstance(value, list) else []


def _policy_causes(spec: Mapping[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    if spec.get("paramKind") is not None:
        causes.append(_forbidden("spec.paramKind", _NOT_SUPPORTED))
    if spec.get("failurePolicy") not in FAILURE_POLICIES:
        causes.append(unsupported_value("spec.failurePolicy", spec.get("failurePolicy"), FAILURE_POLICIES))
    constraints = spec.get("matchConstraints")
    if not isinstance(constraints, dict):
        causes.append(required_value("spec.matchConstraints"))
    else:
        causes += match_resources_causes(constraints, "spec.matchConstraints")
        if not constraints.get("resourceRules"):
            causes.append(required_value("spec.matchConstraints.resourceRules"))
    causes += _match_condition_causes(_items(spec.get("matchConditions")), "spec.matchConditions")
    declared: list[str] = []
    for index, variable in enumerate(_items(spec.get("variables"))):
        path, name = f"spec.variables[{index}]", str(variable.get("name") or "")
        if not name.strip():
            causes.append(required_value(f"{path}.name", "name is not specified"))
        elif not _CEL_IDENTIFIER.match(name):
            causes.append(invalid_value(f"{path}.name", name, "name is not a valid CEL identifier"))
        expression = str(variable.get("expression") or "")
        if not expression.strip():
            causes.append(required_value(f"{path}.expression", "expression is not specified"))
        else:
            causes += _compiled(expression, f"{path}.expression", frozenset(declared))
        declared.append(name)
    validations, annotations = _items(spec.get("validations")), _items(spec.get("auditAnnotations"))
    if not validations and not annotations:
        detail = "validations or auditAnnotations must contain at least one item"
        return [*causes, required_value("spec.validations", detail), required_value("spec.auditAnnotations", detail)]
    for index, validation in enumerate(validations):
        causes += _validation_causes(validation, f"spec.validations[{index}]", frozenset(declared))
    for index, annotation in enumerate(annotations):
        path = f"spec.auditAnnotations[{index}]"
        if not annotation.get("key"):
            causes.append(required_value(f"{path}.key"))
        expression = str(annotation.get("valueExpression") or "")
        if not expression.strip():
            causes.append(required_value(f"{path}.valueExpression", "valueExpression is not specified"))
        else:
            causes += _compiled(expression, f"{path}.valueExpression", frozenset(declared))
    return causes


def _match_condition_causes(conditions: list[dict[str, Any]], path: str) -> list[Cause]:
    causes: list[Cause] = []
    if len(conditions) > 64:
        causes.append(Cause("FieldValueTooMany", path, f"Too many: {len(conditions)}: must have at most 64 items"))
    names: set[str] = set()
    for index, condition in enumerate(conditions):
        where = f"{path}[{index}]"
        expression = str(condition.get("expression") or "").strip()
        if not expression:
            causes.append(required_value(f"{where}.expression"))
        else:
            causes += _compiled(expression, f"{where}.expression")
        name = str(condition.get("name") or "")
        if not name:
            causes.append(required_value(f"{where}.name"))
        elif len(name.rpartition("/")[2]) > 63 or not _QUALIFIED_NAME.match(name):
            causes.append(invalid_value(f"{where}.name", name, _QUALIFIED_MESSAGE))
        elif name in names:
            causes.append(Cause("FieldValueDuplicate", f"{where}.name", f'Duplicate value: "{name}"'))
        names.add(name)
    return causes


def _validation_causes(validation: Mapping[str, Any], path: str, variables: frozenset[str]) -> list[Cause]:
    causes: list[Cause] = []
    expression = str(validation.get("expression") or "")
    if not expression.strip():
        causes.append(required_value(f"{path}.expression", "expression is not specified"))
    else:
        causes += _compiled(expression, f"{path}.expression", variables)
    message_expression = str(validation.get("messageExpression") or "")
    if message_expression and not message_expression.strip():
        causes.append(invalid_value(f"{path}.messageExpression", message_expression, "must be non-empty if specified"))
    elif message_expression:
        causes += _compiled(message_expression, f"{path}.messageExpression", variables)
    message = str(validation.get("message") or "")
    if message and not message.strip():
        causes.append(invalid_value(f"{path}.message", message, "message must be non-empty if specified"))
    elif "\n" in message.strip() or "\r" in message.strip():
        causes.append(invalid_value(f"{path}.message", message, "message must not contain line breaks"))
    reason = validation.get("reason")
    if reason is not None and reason not in REASON_CODES:
        causes.append(unsupported_value(f"{path}.reason", reason, sorted(REASON_CODES)))
    return causes


def match_resources_causes(match: Mapping[str, Any], path: str) -> list[Cause]:
    """``MatchResources``: its match policy, selectors and (excluded) rules with their resource names."""
    causes: list[Cause] = []
    if match.get("matchPolicy") not in ("Equivalent", "Exact"):
        causes.append(unsupported_value(f"{path}.matchPolicy", match.get("matchPolicy"), ("Equivalent", "Exact")))
    for key in ("namespaceSelector", "objectSelector"):
        causes += validate_selector(match.get(key) or {}, f"{path}.{key}")
    for key in ("resourceRules", "excludeResourceRules"):
        for index, rule in enumerate(_items(match.get(key))):
            where = f"{path}.{key}[{index}]"
            causes += validate_rule(rule, where)
            names = [str(n) for n in rule.get("resourceNames") or []]
            for position, name in enumerate(names):
                if name in names[:position]:
                    causes.append(Cause("FieldValueDuplicate", f"{where}.resourceNames[{position}]",
                                        f'Duplicate value: "{name}"'))
    return causes


def _binding_causes(spec: Mapping[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    if not spec.get("policyName"):
        causes.append(required_value("spec.policyName"))
    if spec.get("paramRef") is not None:
        causes.append(_forbidden("spec.paramRef", _NOT_SUPPORTED))
    match = spec.get("matchResources")
    if isinstance(match, dict):
        causes += match_resources_causes(match, "spec.matchResources")
    actions = spec.get("validationActions") if isinstance(spec.get("validationActions"), list) else []
    seen: list[str] = []
    for index, action in enumerate(actions or []):
        if action not in ACTIONS:
            causes.append(unsupported_value(f"spec.validationActions[{index}]", action, ACTIONS))
        if action in seen:
            causes.append(Cause("FieldValueDuplicate", f"spec.validationActions[{index}]",
                                f'Duplicate value: "{action}"'))
        seen.append(str(action))
    if "Deny" in seen and "Warn" in seen:
        causes.append(invalid_value("spec.validationActions", seen, "must not contain both Deny and Warn (repeating"
                                    " the same validation failure information in the API response and headers"
                                    " serves no purpose)"))
    if not seen:
        causes.append(required_value("spec.validationActions", "at least one validation action is required"))
    return causes
