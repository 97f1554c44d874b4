"""What a CEL expression (of an admission policy) can read, so that its result can be remembered.

cel-python interprets an expression's parse tree on every evaluation, which costs about half a millisecond for
an expression like the operator fence's; a policy is evaluated on every write it matches, with contexts that
differ mostly in what the expression never looks at (names, data, other labels). An expression is a pure
function of what it reads, so its result is remembered keyed by exactly that: the **uses** found in its parse
tree, projected out of the raw (JSON) values of the variables (:mod:`cel_parts` does so for each logical
operand of an expression).

A use is a path from a root variable (``object.metadata.labels``, through ``.field`` and ``['literal']``
selections, and through both branches of a ternary: ``(c ? oldObject : object).metadata.name``), read either

* whole: the value at the path, or
* for presence of a key: ``has(path.key)`` and ``'key' in path`` (a string literal) tell only whether a map
  holds that key (cel-python's ``in`` compares the string with every key of a map: JSON keys are strings).

Projecting a path walks the JSON value: through maps holding the next key; a map without it is an error of
its own (``no such key``, whatever else the map holds); any other value met is taken whole. Anything the
analysis does not know (root-relative ``.name``, message construction, the ``variables`` of a policy, a
macro's variable that is not a plain name) makes the expression not remembered: it is evaluated every time.
Only results that are plain immutable values (bool, string, numbers, null) are remembered; errors and maps or
lists are evaluated every time, so an error's text never comes from another request.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import lark
from celpy import celtypes

ROOTS = frozenset({"object", "oldObject", "request", "params", "namespaceObject"})
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Nodes whose meaning does not depend on how they are used: their children are analysed in turn.
_PLAIN = frozenset({
    "expr", "conditionalor", "conditionaland", "relation", "relation_lt", "relation_le", "relation_gt",
    "relation_ge", "relation_eq", "relation_ne", "relation_in", "addition", "addition_add", "addition_sub",
    "multiplication", "multiplication_mul", "multiplication_div", "multiplication_mod", "unary", "unary_not",
    "unary_neg", "member", "primary", "paren_expr", "list_lit", "map_lit", "exprlist", "mapinits", "literal",
})
# One-child nodes that only pass their child's value on.
_WRAPPERS = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
                       "unary", "member", "primary", "paren_expr"})
_CACHEABLE = (celtypes.BoolType, celtypes.StringType, celtypes.IntType, celtypes.UintType, celtypes.DoubleType)
MEMO_SIZE = 4096

Path = tuple[str, tuple[str, ...]]  # a root variable and the keys selected from it
Use = tuple[str, tuple[str, ...], str | None]  # a path and the key tested for presence (None: read whole)


class _Unknown(Exception):
    """The expression reads something the analysis does not follow."""


def uses_of(tree: lark.Tree[Any]) -> tuple[Use, ...] | None:
    """Everything ``tree`` can read, or None when that is not known (the expression is not remembered)."""
    found: set[Use] = set()
    try:
        _visit(tree, frozenset(), found)
    except _Unknown:
        return None
    return tuple(sorted(found, key=lambda use: (use[0], use[1], use[2] is not None, use[2] or "")))


def _strip(node: Any) -> Any:
    while isinstance(node, lark.Tree) and node.data in _WRAPPERS and len(node.children) == 1:
        node = node.children[0]
    return node


def _string_literal(node: Any) -> str | None:
    """The value of a plain quoted string literal (no escapes, no prefix, not triple-quoted), else None."""
    node = _strip(node)
    if not (isinstance(node, lark.Tree) and node.data == "literal" and len(node.children) == 1):
        return None
    token = node.children[0]
    if not isinstance(token, lark.Token) or token.type != "STRING_LIT":
        return None
    text = str(token)
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0] or "\\" in text:
        return None
    return text[1:-1]


def _ident(node: Any) -> str | None:
    node = _strip(node)
    if isinstance(node, lark.Tree) and node.data == "ident" and isinstance(node.children[0], lark.Token):
        return str(node.children[0])
    return None


def _paths(node: Any, bound: frozenset[str], found: set[Use]) -> list[Path] | None:
    """The paths whose value ``node`` is (several through a ternary), or None when it is not a selection."""
    node = _strip(node)
    if not isinstance(node, lark.Tree):
        return None
    if node.data == "ident":
        name = _ident(node)
        if name is None or name in bound:
            return None
        if name == "variables":
            raise _Unknown(name)
        return [(name, ())] if name in ROOTS else None
    if node.data == "member_dot":
        target, field = node.children
        inner = _paths(target, bound, found)
        return None if inner is None else [(root, (*keys, str(field))) for root, keys in inner]
    if node.data == "member_index":
        target, index = node.children
        literal = _string_literal(index)
        inner = None if literal is None else _paths(target, bound, found)
        return None if inner is None or literal is None else [(root, (*keys, literal)) for root, keys in inner]
    if node.data == "expr" and len(node.children) == 3:  # condition ? a : b
        condition, then, otherwise = node.children
        _visit(condition, bound, found)
        first, second = _paths(then, bound, found), _paths(otherwise, bound, found)
        return None if first is None or second is None else first + second
    return None


def _visit(node: Any, bound: frozenset[str], found: set[Use]) -> None:
    if not isinstance(node, lark.Tree):
        return
    data = node.data
    if data in ("ident", "member_dot", "member_index") or (data == "expr" and len(node.children) == 3):
        paths = _paths(node, bound, found)
        if paths is not None:
            found.update((root, keys, None) for root, keys in paths)
            return
        if data == "ident":
            return  # a bound variable, a type name: nothing of the context
        children = node.children if data != "member_dot" else node.children[:1]
        for child in children:
            _visit(child, bound, found)
        return
    if data == "ident_arg":
        _visit_call(node, bound, found)
        return
    if data == "relation" and len(node.children) == 2 and _is_in(node.children[0]):
        item, container = node.children[0].children[0], node.children[1]
        literal = _string_literal(item)
        paths = None if literal is None else _paths(container, bound, found)
        if paths is not None:
            found.update((root, keys, literal) for root, keys in paths)
            return
    if data == "member_dot_arg":
        _visit_method(node, bound, found)
        return
    if data not in _PLAIN:
        raise _Unknown(data)  # dot_ident, member_object, ...: not followed
    for child in node.children:
        _visit(child, bound, found)


def _is_in(node: Any) -> bool:
    return isinstance(node, lark.Tree) and node.data == "relation_in"


def _arguments(node: Any) -> list[Any]:
    return list(node.children) if isinstance(node, lark.Tree) and node.data == "exprlist" else []


def _visit_call(node: lark.Tree[Any], bound: frozenset[str], found: set[Use]) -> None:
    name, *rest = node.children
    arguments = _arguments(rest[0]) if rest else []
    if str(name) == "has" and len(arguments) == 1:  # has(e.f): whether e is a map holding f (else an error)
        selected = _strip(arguments[0])
        if isinstance(selected, lark.Tree) and selected.data == "member_dot":
            target, field = selected.children
            paths = _paths(target, bound, found)
            if paths is not None:
                found.update((root, keys, str(field)) for root, keys in paths)
                return
    for argument in arguments:
        _visit(argument, bound, found)


def _visit_method(node: lark.Tree[Any], bound: frozenset[str], found: set[Use]) -> None:
    target, method, *rest = node.children
    arguments = _arguments(rest[0]) if rest else []
    _visit(target, bound, found)
    if str(method) in MACROS and len(arguments) >= 2:
        variable = _ident(arguments[0])
        if variable is None:
            raise _Unknown("macro variable")
        for argument in arguments[1:]:
            _visit(argument, bound | {variable}, found)
        return
    for argument in arguments:
        _visit(argument, bound, found)


# -- projecting the context ------------------------------------------------------------------------------
_MISSING = object()
MISS = _MISSING  # what :meth:`Memo.get` answers for a key it does not hold


def _freeze(value: Any) -> Hashable:
    """A hashable image of a JSON value that tells apart what ``json_to_cel`` tells apart (``True``, ``1``,
    ``1.0``), map order included; :class:`_Unknown` for anything that is not JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return ("!b", value)
    if isinstance(value, int):
        return ("!i", value)
    if isinstance(value, float):
        return ("!f", value)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _Unknown("map key")
        return ("!d", tuple((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return ("!l", tuple(_freeze(item) for item in value))
    raise _Unknown(type(value).__name__)


def _project(raw: Mapping[str, Any], use: Use) -> Hashable:
    root, keys, present = use
    value = raw.get(root, _MISSING)
    if value is _MISSING:
        return ("!absent",)
    for depth, key in enumerate(keys):
        if isinstance(value, dict):
            if key not in value:
                return ("!nokey", depth)
            value = value[key]
        else:
            return ("!stop", depth, _freeze(value))
    if present is not None and isinstance(value, dict):
        return ("!has", present in value)
    return ("!value", _freeze(value))


def key_of(uses: tuple[Use, ...], raw: Mapping[str, Any]) -> Hashable | None:
    """What the expression can read of ``raw`` (the JSON values of the variables), or None when some of it
    is not JSON."""
    try:
        return tuple(_project(raw, use) for use in uses)
    except _Unknown:
        return None


def cacheable(result: Any) -> bool:
    return result is None or isinstance(result, _CACHEABLE)


class Memo:
    """Results by key, the oldest forgotten first beyond :data:`MEMO_SIZE`."""

    def __init__(self) -> None:
        self._results: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        return self._results.get(key, _MISSING)

    def put(self, key: Hashable, result: Any) -> None:
        if len(self._results) >= MEMO_SIZE:
            del self._results[next(iter(self._results))]
        self._results[key] = result
