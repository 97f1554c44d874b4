"""ValidatingAdmissionPolicies and their bindings: stored, validated (their CEL compiled) when written, and
evaluated in admission as kube-apiserver's ValidatingAdmissionPolicy plugin does (denials worded as it words
them, reasons, failurePolicy, validationActions, matchConditions, variables, messageExpression)."""

from __future__ import annotations

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator

from .admission_policies import BINDINGS, CONFIGMAPS, POLICIES, binding, configmap, install, policy, validation
from .helpers import make_namespace
from .test_admission import register
from .webhook_server import WebhookServer, hook

pytestmark = pytest.mark.integration
DEFAULT_CMS = CONFIGMAPS.format(ns="default")
PREFIXED = validation("object.metadata.name.startsWith('ok-')")


def denied_text(response: httpx.Response) -> str:
    """The part of a denial after ``... is forbidden: ``."""
    return str(response.json()["message"]).split(" is forbidden: ", 1)[1]


async def test_policies_and_bindings_are_cluster_scoped_objects_stored_with_their_defaults(
        http: httpx.AsyncClient) -> None:
    await install(http, policy("p", PREFIXED), binding("b", "p"))
    stored = (await http.get(f"{POLICIES}/p")).json()
    assert stored["kind"] == "ValidatingAdmissionPolicy" and stored["metadata"]["uid"]
    assert stored["spec"]["failurePolicy"] == "Fail"
    assert stored["spec"]["matchConstraints"] == {
        "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE"],
                           "resources": ["configmaps"], "scope": "*"}],
        "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}}
    assert (await http.get(f"{BINDINGS}/b")).json()["spec"] == {"policyName": "p", "validationActions": ["Deny"]}
    assert [i["metadata"]["name"] for i in (await http.get(BINDINGS)).json()["items"]] == ["b"]
    served = (await http.get("/apis/admissionregistration.k8s.io/v1")).json()["resources"]
    assert {"validatingadmissionpolicies", "validatingadmissionpolicybindings"} <= {r["name"] for r in served}


async def test_a_policy_whose_cel_does_not_compile_is_refused_and_not_stored(http: httpx.AsyncClient) -> None:
    refused = await http.post(POLICIES, json=policy("p", validation("object.metadata.name ==")))
    assert refused.status_code == 422
    assert refused.json()["message"].startswith(
        'ValidatingAdmissionPolicy.admissionregistration.k8s.io "p" is invalid: spec.validations[0].expression:'
        ' Invalid value: "object.metadata.name ==": compilation failed: ERROR: <input>:1:')
    assert (await http.get(f"{POLICIES}/p")).status_code == 404
    undeclared = await http.post(POLICIES, json=policy("p", PREFIXED, matchConditions=[
        {"name": "who", "expression": "user.name == 'x'"}]))
    assert undeclared.status_code == 422
    [cause] = undeclared.json()["details"]["causes"]
    assert cause["field"] == "spec.matchConditions[0].expression"
    assert "undeclared reference to 'user'" in cause["message"]
    await install(http, policy("p", PREFIXED))
    stored = (await http.get(f"{POLICIES}/p")).json()
    stored["spec"]["validations"][0]["messageExpression"] = "'a' +"
    assert (await http.put(f"{POLICIES}/p", json=stored)).status_code == 422  # updates are compiled too


async def test_policy_and_binding_validation_lists_every_cause(http: httpx.AsyncClient) -> None:
    bad = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
           "metadata": {"name": "p"}, "spec": {"failurePolicy": "Sometimes", "validations": [
               {"expression": "true", "reason": "Teapot", "message": "two\nlines"}]}}
    causes = (await http.post(POLICIES, json=bad)).json()["details"]["causes"]
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("spec.failurePolicy", "FieldValueNotSupported"), ("spec.matchConstraints", "FieldValueRequired"),
        ("spec.validations[0].message", "FieldValueInvalid"), ("spec.validations[0].reason", "FieldValueNotSupported")]
    assert causes[3]["message"] == ('Unsupported value: "Teapot": supported values: "Forbidden", "Invalid",'
                                    ' "RequestEntityTooLarge", "Unauthorized"')
    empty = (await http.post(POLICIES, json=policy("p"))).json()["details"]["causes"]
    assert [c["field"] for c in empty] == ["spec.validations", "spec.auditAnnotations"]
    both = await http.post(BINDINGS, json=binding("b", "", actions=("Deny", "Warn", "Nope")))
    assert [(c["field"], c["reason"]) for c in both.json()["details"]["causes"]] == [
        ("spec.policyName", "FieldValueRequired"), ("spec.validationActions[2]", "FieldValueNotSupported"),
        ("spec.validationActions", "FieldValueInvalid")]
    none = await http.post(BINDINGS, json=binding("b", "p", actions=()))
    assert none.json()["message"].endswith("spec.validationActions: Required value: at least one validation action"
                                           " is required")


async def test_a_denial_is_worded_as_kube_apiserver_and_nothing_is_stored(
        http: httpx.AsyncClient, emulator: ClusterEmulator) -> None:
    await install(http, policy("names", PREFIXED), binding("names-binding", "names"))
    before = emulator.cluster.store.changes.revision
    refused = await http.post(DEFAULT_CMS, json=configmap("c1"))
    text = ("ValidatingAdmissionPolicy 'names' with binding 'names-binding' denied request: failed expression:"
            " object.metadata.name.startsWith('ok-')")
    assert refused.status_code == 422
    assert refused.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'configmaps "c1" is forbidden: {text}', "reason": "Invalid", "code": 422,
        "details": {"name": "c1", "kind": "configmaps", "causes": [{"message": text}]}}
    assert emulator.cluster.store.changes.revision == before
    assert (await http.post(DEFAULT_CMS, json=configmap("ok-1"))).status_code == 201


@pytest.mark.parametrize(("reason", "code"), [("Unauthorized", 401), ("Forbidden", 403), ("Invalid", 422),
                                              ("RequestEntityTooLarge", 413)])
async def test_the_reason_sets_the_status_code(http: httpx.AsyncClient, reason: str, code: int) -> None:
    await install(http, policy("p", validation("false", message="never", reason=reason)))
    refused = await http.post(DEFAULT_CMS, json=configmap("c1"))
    assert (refused.status_code, refused.json()["reason"], refused.json()["code"]) == (code, reason, code)
    assert denied_text(refused).endswith("denied request: never")


async def test_message_expression_then_message_then_the_expression(http: httpx.AsyncClient) -> None:
    await install(http, policy("a", validation("false", message="static",
                                               messageExpression="'no ' + object.metadata.name")))
    assert denied_text(await http.post(DEFAULT_CMS, json=configmap("c1"))).endswith("denied request: no c1")
    await http.delete(f"{BINDINGS}/a-binding")
    await install(http, policy("b", validation("false", message="static", messageExpression="object.nope + 'x'")))
    assert denied_text(await http.post(DEFAULT_CMS, json=configmap("c1"))).endswith("denied request: static")
    await http.delete(f"{BINDINGS}/b-binding")
    await install(http, policy("c", validation("  1 > 2 ")))
    assert denied_text(await http.post(DEFAULT_CMS, json=configmap("c1"))).endswith(
        "denied request: failed expression: 1 > 2")


async def test_a_policy_does_nothing_without_a_binding_and_a_binding_nothing_without_its_policy(
        http: httpx.AsyncClient) -> None:
    assert (await http.post(POLICIES, json=policy("p", validation("false")))).status_code == 201
    assert (await http.post(BINDINGS, json=binding("orphan", "absent"))).status_code == 201
    assert (await http.post(DEFAULT_CMS, json=configmap("c1"))).status_code == 201
    assert (await http.post(BINDINGS, json=binding("b", "p"))).status_code == 201
    assert (await http.post(DEFAULT_CMS, json=configmap("c2"))).status_code == 422


async def test_dry_runs_are_evaluated_with_request_dry_run_set(http: httpx.AsyncClient) -> None:
    await install(http, policy("p", validation("!request.dryRun", message="no dry runs")))
    refused = await http.post(DEFAULT_CMS, json=configmap("c1"), params={"dryRun": "All"})
    assert refused.status_code == 422 and denied_text(refused).endswith("no dry runs")
    assert (await http.post(DEFAULT_CMS, json=configmap("c1"))).status_code == 201
    assert (await http.delete(f"{DEFAULT_CMS}/c1", params={"dryRun": "All"})).status_code == 422


async def test_warn_adds_a_warning_header_and_audit_alone_changes_nothing(http: httpx.AsyncClient) -> None:
    await install(http, policy("p", validation("false", message="looks odd")), binding("warn", "p", ("Warn", "Audit")),
                  binding("audit", "p", ("Audit",)))
    created = await http.post(DEFAULT_CMS, json=configmap("c1"))
    assert created.status_code == 201
    assert created.headers.get_list("Warning") == [
        "299 - \"Validation failed for ValidatingAdmissionPolicy 'p' with binding 'warn': looks odd\""]


async def test_evaluation_errors_follow_the_failure_policy(http: httpx.AsyncClient) -> None:
    failing = validation("object.data.missing == 'x'")
    await install(http, policy("strict", failing, failurePolicy="Fail"))
    refused = await http.post(DEFAULT_CMS, json=configmap("c1", v="1"))
    assert refused.status_code == 422 and refused.json()["reason"] == "Invalid"
    assert denied_text(refused) == ("ValidatingAdmissionPolicy 'strict' with binding 'strict-binding' denied request:"
                                    " expression 'object.data.missing == 'x'' resulted in error: no such key: missing")
    await http.delete(f"{BINDINGS}/strict-binding")
    await install(http, policy("lenient", failing, failurePolicy="Ignore"))
    assert (await http.post(DEFAULT_CMS, json=configmap("c1", v="1"))).status_code == 201


async def test_match_conditions_skip_the_policy_or_fail_by_the_failure_policy(http: httpx.AsyncClient) -> None:
    conditions = [{"name": "labelled", "expression": "has(object.metadata.labels)"},
                  {"name": "team-a", "expression": "object.metadata.labels.team == 'a'"}]
    await install(http, policy("p", validation("false", message="team a only"), matchConditions=conditions))
    assert (await http.post(DEFAULT_CMS, json=configmap("plain"))).status_code == 201  # false: skipped
    assert (await http.post(DEFAULT_CMS, json=configmap("b", labels={"team": "b"}))).status_code == 201
    assert denied_text(await http.post(DEFAULT_CMS, json=configmap("a", labels={"team": "a"}))).endswith("team a only")
    errored = await http.post(DEFAULT_CMS, json=configmap("x", labels={"other": "x"}))  # true, then an error
    assert errored.status_code == 422 and denied_text(errored).endswith(
        "denied request: expression 'object.metadata.labels.team == 'a'' resulted in error: no such key: team")
    stored = (await http.get(f"{POLICIES}/p")).json()
    stored["spec"]["failurePolicy"] = "Ignore"
    assert (await http.put(f"{POLICIES}/p", json=stored)).status_code == 200
    assert (await http.post(DEFAULT_CMS, json=configmap("x", labels={"other": "x"}))).status_code == 201


async def test_the_authorizer_is_a_compilation_error_that_follows_the_failure_policy(http: httpx.AsyncClient) -> None:
    uses = validation("authorizer.group('').resource('secrets').check('list').allowed()")
    await install(http, policy("p", uses))  # accepted, as a real kube-apiserver accepts it
    refused = await http.post(DEFAULT_CMS, json=configmap("c1"))
    assert refused.status_code == 422
    assert "denied request: compilation error: compilation failed: ERROR: <input>:1:1: the 'authorizer' variable is" \
           " not supported by this emulator" in refused.json()["message"]
    stored = (await http.get(f"{POLICIES}/p")).json()
    stored["spec"]["failurePolicy"] = "Ignore"
    await http.put(f"{POLICIES}/p", json=stored)
    assert (await http.post(DEFAULT_CMS, json=configmap("c1"))).status_code == 201


async def test_variables_compose_and_fail_only_where_used(http: httpx.AsyncClient) -> None:
    variables = [{"name": "team", "expression": "object.metadata.labels.team"},
                 {"name": "allowed", "expression": "variables.team in ['a', 'b']"}]
    await install(http, policy("p", validation("variables.allowed", messageExpression="'team ' + variables.team"),
                               variables=variables))
    assert (await http.post(DEFAULT_CMS, json=configmap("a", labels={"team": "a"}))).status_code == 201
    assert denied_text(await http.post(DEFAULT_CMS, json=configmap("c", labels={"team": "c"}))).endswith(
        "denied request: team c")
    unlabelled = await http.post(DEFAULT_CMS, json=configmap("none"))  # the error of a variable where it is used
    assert denied_text(unlabelled).endswith("denied request: expression 'variables.allowed' resulted in error: no"
                                            " such key: labels")
    unused = [{"name": "broken", "expression": "object.nope"}]
    await install(http, policy("q", validation("true"), variables=unused))
    assert (await http.post(DEFAULT_CMS, json=configmap("b", labels={"team": "b"}))).status_code == 201
    refused = await http.post(POLICIES, json=policy("r", validation("variables.later"), variables=[
        {"name": "first", "expression": "variables.later"}, {"name": "later", "expression": "true"}]))
    assert refused.status_code == 422 and "undefined field 'later'" in refused.json()["message"]


async def test_object_old_object_request_params_and_namespace_object(http: httpx.AsyncClient) -> None:
    report = ("request.operation + ' ' + request.name + ' ' + request.namespace + ' ' + request.kind.kind + ' '"
              " + request.resource.resource + ' ' + request.userInfo.username + ' dry=' + string(request.dryRun)"
              " + ' params=' + string(params == null) + ' ns=' + namespaceObject.metadata.labels.env"
              " + ' old=' + (oldObject == null ? 'null' : oldObject.data.v)"
              " + ' new=' + (object == null ? 'null' : object.data.v)")
    await install(http, policy("p", validation("false", messageExpression=report)))
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "team", "labels": {"env": "prod"}}})
    path = CONFIGMAPS.format(ns="team")
    created = await http.post(path, json=configmap("c1", v="1"))
    assert denied_text(created).endswith(
        "denied request: CREATE c1 team ConfigMap configmaps system:anonymous dry=false params=true ns=prod old=null"
        " new=1")
    await http.delete(f"{BINDINGS}/p-binding")
    await http.post(path, json=configmap("c1", v="1"))
    await http.post(BINDINGS, json=binding("p-binding", "p"))
    updated = await http.put(f"{path}/c1", json=configmap("c1", v="2"), params={"dryRun": "All"})
    assert denied_text(updated).endswith("UPDATE c1 team ConfigMap configmaps system:anonymous dry=true params=true"
                                         " ns=prod old=1 new=2")
    deleted = await http.delete(f"{path}/c1")
    assert denied_text(deleted).endswith("DELETE c1 team ConfigMap configmaps system:anonymous dry=false"
                                         " params=true ns=prod old=1 new=null")


async def test_cluster_scoped_objects_have_no_namespace_object(http: httpx.AsyncClient) -> None:
    await install(http, policy("p", validation("false", messageExpression=(
        "string(namespaceObject == null) + ' ' + string(has(request.namespace)) + ' ' + request.name")),
        rules=[{"apiGroups": ["", "rbac.authorization.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["namespaces", "clusterroles"]}]))
    role = await http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json={"metadata": {"name": "r"}})
    assert denied_text(role).endswith("denied request: true false r")
    namespace = await http.post("/api/v1/namespaces", json={"metadata": {"name": "n"}})
    assert denied_text(namespace).endswith("denied request: true true n")  # a Namespace is in itself
    assert namespace.json()["message"].startswith('namespaces "n" is forbidden:')


async def test_policies_run_before_the_webhooks_in_the_same_admission_step(
        http: httpx.AsyncClient, webhook: WebhookServer) -> None:
    await register(http, hook("all.example.com", webhook.url(), webhook.ca_bundle, groups=("*",), resources=("*",)))
    await install(http, policy("p", PREFIXED))  # admission objects are not sent to webhooks
    assert webhook.reviews == []
    assert (await http.post(DEFAULT_CMS, json=configmap("c1"))).status_code == 422
    assert webhook.reviews == []  # denied by the policy: no webhook called
    webhook.responders["/validate"] = lambda request: {"allowed": False, "status": {"message": "hook says no"}}
    refused = await http.post(DEFAULT_CMS, json=configmap("ok-1"))
    assert refused.status_code == 400 and "hook says no" in refused.json()["message"]
    assert [r["name"] for r in webhook.requests()] == ["ok-1"]


async def test_admission_objects_are_never_subject_to_policies(http: httpx.AsyncClient) -> None:
    everything = [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"]}]
    await install(http, policy("all", validation("false"), rules=everything))
    assert (await http.post("/api/v1/namespaces", json={"metadata": {"name": "nope"}})).status_code == 422
    assert (await http.post(POLICIES, json=policy("other", validation("true")))).status_code == 201
    assert (await http.post(BINDINGS, json=binding("other-b", "other"))).status_code == 201
    assert (await http.delete(f"{POLICIES}/all")).status_code == 200


async def test_a_denial_without_a_name_in_the_request_names_the_object(http: httpx.AsyncClient) -> None:
    await make_namespace(http, "team")
    await http.post(CONFIGMAPS.format(ns="team"), json=configmap("c1"))
    await install(http, policy("p", validation("false")))
    generated = await http.post(DEFAULT_CMS, json={"metadata": {"generateName": "gen-"}})
    assert generated.json()["message"].startswith('configmaps "gen-')  # the generated name, as admission sees it
    collection = await http.delete(CONFIGMAPS.format(ns="team"))  # deletecollection: no name in the request
    assert collection.json()["message"].startswith('configmaps "Unknown" is forbidden: ')
