"""Which writes a ValidatingAdmissionPolicy applies to: its matchConstraints (rules with operations, groups,
versions, resources and subresources, scope and resourceNames; excludeResourceRules; namespaceSelector;
objectSelector; matchPolicy) narrowed by its binding's matchResources, as kube-apiserver matches them."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from .admission_policies import BINDINGS, CONFIGMAPS, POLICIES, binding, configmap, install, policy, rule, validation
from .helpers import WIDGETS, WIDGETS_CRD

pytestmark = pytest.mark.integration
DENY = validation("false", messageExpression="'matched ' + request.resource.resource")
CLUSTERROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles"


async def namespace(http: httpx.AsyncClient, name: str, **labels: str) -> None:
    response = await http.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}})
    assert response.status_code == 201, response.text


async def status(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> int:
    return (await http.post(path, json=body)).status_code


async def test_operations_groups_and_resources_select_the_writes(http: httpx.AsyncClient) -> None:
    await install(http, policy("p", DENY, rules=[rule(("configmaps",), operations=("DELETE",)),
                                                 rule(("*",), groups=("rbac.authorization.k8s.io",))]))
    cms = CONFIGMAPS.format(ns="default")
    assert await status(http, cms, configmap("c1")) == 201
    assert (await http.put(f"{cms}/c1", json=configmap("c1", v="2"))).status_code == 200
    assert (await http.delete(f"{cms}/c1")).status_code == 422
    assert await status(http, CLUSTERROLES, {"metadata": {"name": "r"}}) == 422
    assert await status(http, "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}}) == 201


async def test_subresources_are_matched_only_by_rules_that_name_them(http: httpx.AsyncClient, widgets: str) -> None:
    collection = WIDGETS.format(ns="default")
    await install(http, policy("p", validation("false", messageExpression="'sub=' + request.subResource"),
                               rules=[rule(("widgets/status",), groups=("example.com",), versions=("*",))]))
    created = await http.post(collection, json={"metadata": {"name": "w1"}, "spec": {}})
    assert created.status_code == 201
    refused = await http.put(f"{collection}/w1/status", json={**created.json(), "status": {"ready": True}})
    assert refused.status_code == 422 and refused.json()["message"].endswith("denied request: sub=status")
    await http.delete(f"{BINDINGS}/p-binding")
    await install(http, policy("q", DENY, rules=[rule(("*",), groups=("example.com",), versions=("*",))]))
    assert (await http.put(f"{collection}/w1/status", json={**created.json(), "status": {"ready": 1}})).status_code \
        == 200
    assert (await http.delete(f"{collection}/w1")).status_code == 422


async def test_scope_tells_cluster_scoped_objects_and_namespaces_from_namespaced_ones(
        http: httpx.AsyncClient) -> None:
    everything = rule(("*",), groups=("", "rbac.authorization.k8s.io"), operations=("CREATE",), scope="Cluster")
    await install(http, policy("p", DENY, rules=[everything]))
    assert await status(http, CLUSTERROLES, {"metadata": {"name": "r"}}) == 422
    assert await status(http, "/api/v1/namespaces", {"metadata": {"name": "n"}}) == 422  # cluster-scoped
    assert await status(http, CONFIGMAPS.format(ns="default"), configmap("c1")) == 201


async def test_the_namespace_selector_reads_the_namespaces_labels(http: httpx.AsyncClient) -> None:
    await namespace(http, "prod", env="prod")
    await namespace(http, "dev", env="dev")
    await install(http, policy("p", DENY, rules=[rule(("configmaps", "namespaces", "clusterroles"), groups=(
        "", "rbac.authorization.k8s.io"))], matchConstraints={"namespaceSelector": {"matchLabels": {"env": "prod"}}}))
    assert await status(http, CONFIGMAPS.format(ns="prod"), configmap("c1")) == 422
    assert await status(http, CONFIGMAPS.format(ns="dev"), configmap("c1")) == 201
    assert await status(http, CLUSTERROLES, {"metadata": {"name": "r"}}) == 422  # never skipped by it
    assert await status(http, "/api/v1/namespaces", {"metadata": {"name": "p2", "labels": {"env": "prod"}}}) == 422
    assert await status(http, "/api/v1/namespaces", {"metadata": {"name": "d2", "labels": {"env": "dev"}}}) == 201


async def test_the_object_selector_reads_the_new_or_the_old_object(http: httpx.AsyncClient) -> None:
    cms = CONFIGMAPS.format(ns="default")
    await http.post(cms, json=configmap("locked", labels={"lock": "yes"}))
    await install(http, policy("p", DENY, matchConstraints={"objectSelector": {"matchExpressions": [
        {"key": "lock", "operator": "Exists"}]}}))
    assert await status(http, cms, configmap("free")) == 201
    assert await status(http, cms, configmap("new", labels={"lock": "x"})) == 422
    assert (await http.put(f"{cms}/locked", json=configmap("locked"))).status_code == 422  # the old one has it
    assert (await http.delete(f"{cms}/locked")).status_code == 422


async def test_excluded_rules_and_resource_names(http: httpx.AsyncClient) -> None:
    cms, secrets = CONFIGMAPS.format(ns="default"), "/api/v1/namespaces/default/secrets"
    await install(http, policy("p", DENY, rules=[rule(("*",))], matchConstraints={
        "excludeResourceRules": [rule(("configmaps",))]}))
    assert await status(http, cms, configmap("c1")) == 201
    assert await status(http, secrets, {"metadata": {"name": "s1"}}) == 422
    await http.delete(f"{BINDINGS}/p-binding")
    await install(http, policy("q", DENY, rules=[rule(("configmaps",), resourceNames=["locked"])]))
    assert await status(http, cms, configmap("locked")) == 422
    assert await status(http, cms, configmap("other")) == 201


async def test_a_bindings_match_resources_narrow_the_policy(http: httpx.AsyncClient) -> None:
    await namespace(http, "prod", env="prod")
    await namespace(http, "dev", env="dev")
    await install(http, policy("p", validation("false", message="not here")),
                  binding("prod-only", "p", matchResources={"namespaceSelector": {"matchLabels": {"env": "prod"}}}),
                  binding("everywhere", "p", ("Warn",), matchResources={"resourceRules": [rule(("configmaps",))],
                                                                        "excludeResourceRules": []}))
    assert (await http.get(f"{BINDINGS}/prod-only")).json()["spec"]["matchResources"] == {
        "namespaceSelector": {"matchLabels": {"env": "prod"}}, "objectSelector": {}, "matchPolicy": "Equivalent"}
    refused = await http.post(CONFIGMAPS.format(ns="prod"), json=configmap("c1"))
    assert refused.status_code == 422 and "with binding 'prod-only' denied request: not here" in refused.text
    allowed = await http.post(CONFIGMAPS.format(ns="dev"), json=configmap("c1"))
    assert allowed.status_code == 201
    assert allowed.headers.get_list("Warning") == [
        "299 - \"Validation failed for ValidatingAdmissionPolicy 'p' with binding 'everywhere': not here\""]


async def test_equivalent_versions_match_unless_the_policy_is_exact(http: httpx.AsyncClient) -> None:
    crd = copy.deepcopy(WIDGETS_CRD)
    crd["spec"]["versions"].append({**crd["spec"]["versions"][0], "name": "v2", "storage": False})
    assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)).status_code == 201
    report = "request.kind.version + ' ' + request.requestKind.version + ' ' + object.apiVersion"
    v1_only = rule(("widgets",), groups=("example.com",), versions=("v1",))
    await install(http, policy("p", validation("false", messageExpression=report), rules=[v1_only]))
    v2 = "/apis/example.com/v2/namespaces/default/widgets"
    refused = await http.post(v2, json={"metadata": {"name": "w1"}, "spec": {}})
    assert refused.status_code == 422 and refused.json()["message"].endswith(
        "denied request: v1 v2 example.com/v1")  # asked about the version its rule names
    stored = (await http.get(f"{POLICIES}/p")).json()
    stored["spec"]["matchConstraints"]["matchPolicy"] = "Exact"
    assert (await http.put(f"{POLICIES}/p", json=stored)).status_code == 200
    assert await status(http, v2, {"metadata": {"name": "w1"}, "spec": {}}) == 201
