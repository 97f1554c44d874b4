"""An admission policy's expression evaluated by its logical parts, each part's result remembered.

An expression is split at its top-level ``&&``, ``||`` and ``? :`` into **leaves** (everything else), each
evaluated by cel-python on its own and remembered by what it reads (:mod:`cel_memo`). The parts are put
together as cel-python's ``logical_and``, ``logical_or`` and ``logical_condition`` do for boolean operands:

* ``a && b`` is false when ``a`` is false, ``a || b`` true when ``a`` is true: cel-python evaluates ``b`` all
  the same but cannot change that result with it, so ``b`` is not evaluated when it is **safe** (made only of
  selections, ``has()``, ``==``, ``!=``, ``in``, ``!``, the logical operators and plain literals: nodes that
  cel-python evaluates to a value or an error value, never to a Python exception); otherwise it is evaluated,
  as it would have been;
* ``c ? x : y`` evaluates only the branch a boolean ``c`` chooses, as cel-python does.

Whenever an operand is not a boolean (an error, another type) or a leaf fails, the whole expression is
evaluated by cel-python instead, unremembered: the result is then exactly cel-python's, error text included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import lark
from celpy import celtypes
from celpy.adapter import json_to_cel

from shipway_sandbox.emulator import cel_memo

Runner = Callable[[dict[str, Any]], Any]  # a compiled subtree: its value on a context, or an exception
_PASS = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
                   "member"})  # with one child, cel-python's value is the child's
_SAFE = frozenset({"expr", "conditionalor", "conditionaland", "relation", "relation_eq", "relation_ne",
                   "relation_in", "addition", "multiplication", "unary", "unary_not", "member", "member_dot",
                   "member_index", "primary", "paren_expr", "ident", "literal", "exprlist"})
_SAFE_LITERALS = frozenset({"BOOL_LIT", "NULL_LIT"})


class _Fallback(Exception):
    """Evaluate the whole expression with cel-python instead."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Leaf:
    runner: Runner
    uses: tuple[cel_memo.Use, ...] | None
    safe: bool
    memo: cel_memo.Memo = dataclasses.field(default_factory=cel_memo.Memo, compare=False, repr=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Operator:
    """``first && second`` (``conjunction``) or ``first || second``."""

    conjunction: bool
    first: Part
    second: Part
    safe: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Choice:
    condition: Part
    then: Part
    otherwise: Part
    safe: bool


Part = Leaf | Operator | Choice


def parts_of(tree: lark.Tree[Any], compile_tree: Callable[[lark.Tree[Any]], Runner]) -> Part:
    """The parts of an expression's parse tree; ``compile_tree`` makes a leaf's runner."""
    node = _descend(tree)
    children = node.children
    if node.data in ("conditionaland", "conditionalor") and len(children) == 2:
        first, second = parts_of(children[0], compile_tree), parts_of(children[1], compile_tree)
        return Operator(conjunction=node.data == "conditionaland", first=first, second=second,
                        safe=first.safe and second.safe)
    if node.data == "expr" and len(children) == 3:
        condition, then, otherwise = (parts_of(child, compile_tree) for child in children)
        return Choice(condition=condition, then=then, otherwise=otherwise,
                      safe=condition.safe and then.safe and otherwise.safe)
    return Leaf(runner=compile_tree(tree), uses=cel_memo.uses_of(tree), safe=_safe(tree))


def _descend(node: lark.Tree[Any]) -> lark.Tree[Any]:
    """Through the one-child nodes and parentheses whose value is their child's."""
    while True:
        children = node.children
        if len(children) != 1 or not isinstance(children[0], lark.Tree):
            return node
        child = children[0]
        if node.data in _PASS:
            node = child
        elif node.data == "primary" and child.data == "paren_expr" and len(child.children) == 1 and \
                isinstance(child.children[0], lark.Tree):
            node = child.children[0]
        else:
            return node


def _safe(node: Any) -> bool:
    if isinstance(node, lark.Token):
        if node.type == "STRING_LIT":
            text = str(node)
            return len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0] and "\\" not in text
        return node.type in _SAFE_LITERALS or node.type == "IDENT"
    if not isinstance(node, lark.Tree):
        return False
    if node.data == "ident_arg":  # has(e.f) only
        name, *rest = node.children
        return str(name) == "has" and len(rest) == 1 and _safe(rest[0])
    return node.data in _SAFE and all(_safe(child) for child in node.children)


class Bindings:
    """The variables of one evaluation: their JSON values (``raw``), converted to CEL once, when some part is
    evaluated rather than remembered; ``variables`` (a policy's, already CEL) as they stand."""

    def __init__(self, **raw: Any) -> None:
        self.raw = raw
        self.variables = celtypes.MapType()
        self._context: dict[str, Any] | None = None

    def context(self) -> dict[str, Any]:
        if self._context is None:
            self._context = {name: json_to_cel(value) for name, value in self.raw.items()}
        self._context["variables"] = self.variables
        return self._context


class Remembering(Protocol):
    """A compiled expression (:class:`cel.Program`) with its parts."""

    @property
    def parts(self) -> Part | None: ...

    def run(self, context: Mapping[str, Any]) -> Any: ...


def run(program: Remembering, bindings: Bindings) -> Any:
    """``program.run`` on the bindings: from its parts, remembered where they read the same as before."""
    if program.parts is not None:
        try:
            return _value(program.parts, bindings)
        except _Fallback:
            pass
    return program.run(bindings.context())


def _value(part: Part, bindings: Bindings) -> Any:
    if isinstance(part, Leaf):
        return _leaf(part, bindings)
    if isinstance(part, Choice):
        condition = _boolean(part.condition, bindings)
        return _value(part.then if condition else part.otherwise, bindings)
    first = _boolean(part.first, bindings)
    if bool(first) != part.conjunction and part.second.safe:  # false && ..., true || ...
        return celtypes.BoolType(first)
    second = _boolean(part.second, bindings)
    return celtypes.BoolType(first and second if part.conjunction else first or second)


def _boolean(part: Part, bindings: Bindings) -> celtypes.BoolType:
    value = _value(part, bindings)
    if not isinstance(value, celtypes.BoolType):
        raise _Fallback()
    return value


def _leaf(leaf: Leaf, bindings: Bindings) -> Any:
    key = None if leaf.uses is None else cel_memo.key_of(leaf.uses, bindings.raw)
    if key is not None:
        remembered = leaf.memo.get(key)
        if remembered is not cel_memo.MISS:
            return remembered
    try:
        value = leaf.runner(dict(bindings.context()))
    except Exception as error:  # an error value (cel-python raises it at the top) or a failure: the whole, then
        raise _Fallback() from error
    if key is not None and cel_memo.cacheable(value):
        leaf.memo.put(key, value)
    return value
