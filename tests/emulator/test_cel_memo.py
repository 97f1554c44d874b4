"""Remembered CEL results (:mod:`cel_memo`): an expression's result is reused only for contexts that agree on
everything it can read, so remembering never changes what a policy decides."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from shipway.core.manifests.admission import operator_fence
from shipway_sandbox.emulator import cel, cel_memo, cel_parts

MANAGED = "app.kubernetes.io/managed-by"


def plain(expression: str, **values: Any) -> Any:
    """The result without remembering (a fresh context, the program's runner)."""
    return cel.compile_expression(expression).run(cel.context(**values))


def remembered(expression: str, **values: Any) -> Any:
    return cel_parts.run(cel.compile_expression(expression), cel_parts.Bindings(**values))


def same(first: Any, second: Any) -> bool:
    if isinstance(first, Exception) or isinstance(second, Exception):
        return type(first) is type(second) and cel.error_text(first) == cel.error_text(second)
    return type(first) is type(second) and first == second


OBJECTS: list[Any] = [
    None,
    {"metadata": {"name": "a"}},
    {"metadata": {"name": "a", "labels": {}}},
    {"metadata": {"name": "a", "labels": {MANAGED: "shipway"}}},
    {"metadata": {"name": "b", "labels": {MANAGED: "shipway", "x": "1"}}},
    {"metadata": {"name": "a", "labels": {MANAGED: "other"}}},
    {"metadata": {"name": "a", "labels": {"shipway.dev/released-from": "p"}}},
    {"metadata": {"name": "a", "labels": [MANAGED]}},
    {"metadata": {"name": "a", "labels": None}},
    {"metadata": "text"},
    {"metadata": {"name": 1, "labels": {MANAGED: True}}},
    {"metadata": {"name": True, "labels": {MANAGED: 1}}},
    {"metadata": {"name": 1.0}},
    {"spec": {"items": [1, 2, 3]}, "metadata": {"name": "a"}},
    {"spec": {"items": [3, 2, 1]}, "metadata": {"name": "a"}},
    {"spec": {"items": {"b": 1, "a": 2}}, "metadata": {"name": "a"}},
    {"spec": {"items": {"a": 2, "b": 1}}, "metadata": {"name": "a"}},
]
REQUESTS: list[Any] = [{"operation": op, "resource": {"resource": r}}
                       for op, r in (("CREATE", "serviceaccounts"), ("UPDATE", "secrets"), ("DELETE", "secrets"))]
EXPRESSIONS = [
    operator_fence()[0]["spec"]["validations"][0]["expression"],
    "has(object.metadata.labels)",
    f"'{MANAGED}' in object.metadata.labels",
    f"object.metadata.labels['{MANAGED}'] == 'shipway'",
    f"object.metadata.labels['{MANAGED}']",
    "object.metadata.name == 1",
    "object.metadata.name == true",
    "object.metadata.name",
    "(request.operation == 'DELETE' ? oldObject : object).metadata.name",
    "has((request.operation == 'DELETE' ? oldObject : object).metadata.labels)",
    "size(object.metadata.labels) > 1",
    "object.metadata.labels.exists(k, k.startsWith('x'))",
    "object.spec.items.map(i, string(i)).join(',')",
    "object.spec.items.all(object, object != 2)",
    "'1' in object.metadata.labels",
    "1 in object.metadata.labels",
    "object == null || has(object.spec)",
    "request.operation + '/' + request.resource.resource",
    r"'a\'b' in object.metadata.labels",
    "object.metadata.name == 'a' || size(object.metadata.labels) > 1",
    "request.operation == 'DELETE' && int(object.metadata.name) > 0",
    "object.spec.items[0] == 1 || true",
    "false || object.metadata.labels['x'] == '1'",
    "object.metadata.name ? 'x' : 'y'",
    "has(object.spec) ? object.spec.items : []",
    "(has(object.metadata.labels) || request.operation == 'CREATE') && !(object.metadata.name == 'b')",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_remembered_results_are_those_of_each_context(expression: str) -> None:
    """Every context in turn (so later ones may be answered from the memo of earlier ones), twice."""
    contexts = list(itertools.product(OBJECTS, OBJECTS[:4], REQUESTS))
    for body, old, request in contexts + contexts:
        values = {"object": body, "oldObject": old, "request": request, "params": None, "namespaceObject": None}
        assert same(remembered(expression, **values), plain(expression, **values)), (expression, values)


def _leaves(part: cel_parts.Part) -> list[cel_parts.Leaf]:
    if isinstance(part, cel_parts.Leaf):
        return [part]
    if isinstance(part, cel_parts.Choice):
        return _leaves(part.condition) + _leaves(part.then) + _leaves(part.otherwise)
    return _leaves(part.first) + _leaves(part.second)


def test_the_operator_fence_is_remembered_across_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its parts read only the labels it names, names, and the request: once a write of a kind was decided, the
    same write for another pipeline (other labels, data and namespace names) needs no evaluation."""
    expression = operator_fence()[0]["spec"]["validations"][0]["expression"]
    program = cel.compile_expression(expression)
    assert program.parts is not None
    leaves = _leaves(program.parts)
    assert all(leaf.uses is not None for leaf in leaves)
    assert ("object", ("metadata", "labels"), None) not in {use for leaf in leaves for use in leaf.uses or ()}

    def write(pipeline: str, kind: str, operation: str = "CREATE") -> dict[str, Any]:
        body = {"metadata": {"name": f"{pipeline}-stage" if kind == "namespaces" else "shipway-pull",
                             "labels": {MANAGED: "shipway", "shipway.dev/pipeline": pipeline}},
                "data": {"x": pipeline}}
        return {"object": body, "oldObject": body if operation == "UPDATE" else None, "params": None,
                "request": {"operation": operation, "resource": {"resource": kind}}, "namespaceObject": None}

    for kind in ("namespaces", "secrets", "serviceaccounts"):
        assert remembered(expression, **write("a", kind)) is not None
    expected = {kind: plain(expression, **write("b", kind)) for kind in ("namespaces", "secrets", "serviceaccounts")}
    evaluated: list[Any] = []
    monkeypatch.setattr(cel_parts.Bindings, "context", lambda self: evaluated.append(self) or {})
    for kind, result in expected.items():  # no part evaluated: their variables are not even converted to CEL
        assert same(remembered(expression, **write("b", kind)), result)
    assert evaluated == []


@pytest.mark.parametrize("expression", [
    "variables.x == 1",
    ".object.metadata.name == 'a'",
])
def test_what_the_analysis_does_not_follow_is_evaluated_every_time(expression: str) -> None:
    parts = cel.compile_expression(expression, frozenset({"x"})).parts
    assert isinstance(parts, cel_parts.Leaf) and parts.uses is None


def test_errors_are_not_remembered() -> None:
    """An error's text comes from its own context (``no such key`` names the key; a type names the value)."""
    expression = "object.metadata.name.size() > 0"
    first = remembered(expression, object={"metadata": {}})
    second = remembered(expression, object={"metadata": {}})
    assert isinstance(first, Exception) and first is not second
    assert same(remembered(expression, object={"metadata": "x"}), plain(expression, object={"metadata": "x"}))


def test_the_memo_forgets_its_oldest_results_beyond_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cel_memo, "MEMO_SIZE", 2)
    memo = cel_memo.Memo()
    for key in ("a", "b", "c"):
        memo.put(key, key)
    assert [memo.get(key) for key in ("b", "c")] == ["b", "c"]
    assert memo.get("a") is not "a"  # noqa: F632 - the sentinel of a miss
