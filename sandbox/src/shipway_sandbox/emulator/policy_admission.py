"""ValidatingAdmissionPolicies evaluated for a write, as kube-apiserver's ValidatingAdmissionPolicy plugin does.

For every write that reaches validating admission (by any user, dry runs included: policies have no side
effects), before the webhooks are called (kube-apiserver's plugin order), every stored policy is considered,
by name, with its bindings (``spec.policyName``), by name; a policy without a binding does nothing:

* the policy applies when its ``matchConstraints`` match (:mod:`policy_matching`), and a binding when its own
  ``matchResources`` (if any) match too; then, with the variables ``object``, ``oldObject`` (null on CREATE,
  ``object`` null on DELETE), ``request`` (kind, resource, subResource, requestKind, requestResource, name,
  namespace, operation, userInfo, dryRun, options: the AdmissionRequest without uid and objects; empty
  fields absent, as in kube-apiserver), ``params`` (null), ``namespaceObject`` (the namespace of a
  namespaced object, null otherwise) and ``variables`` (``spec.variables`` in order; a failed one is an error
  only where it is used):
* ``matchConditions``: any false skips the policy; an error (no false) follows ``failurePolicy`` (Fail:
  the request is denied with the errors, Ignore: the policy is skipped);
* each of ``validations``: true admits; false denies with ``messageExpression`` (a non-empty one-line
  string), else ``message``, else ``failed expression: EXPR``, and ``reason`` (default Invalid); an error
  denies (reason Invalid) under ``failurePolicy: Fail`` and is ignored under Ignore;
* a denial is acted on by the binding's ``validationActions``: Deny refuses the request, Warn adds a
  ``Warning`` header (``Validation failed for ValidatingAdmissionPolicy 'P' with binding 'B': MESSAGE``),
  Audit is ignored (the emulator keeps no audit log).

The first Deny refuses the request with kube-apiserver's Status (see the dispatcher of
``k8s.io/apiserver/pkg/admission/plugin/policy/validating``): ``admission.NewForbidden`` worded
``RESOURCE "NAME" is forbidden: ValidatingAdmissionPolicy 'P' with binding 'B' denied request: MESSAGE``,
its reason and code replaced by the decision's (Unauthorized 401, Forbidden 403, Invalid 422,
RequestEntityTooLarge 413), the same text as the one cause.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from celpy.evaluation import CELEvalError

from shipway_sandbox.emulator import admission, cel, cel_parts, errors, objects, policies, policy_matching, resources
from shipway_sandbox.emulator.admission import Attributes
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore

_NAMESPACE_META = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "finalizers")


@dataclasses.dataclass(frozen=True)
class Decision:
    """A validation that did not admit: its message and reason ("" for an error: answered as Invalid)."""

    message: str
    reason: str = ""


class ValidatingAdmissionPolicies:
    """The ValidatingAdmissionPolicy plugin over the policies and bindings of a store."""

    def __init__(self, store: ObjectStore, catalogue: Catalogue) -> None:
        self._store = store
        self._catalogue = catalogue

    def validate(self, attributes: Attributes, warnings: list[str]) -> None:
        """Evaluate the bound, matching policies; raise the first denial (after adding the warnings)."""
        if policies.is_exempt(attributes.spec):
            return
        bindings: dict[str, list[objects.Body]] = {}
        for binding in self._store.scan(resources.VALIDATING_ADMISSION_POLICY_BINDINGS):
            bindings.setdefault(str(_spec(binding).get("policyName") or ""), []).append(binding)
        denied: errors.StatusError | None = None
        for policy in self._store.scan(resources.VALIDATING_ADMISSION_POLICIES):
            name = str(objects.meta_of(policy).get("name"))
            bound = bindings.get(name)
            if not bound:
                continue
            matched = policy_matching.matched_spec(_spec(policy).get("matchConstraints") or {}, attributes,
                                                   self._store, self._catalogue)
            if matched is None:
                continue
            decisions: list[Decision] | None = None
            for binding in bound:
                narrowed = _spec(binding).get("matchResources")
                if isinstance(narrowed, dict) and policy_matching.matched_spec(
                        narrowed, attributes, self._store, self._catalogue) is None:
                    continue
                if decisions is None:
                    decisions = evaluate(_spec(policy), self._context(attributes, matched))
                binding_name = str(objects.meta_of(binding).get("name"))
                actions = _spec(binding).get("validationActions") or []
                for decision in decisions:
                    if "Warn" in actions:
                        warnings.append(f"Validation failed for ValidatingAdmissionPolicy '{name}' with binding"
                                        f" '{binding_name}': {decision.message}")
                    if "Deny" in actions and denied is None:
                        denied = denial(attributes, name, binding_name, decision)
        if denied is not None:
            raise denied

    def _context(self, attributes: Attributes, matched: ResourceSpec) -> cel_parts.Bindings:
        request = admission.review(attributes, matched, "")["request"]
        body, old = request.pop("object"), request.pop("oldObject")
        del request["uid"]
        return cel_parts.Bindings(object=body, oldObject=old, request=request, params=None,
                                 namespaceObject=self._namespace_object(attributes))

    def _namespace_object(self, attributes: Attributes) -> objects.Body | None:
        """``CreateNamespaceObject``: the namespace of a namespaced object (metadata, spec, status only)."""
        if not attributes.namespace or attributes.spec.key == resources.NAMESPACES.key:
            return None
        namespace = self._store.get(resources.NAMESPACES, None, attributes.namespace)
        if namespace is None:
            raise errors.not_found("namespaces", attributes.namespace)
        meta = objects.meta_of(namespace)
        return {"metadata": {k: meta[k] for k in _NAMESPACE_META if k in meta},
                "spec": namespace.get("spec") or {}, "status": namespace.get("status") or {}}


def _spec(body: Mapping[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _run(expression: str, context: cel_parts.Bindings, variables: frozenset[str]) -> Any:
    """The value of an expression, or its error (:class:`_Failure`) as kube-apiserver words it."""
    try:
        program = cel.compile_expression(expression, variables)
    except cel.CompileError as error:
        return _Failure(f"compilation error: compilation failed: {error}")
    if program.unsupported:
        return _Failure(f"compilation error: compilation failed: {program.unsupported}")
    result = cel_parts.run(program, context)
    if isinstance(result, CELEvalError):
        return _Failure(f"expression '{expression}' resulted in error: {cel.error_text(result)}")
    return result


@dataclasses.dataclass(frozen=True)
class _Failure:
    text: str


def _variable(variable: Mapping[str, Any], context: cel_parts.Bindings, earlier: frozenset[str]) -> Any:
    """A variable's value, or its error as a value: the error of an expression that uses it (``variableAccessor``)."""
    name = str(variable.get("name"))
    try:
        program = cel.compile_expression(str(variable.get("expression") or ""), earlier)
        problem = program.unsupported
    except cel.CompileError as error:
        problem = str(error)
    if problem:
        return CELEvalError(f'composited variable "{name}" fails to compile: {problem}', ValueError, ())
    return program.run(context.context())


def evaluate(spec: Mapping[str, Any], context: cel_parts.Bindings) -> list[Decision]:
    """The decisions of one policy (``validating.validator.Validate``): empty when it admits."""
    fail = spec.get("failurePolicy", "Fail") != "Ignore"
    values: dict[str, Any] = {}
    for variable in _items(spec.get("variables")):
        context.variables = cel.variables_map(values)
        values[str(variable.get("name"))] = _variable(variable, context, frozenset(values))
    context.variables = cel.variables_map(values)
    declared = frozenset(values)
    failures: list[str] = []
    for condition in _items(spec.get("matchConditions")):
        result = _run(str(condition.get("expression") or ""), context, declared)
        if isinstance(result, _Failure):
            failures.append(result.text)
        elif cel.is_false(result):
            return []
    if failures:  # utilerrors.NewAggregate's wording
        return [Decision(failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]")] if fail else []
    decisions: list[Decision] = []
    for validation in _items(spec.get("validations")):
        expression = str(validation.get("expression") or "")
        result = _run(expression, context, declared)
        if isinstance(result, _Failure):
            if fail:
                decisions.append(Decision(result.text))
        elif not cel.is_true(result):
            decisions.append(Decision(_message(validation, context, declared),
                                      str(validation.get("reason") or "Invalid")))
    return decisions


def _message(validation: Mapping[str, Any], context: cel_parts.Bindings, declared: frozenset[str]) -> str:
    """``messageExpression`` when it gives a non-empty one-line string, else ``message``, else the expression."""
    message = ""
    if str(validation.get("messageExpression") or "").strip():
        result = _run(str(validation["messageExpression"]), context, declared)
        if isinstance(result, str):
            message = result.strip()
            if "\n" in message or len(message) > 5000:  # MaxEvaluatedMessageExpressionSizeBytes
                message = ""
    if not message:
        message = str(validation.get("message") or "").strip()
    return message or f"failed expression: {str(validation.get('expression') or '').strip()}"


def denial(attributes: Attributes, policy: str, binding: str, decision: Decision) -> errors.StatusError:
    """The Status of a Deny: ``admission.NewForbidden`` with the decision's reason and code (see above)."""
    text = f"ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {decision.message}"
    meta = objects.meta_of(attributes.object or {})
    name = attributes.name or str(meta.get("name") or meta.get("generateName") or "Unknown")
    spec = attributes.spec
    reason = decision.reason or "Invalid"
    details = errors.details(spec.plural, name, spec.group)
    details["causes"] = [{"message": text}]
    return errors.StatusError({"status": "Failure", "message": f'{spec.qualified} "{name}" is forbidden: {text}',
                               "reason": reason, "code": policies.REASON_CODES.get(reason, 422),
                               "details": details})
