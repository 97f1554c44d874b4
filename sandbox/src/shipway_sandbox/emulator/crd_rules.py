"""``x-kubernetes-validations`` of CRD schemas: CEL rules, compiled and run with cel-python through :mod:`cel`.

As the apiextensions-apiserver evaluates them
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules):

* a rule sits on a schema node and sees the node's value as ``self`` (at the root: ``apiVersion``, ``kind``
  and ``metadata`` with only ``name`` and ``generateName``); a rule that mentions ``oldSelf`` is a
  *transition rule*: evaluated only on an update where the node has an old value (by name in objects, by key
  in lists of type map), unless ``optionalOldSelf`` is true;
* a rule that evaluates to false is a field error at the node's path (plus the rule's ``fieldPath``) whose
  type follows ``reason`` (``FieldValueInvalid`` by default: ``Invalid value: "object": <message>``,
  ``FieldValueForbidden``: ``Forbidden: <message>``, ``FieldValueRequired``: ``Required value: <message>``,
  ``FieldValueDuplicate``: ``Duplicate value: "object"``); the message is ``messageExpression``'s result (a
  non-empty single line), else ``message``, else ``failed rule: <rule>``; the root's path is ``<nil>``;
* an evaluation error is a ``FieldValueInvalid`` naming the rule and the error;
* the rules run after the schema's own checks and are skipped when those found a wrong type or an
  unsupported enum value (``some validation rules were not checked because the object was invalid; correct
  the existing errors to complete validation``).

The CEL environment is cel-python's with the Kubernetes library subset of :mod:`cel_library`; values are plain
JSON (strings with a ``date-time`` or ``duration`` format are not converted to timestamps or durations), and
no cost budget is applied. A rule that does not compile (kube-apiserver refuses such a CRD when it is written:
:func:`compile_errors` lists them for the CRD's validation) is reported as a field error when it is evaluated.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import lark
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from shipway_sandbox.emulator import cel, cel_library

CRD_VARIABLES = frozenset({"self", "oldSelf"})
BLOCKED = ("some validation rules were not checked because the object was invalid; correct the existing errors "
           "to complete validation")
_MESSAGES = {
    "FieldValueForbidden": "Forbidden: {message}",
    "FieldValueRequired": "Required value: {message}",
    "FieldValueDuplicate": "Duplicate value: {value}",
}


class _RuleChecker(cel._Checker):
    """cel's compile-time checks with the variables of CRD rules instead of admission's."""

    def __init__(self, expression: str) -> None:
        super().__init__(expression, frozenset())
        self.uses_old_self = False

    def _name(self, token: lark.Token, bound: frozenset[str]) -> None:
        name = str(token)
        if name == "oldSelf" and name not in bound:
            self.uses_old_self = True
        if name in bound or name in CRD_VARIABLES or name in cel._TYPE_NAMES:
            return
        self._report(token, f"undeclared reference to '{name}' (in container '')")


@dataclasses.dataclass(frozen=True)
class Rule:
    program: cel.Program
    transition: bool  # mentions oldSelf


@functools.lru_cache(maxsize=1024)
def compile_rule(expression: str) -> Rule:
    """Parse and check one rule; :class:`cel.CompileError` when kube-apiserver would not compile it either."""
    environment = cel._environment()
    try:
        tree = environment.compile(expression)
    except CELParseError as error:
        raise cel.CompileError(cel._syntax_issue(expression, error)) from error
    checker = _RuleChecker(expression)
    checker.visit(tree, frozenset())
    if checker.issues:
        raise cel.CompileError("\n".join(checker.issues))
    runner = environment.program(tree, functions=dict(cel_library.FUNCTIONS))
    return Rule(cel.Program(expression=expression, runner=runner), checker.uses_old_self)


def _rule_text(rule: Mapping[str, Any]) -> str:
    return " ".join(str(rule.get("rule") or "").split())


def _go_type(schema: Mapping[str, Any]) -> str:
    return '"' + str(schema.get("type") or "object") + '"'


def field_path(path: str, relative: Any) -> str:
    """The path of a rule's error: the node's, plus its ``fieldPath`` (``.spec`` + ``.replicas``)."""
    if not isinstance(relative, str) or not relative:
        return path or "<nil>"
    if not path:
        return relative[1:] if relative.startswith(".") else relative
    return path + relative if re.match(r"[.\[]", relative) else f"{path}.{relative}"


@dataclasses.dataclass(frozen=True)
class RuleError:
    reason: str
    field: str
    message: str


def evaluate(schema: Mapping[str, Any], value: Any, old: Any, path: str, *, has_old: bool) -> list[RuleError]:
    """The errors of the node's rules for ``value`` (``old``: its old value when ``has_old``)."""
    found: list[RuleError] = []
    for rule in schema.get("x-kubernetes-validations") or ():
        if not isinstance(rule, Mapping):
            continue
        where = path or "<nil>"
        try:
            compiled = compile_rule(str(rule.get("rule") or ""))
        except cel.CompileError as error:
            found.append(RuleError("FieldValueInvalid", where, f"Invalid value: {_go_type(schema)}: "
                                   f"compilation failed: {error}"))
            continue
        if compiled.transition and not has_old and rule.get("optionalOldSelf") is not True:
            continue
        variables: dict[str, Any] = {"self": value}
        if compiled.transition:
            variables["oldSelf"] = old if has_old else None
        context = cel.context(**variables)
        result = compiled.program.run(context)
        if isinstance(result, CELEvalError):
            found.append(RuleError("FieldValueInvalid", where, f"Invalid value: {_go_type(schema)}: "
                                   f"{_rule_text(rule)}: {cel.error_text(result)}"))
            continue
        if cel.is_true(result):
            continue
        message = _message(rule, context)
        reason = str(rule.get("reason") or "FieldValueInvalid")
        template = _MESSAGES.get(reason, "Invalid value: {value}: {message}")
        if reason not in _MESSAGES:
            reason = "FieldValueInvalid"
        found.append(RuleError(reason, field_path(path, rule.get("fieldPath")),
                               template.format(value=_go_type(schema), message=message)))
    return found


def _message(rule: Mapping[str, Any], context: cel.Context) -> str:
    default = str(rule.get("message") or "").strip() or f"failed rule: {_rule_text(rule)}"
    expression = str(rule.get("messageExpression") or "").strip()
    if not expression:
        return default
    try:
        result = compile_rule(expression).program.run(context)
    except cel.CompileError:
        return default
    if isinstance(result, str) and result.strip() and "\n" not in result:
        return str(result)
    return default


def compile_errors(crd: Mapping[str, Any]) -> list[RuleError]:
    """The rules (and message expressions) of a CustomResourceDefinition's schemas that do not compile, as the
    CRD's own validation reports them (kube-apiserver refuses such a CRD with 422): for the CRD's validation to
    call."""
    found: list[RuleError] = []

    def walk(schema: Any, path: str) -> None:
        if not isinstance(schema, Mapping):
            return
        for index, rule in enumerate(schema.get("x-kubernetes-validations") or ()):
            if not isinstance(rule, Mapping):
                continue
            for key in ("rule", "messageExpression"):
                if key == "messageExpression" and not rule.get(key):
                    continue
                try:
                    compile_rule(str(rule.get(key) or ""))
                except cel.CompileError as error:
                    found.append(RuleError("FieldValueInvalid", f"{path}.x-kubernetes-validations[{index}].{key}",
                                           f"Invalid value: {json.dumps(str(rule.get(key) or ''))}: compilation "
                                           f"failed: {error}"))
        for name, sub in (schema.get("properties") or {}).items():
            walk(sub, f"{path}.properties[{name}]")
        walk(schema.get("items"), f"{path}.items")
        walk(schema.get("additionalProperties"), f"{path}.additionalProperties")

    for index, version in enumerate((crd.get("spec") or {}).get("versions") or ()):
        if isinstance(version, Mapping):
            walk((version.get("schema") or {}).get("openAPIV3Schema"),
                 f"spec.versions[{index}].schema.openAPIV3Schema")
    return found


__all__ = ["BLOCKED", "RuleError", "compile_errors", "compile_rule", "evaluate", "field_path"]
