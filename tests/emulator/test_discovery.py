"""Discovery as a real kube-apiserver serves it (what kubectl and client-go read first)."""

from __future__ import annotations

import httpx

from .helpers import WIDGETS_CRD


async def test_core_group_version_is_plain_v1_like_a_real_apiserver(http: httpx.AsyncClient) -> None:
    api = (await http.get("/api")).json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    v1 = (await http.get("/api/v1")).json()
    assert v1["kind"] == "APIResourceList"
    assert v1["groupVersion"] == "v1"  # not "/v1": kubectl finds no core types otherwise
    names = {r["name"]: r for r in v1["resources"]}
    assert names["namespaces"]["namespaced"] is False and names["namespaces"]["kind"] == "Namespace"
    assert {"secrets", "serviceaccounts", "configmaps", "events", "namespaces/status"} <= set(names)
    assert "watch" in names["secrets"]["verbs"] and "deletecollection" in names["secrets"]["verbs"]


async def test_named_groups_list_their_versions_and_resources(http: httpx.AsyncClient) -> None:
    groups = {g["name"]: g for g in (await http.get("/apis")).json()["groups"]}
    for group in ("rbac.authorization.k8s.io", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"):
        assert groups[group]["preferredVersion"] == {"groupVersion": f"{group}/v1", "version": "v1"}
    rbac = (await http.get("/apis/rbac.authorization.k8s.io/v1")).json()
    scopes = {r["name"]: r["namespaced"] for r in rbac["resources"]}
    assert scopes == {"clusterrolebindings": False, "clusterroles": False, "rolebindings": True, "roles": True}
    group = (await http.get("/apis/coordination.k8s.io")).json()
    assert group["kind"] == "APIGroup" and group["versions"][0]["version"] == "v1"


async def test_version_endpoint_answers_like_kube_apiserver(http: httpx.AsyncClient) -> None:
    for path in ("/version", "/version/"):
        body = (await http.get(path)).json()
        assert body["major"] == "1" and body["gitVersion"].startswith("v1.")


async def test_unknown_group_version_is_a_404_status(http: httpx.AsyncClient) -> None:
    response = await http.get("/apis/example.com/v1")
    assert response.status_code == 404
    assert response.json()["kind"] == "Status" and response.json()["reason"] == "NotFound"


async def test_creating_a_crd_makes_its_resource_discoverable_and_deleting_it_removes_it(
    http: httpx.AsyncClient,
) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    created = await http.post(crds, json=WIDGETS_CRD)
    assert created.status_code == 201
    conditions = {c["type"]: c["status"] for c in created.json()["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created.json()["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    resources = (await http.get("/apis/example.com/v1")).json()["resources"]
    assert {(r["name"], r["kind"], r["namespaced"]) for r in resources} == {
        ("widgets", "Widget", True), ("widgets/status", "Widget", True)}
    assert "example.com" in {g["name"] for g in (await http.get("/apis")).json()["groups"]}

    assert (await http.delete(f"{crds}/widgets.example.com")).status_code == 200
    assert (await http.get(f"{crds}/widgets.example.com")).status_code == 404
    assert (await http.get("/apis/example.com/v1")).status_code == 404
    assert (await http.get("/apis/example.com/v1/namespaces/default/widgets")).status_code == 404


async def test_unknown_endpoints_are_404_status_and_health_endpoints_answer_ok(http: httpx.AsyncClient) -> None:
    missing = await http.get("/no/such/endpoint")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    assert (await http.get("/healthz")).text == "ok"
    assert "/api/v1" in (await http.get("/")).json()["paths"]
