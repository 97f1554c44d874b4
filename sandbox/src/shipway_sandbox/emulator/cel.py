"""CEL expressions of admission policies: compiled with cel-python (``celpy``), checked, evaluated.

kube-apiserver compiles (parses and type-checks) every expression of a ValidatingAdmissionPolicy when the
policy is written, and refuses it (422) when that fails; this module does the same with what cel-python
offers, which parses but does not type-check. What is checked before anything runs:

* the syntax (cel-python's grammar: CEL without the optional syntax ``.?field``/``[?key]``, which is refused
  with a message saying so, although a 1.29+ kube-apiserver accepts it);
* every identifier is a declared variable (``object``, ``oldObject``, ``request``, ``params``,
  ``namespaceObject``, ``variables``) or a variable bound by a macro (``all``, ``exists``, ``exists_one``,
  ``map``, ``filter``); ``variables.NAME`` names a variable declared before; every function or method is
  one of CEL's standard functions or of the Kubernetes library subset of :mod:`cel_library`.

``authorizer`` (and ``authorizer.requestResource``) is declared by kube-apiserver but not provided here: an
expression using it compiles (a real server would accept the policy) but carries :attr:`Program.unsupported`,
which admission treats as a compilation error (so it follows the policy's ``failurePolicy``).

Errors are worded as cel-go words them (``ERROR: <input>:1:5: Syntax error: ...``, ``undeclared reference to
'x' (in container '')``, ``no such key: x``) where cel-python's own wording differs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions

from shipway_sandbox.emulator import cel_library, cel_parts

ROOT_VARIABLES = frozenset({"object", "oldObject", "request", "params", "namespaceObject", "variables"})
UNSUPPORTED_VARIABLES = frozenset({"authorizer"})
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TYPE_NAMES = frozenset({"bool", "bytes", "double", "int", "uint", "list", "map", "null_type", "string", "type",
                         "timestamp", "duration"})
_SPECIAL = frozenset({"has", "dyn", "min"})  # handled by cel-python's evaluator itself

Context = dict[str, Any]


class CompileError(Exception):
    """An expression that does not compile; the message is cel-go's issue text (``ERROR: <input>:L:C: ...``)."""


class EvaluationError(Exception):
    """An expression whose evaluation failed; the message is the error's text (``no such key: x``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Program:
    """A compiled expression, to evaluate against any number of contexts."""

    expression: str
    runner: celpy.Runner = dataclasses.field(repr=False)
    unsupported: str | None = None  # a compilation error the emulator (not CEL) has: the authorizer variable
    parts: cel_parts.Part | None = dataclasses.field(default=None, compare=False, repr=False)  # see cel_parts

    def run(self, context: Mapping[str, Any]) -> Any:
        """The result, or the CEL error as a value (an error stays a value in ``variables``, as in cel-go)."""
        try:
            return self.runner.evaluate(dict(context))
        except CELEvalError as error:
            return error
        except Exception as error:  # a failure of cel-python itself on this input: still an evaluation error
            return CELEvalError(f"internal error: {error!r}", type(error), ())

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The result; :class:`EvaluationError` when the evaluation failed."""
        result = self.run(context)
        if isinstance(result, CELEvalError):
            raise EvaluationError(error_text(result))
        return result


def context(**values: Any) -> Context:
    """An activation from JSON values (``None`` is CEL's ``null``); values already CEL pass through."""
    return {name: value if _is_cel(value) else json_to_cel(value) for name, value in values.items()}


def _is_cel(value: Any) -> bool:
    return isinstance(value, celtypes.MapType | celtypes.ListType | CELEvalError)


def variables_map(values: Mapping[str, Any]) -> celtypes.MapType:
    """The ``variables`` of a policy: name to value, or to the error its evaluation gave."""
    return celtypes.MapType({celtypes.StringType(name): value for name, value in values.items()})


def is_true(value: Any) -> bool:
    return isinstance(value, celtypes.BoolType) and bool(value)


def is_false(value: Any) -> bool:
    return isinstance(value, celtypes.BoolType) and not bool(value)


def error_text(error: CELEvalError) -> str:
    """cel-go's wording for the common errors, cel-python's otherwise (without its dump of the activation)."""
    text = str(error.args[0]) if error.args else "evaluation failed"
    cause = error.args[1] if len(error.args) > 1 else None
    details = error.args[2] if len(error.args) > 2 and isinstance(error.args[2], tuple) else ()
    if text.startswith("no such member in mapping:"):
        return "no such key: " + text.partition(":")[2].strip().strip("'")
    if text == "no such key" and details:
        return f"no such key: {details[0]}"
    if cause is IndexError:
        return "index out of range"
    if "NoneType" in text and "field selection" in text:
        return "null does not support field selection"
    if text.startswith("undeclared reference"):
        return text.split(" (in activation", 1)[0]
    if text == "no such overload" or text.startswith("found no matching overload"):
        return "no such overload"
    return text


# -- compiling --------------------------------------------------------------------------------------------
@functools.cache
def _environment() -> celpy.Environment:
    return celpy.Environment()  # note: cel-python raises the recursion limit to 2500 here, as it needs


def known_functions() -> frozenset[str]:
    return frozenset(base_functions) | frozenset(cel_library.FUNCTIONS) | _SPECIAL


@functools.lru_cache(maxsize=1024)
def compile_expression(expression: str, variables: frozenset[str] = frozenset()) -> Program:
    """Parse and check ``expression``; ``variables`` are the names ``variables.NAME`` may use.

    Raises :class:`CompileError` for what kube-apiserver would refuse too (and for syntax cel-python lacks).
    """
    environment = _environment()
    try:
        tree = environment.compile(expression)
    except CELParseError as error:
        raise CompileError(_syntax_issue(expression, error)) from error
    checker = _Checker(expression, variables)
    checker.visit(tree, frozenset())
    if checker.issues:
        raise CompileError("\n".join(checker.issues))
    runner = environment.program(tree, functions=dict(cel_library.FUNCTIONS))
    unsupported = "\n".join(checker.unsupported) if checker.unsupported else None
    parts = cel_parts.parts_of(
        tree, lambda part: environment.program(part, functions=dict(cel_library.FUNCTIONS)).evaluate)
    return Program(expression=expression, runner=runner, unsupported=unsupported, parts=parts)


def _issue(expression: str, line: int | None, column: int | None, text: str) -> str:
    """One issue as cel-go prints it: position, text, the source line and a caret under the column."""
    line, column = line or 1, column or 1
    lines = expression.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    return f"ERROR: <input>:{line}:{column}: {text}\n | {source}\n | {'.' * (column - 1)}^"


def _syntax_issue(expression: str, error: CELParseError) -> str:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, lark.exceptions.UnexpectedToken):
        token = cause.token
        if token.type == "$END":
            detail = "unexpected end of input"
        elif token.value == "?":
            detail = ("mismatched input '?': the optional syntax (.?field, [?key], optional.*) is not supported by"
                      " this emulator's CEL (cel-python); use has() instead")
        else:
            detail = f"mismatched input '{token.value}'"
        return _issue(expression, cause.line, cause.column, f"Syntax error: {detail}")
    if isinstance(cause, lark.exceptions.UnexpectedCharacters):
        return _issue(expression, cause.line, cause.column,
                      f"Syntax error: token recognition error at: '{cause.char}'")
    return _issue(expression, error.line, error.column, f"Syntax error: {str(error).strip() or 'invalid input'}")


class _Checker:
    """What cel-go's checker would refuse that cel-python would only find when (and if) it runs there."""

    def __init__(self, expression: str, variables: frozenset[str]) -> None:
        self.expression = expression
        self.variables = variables
        self.functions = known_functions()
        self.issues: list[str] = []
        self.unsupported: list[str] = []

    def _report(self, token: lark.Token, text: str, *, unsupported: bool = False) -> None:
        (self.unsupported if unsupported else self.issues).append(
            _issue(self.expression, token.line, token.column, text))

    def visit(self, node: Any, bound: frozenset[str]) -> None:
        if not isinstance(node, lark.Tree):
            return
        handler = getattr(self, f"_visit_{node.data}", None)
        if handler is not None:
            handler(node, bound)
            return
        for child in node.children:
            self.visit(child, bound)

    def _name(self, token: lark.Token, bound: frozenset[str]) -> None:
        name = str(token)
        if name in bound or name in ROOT_VARIABLES or name in _TYPE_NAMES:
            return
        if name in UNSUPPORTED_VARIABLES:
            self._report(token, f"the '{name}' variable is not supported by this emulator", unsupported=True)
            return
        self._report(token, f"undeclared reference to '{name}' (in container '')")

    def _visit_ident(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        self._name(_token(node.children[0]), bound)

    def _visit_dot_ident(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        self._name(_token(node.children[0]), bound)

    def _call(self, token: lark.Token, arguments: list[Any], bound: frozenset[str]) -> None:
        if str(token) not in self.functions:
            self._report(token, f"undeclared reference to '{token}' (in container '')")
        for argument in arguments:
            self.visit(argument, bound)

    def _visit_ident_arg(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        self._call(_token(node.children[0]), node.children[1:], bound)

    def _visit_dot_ident_arg(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        self._call(_token(node.children[0]), node.children[1:], bound)

    def _visit_member_dot_arg(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        target, method_token, *rest = node.children
        method = _token(method_token)
        self.visit(target, bound)
        arguments = rest[0].children if rest and isinstance(rest[0], lark.Tree) else []
        if _chain_root(target) in UNSUPPORTED_VARIABLES - bound:  # its library: reported as the variable
            for argument in arguments:
                self.visit(argument, bound)
            return
        if str(method) in MACROS and len(arguments) >= 2:
            variable = _root_ident(arguments[0])
            if variable is None:
                self._report(method, f"{method}() variable name must be a simple identifier")
                return
            for argument in arguments[1:]:
                self.visit(argument, bound | {variable})
            return
        self._call(method, arguments, bound)

    def _visit_member_dot(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        target, field = node.children[0], _token(node.children[1])
        if _root_ident(target) == "variables" and "variables" not in bound and str(field) not in self.variables:
            self._report(field, f"undefined field '{field}'")
        self.visit(target, bound)

    def _visit_member_object(self, node: lark.Tree[Any], bound: frozenset[str]) -> None:
        name = _root_ident(node.children[0]) or "message"
        token = next(node.scan_values(lambda v: isinstance(v, lark.Token)), None)
        if token is not None:
            self._report(token, f"undeclared reference to '{name}' (in container '')")


def _token(value: Any) -> lark.Token:
    if not isinstance(value, lark.Token):
        raise TypeError(f"expected a token, got {value!r}")
    return value


def _root_ident(node: Any) -> str | None:
    """The name of a bare identifier (through the grammar's one-child wrappers), else None."""
    while isinstance(node, lark.Tree):
        if node.data == "ident":
            return str(node.children[0])
        if len(node.children) != 1:
            return None
        node = node.children[0]
    return None


def _chain_root(node: Any) -> str | None:
    """The identifier a chain of selections, calls and indexes starts from (``a`` of ``a.b(c)[d].e``)."""
    while isinstance(node, lark.Tree):
        if node.data == "ident":
            return str(node.children[0])
        if not node.children:
            return None
        node = node.children[0]
    return None
