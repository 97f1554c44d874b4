"""The CEL of admission policies (cel-python underneath): what compiles, what it evaluates to, and the errors,
worded as cel-go (kube-apiserver's CEL) words them."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.core.manifests.admission import operator_fence
from shipway_sandbox.emulator import cel

LABELLED = {"metadata": {"name": "x", "labels": {"app.kubernetes.io/managed-by": "shipway"}}}


def run(expression: str, variables: frozenset[str] = frozenset(), **values: Any) -> Any:
    return cel.compile_expression(expression, variables).evaluate(cel.context(**values))


def compile_error(expression: str) -> str:
    with pytest.raises(cel.CompileError) as raised:
        cel.compile_expression(expression)
    return str(raised.value)


@pytest.mark.parametrize(("expression", "expected"), [
    ("has(object.metadata.labels)", True),
    ("has(object.metadata.annotations)", False),
    ("'app.kubernetes.io/managed-by' in object.metadata.labels", True),
    ("'other' in object.metadata.labels", False),
    ("object.metadata.labels['app.kubernetes.io/managed-by'] == 'shipway'", True),
    ("object.metadata.name == 'x' ? 'yes' : 'no'", "yes"),
    ("request.operation == 'CREATE' && object.metadata.name == 'x'", True),
    ("request.operation == 'DELETE' || object.metadata.name != 'x'", False),
    ("(request.operation == 'DELETE' ? oldObject : object).metadata.name", "x"),
    ("oldObject == null", True),
    ("request.userInfo.groups.exists(g, g == 'team-a') && [1, 2].all(n, n > 0)", True),
    ("object.metadata.labels.exists(k, k.startsWith('app.'))", True),
    ("size(object.metadata.labels) == 1 && object.metadata.name.matches('^[a-z]+$')", True),
])
def test_the_expressions_policies_use(expression: str, expected: Any) -> None:
    request = {"operation": "CREATE", "userInfo": {"username": "u", "groups": ["team-a"]}}
    assert run(expression, object=LABELLED, oldObject=None, request=request) == expected


def test_errors_are_absorbed_by_logical_operators_as_in_cel() -> None:
    assert cel.is_true(run("object.missing == 1 || true", object={}))
    assert cel.is_false(run("object.missing == 1 && false", object={}))
    assert cel.is_false(run("true && false || object.missing == 1 && false", object={}))


@pytest.mark.parametrize(("expression", "message"), [
    ("object.missing", "no such key: missing"),
    ("object.metadata.labels['absent']", "no such key: absent"),
    ("1 == 'a'", "no such overload"),
    ("[1][3]", "index out of range"),
])
def test_evaluation_errors_are_worded_as_cel_go(expression: str, message: str) -> None:
    with pytest.raises(cel.EvaluationError, match=f"^{message}$"):
        run(expression, object={"metadata": {"labels": {}}})


def test_syntax_errors_name_the_position() -> None:
    assert compile_error("1 + ").startswith("ERROR: <input>:1:")
    assert "Syntax error" in compile_error("object.metadata.name == ")
    assert "token recognition error at: '$'" in compile_error("a $ b")


def test_undeclared_variables_and_functions_are_compile_errors() -> None:
    assert compile_error("spec.replicas > 1").startswith(
        "ERROR: <input>:1:1: undeclared reference to 'spec' (in container '')")
    assert "undeclared reference to 'frobnicate'" in compile_error("object.metadata.name.frobnicate()")
    assert "undeclared reference to 'quantity'" in compile_error("quantity('1Gi') > quantity('1Mi')")
    assert "undeclared reference to 'w'" in compile_error("[1].map(v, w)")


def test_variables_must_be_declared_before_use() -> None:
    with pytest.raises(cel.CompileError, match="undefined field 'later'"):
        cel.compile_expression("variables.later == 1", frozenset({"earlier"}))
    assert cel.compile_expression("variables.earlier == 1", frozenset({"earlier"})).unsupported is None


def test_the_optional_syntax_is_refused_with_a_message_saying_why() -> None:
    assert "optional syntax" in compile_error("object.?metadata.orValue({})")


def test_the_authorizer_compiles_but_is_marked_unsupported() -> None:
    program = cel.compile_expression("authorizer.group('').resource('pods').check('get').allowed()")
    assert program.unsupported is not None and "'authorizer' variable is not supported" in program.unsupported


@pytest.mark.parametrize(("expression", "expected"), [
    ("'a/b/c'.split('/')", ["a", "b", "c"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("'Hello'.lowerAscii() + 'x'.upperAscii()", "helloX"),
    ("' pad '.trim()", "pad"),
    ("'banana'.indexOf('an') == 1 && 'banana'.lastIndexOf('an') == 3", True),
    ("'image:tag'.substring(6) == 'tag' && 'abc'.charAt(1) == 'b'", True),
    ("'a.b'.replace('.', '-')", "a-b"),
    ("'v1.2.3'.find('[0-9]+') == '1' && 'v1.2.3'.findAll('[0-9]+') == ['1', '2', '3']", True),
    ("[1, 2, 3].sum() == 6 && [1, 3, 2].max() == 3 && [1, 2].isSorted() && [2, 1].indexOf(1) == 1", True),
])
def test_the_kubernetes_library_subset(expression: str, expected: Any) -> None:
    assert run(expression) == expected


def test_the_operator_fence_expression_compiles_and_decides_as_written() -> None:
    [policy, _binding] = operator_fence()
    program = cel.compile_expression(policy["spec"]["validations"][0]["expression"])
    condition = cel.compile_expression(policy["spec"]["matchConditions"][0]["expression"])
    unlabelled = {"metadata": {"name": "x"}}

    def allowed(operation: str, resource: str, new: Any, old: Any) -> bool:
        request = {"operation": operation, "resource": {"group": "", "version": "v1", "resource": resource}}
        return cel.is_true(program.evaluate(cel.context(object=new, oldObject=old, request=request)))

    assert allowed("CREATE", "secrets", LABELLED, None) and not allowed("CREATE", "secrets", unlabelled, None)
    assert allowed("UPDATE", "secrets", LABELLED, LABELLED)
    assert not allowed("UPDATE", "secrets", unlabelled, LABELLED) and not allowed("UPDATE", "secrets", LABELLED,
                                                                                  unlabelled)
    assert allowed("DELETE", "secrets", None, LABELLED) and not allowed("DELETE", "secrets", None, unlabelled)
    default = {"metadata": {"name": "default"}}
    assert allowed("UPDATE", "serviceaccounts", default, default)
    assert not allowed("DELETE", "serviceaccounts", None, default)
    operator = {"userInfo": {"username": "system:serviceaccount:shipway-system:shipway-operator"}}
    assert cel.is_true(condition.evaluate(cel.context(request=operator)))
    assert cel.is_false(condition.evaluate(cel.context(request={"userInfo": {"username": "admin"}})))
