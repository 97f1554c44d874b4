"""Which writes a validating webhook is asked about: its rules (operations, groups, versions, resources and
subresources, scope, matchPolicy), its namespaceSelector and its objectSelector, as kube-apiserver matches."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from .helpers import WIDGETS, WIDGETS_CRD, make_namespace
from .test_admission import WIDGET, register
from .webhook_server import WebhookServer, hook

pytestmark = pytest.mark.integration
VWCS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


def rule(operations: list[str], groups: list[str], resources: list[str], **fields: Any) -> dict[str, Any]:
    return {"operations": operations, "apiGroups": groups, "apiVersions": ["*"], "resources": resources, **fields}


def widget(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(WIDGET)
    body["metadata"] = {"name": name, **({"labels": labels} if labels else {})}
    return body


async def test_rules_for_other_resources_groups_or_operations_are_not_called(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http, hook("other.example.com", webhook.url("/other"), webhook.ca_bundle, rules=[
        rule(["*"], [""], ["configmaps"]), rule(["*"], ["apps"], ["widgets"]),
        rule(["DELETE"], ["example.com"], ["widgets"])]))
    assert (await http.post(WIDGETS.format(ns="default"), json=widget("w1"))).status_code == 201
    assert webhook.reviews == []
    assert (await http.post("/api/v1/namespaces/default/configmaps",
                            json={"metadata": {"name": "c"}})).status_code == 201
    assert (await http.delete(f"{WIDGETS.format(ns='default')}/w1")).status_code == 200
    assert [(r["resource"]["resource"], r["operation"]) for r in webhook.requests()] == [
        ("configmaps", "CREATE"), ("widgets", "DELETE")]


async def test_subresources_match_only_rules_that_name_them(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    path = f"{WIDGETS.format(ns='default')}/w1"
    created = (await http.post(WIDGETS.format(ns="default"), json=widget("w1"))).json()
    await register(http, hook("main.example.com", webhook.url("/main"), webhook.ca_bundle, resources=("widgets",)),
                   hook("status.example.com", webhook.url("/status"), webhook.ca_bundle,
                        resources=("widgets/status",)),
                   hook("any-status.example.com", webhook.url("/any-status"), webhook.ca_bundle,
                        resources=("*/status",)),
                   hook("all.example.com", webhook.url("/all"), webhook.ca_bundle, resources=("widgets/*",)))
    status = await http.put(f"{path}/status", json={**created, "status": {"ready": True}})
    assert status.status_code == 200
    assert sorted(p.split("?")[0] for p in webhook.paths) == ["/all", "/any-status", "/status"]
    request = webhook.requests("/status")[0]
    assert request["subResource"] == request["requestSubResource"] == "status"
    assert request["object"]["status"] == {"ready": True} and request["operation"] == "UPDATE"
    webhook.reviews.clear()
    webhook.paths.clear()
    assert (await http.patch(path, json={"spec": {"size": 2}},
                             headers={"Content-Type": "application/merge-patch+json"})).status_code == 200
    assert sorted(p.split("?")[0] for p in webhook.paths) == ["/all", "/main"]


async def test_scope_tells_namespaced_objects_from_cluster_scoped_ones_and_namespaces(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http,
                   hook("namespaced.example.com", webhook.url("/namespaced"), webhook.ca_bundle,
                        rules=[rule(["CREATE"], ["*"], ["*"], scope="Namespaced")]),
                   hook("cluster.example.com", webhook.url("/cluster"), webhook.ca_bundle,
                        rules=[rule(["CREATE"], ["*"], ["*"], scope="Cluster")]))
    await make_namespace(http, "team")
    await http.post(WIDGETS.format(ns="team"), json=widget("w1"))
    seen = [(p.split("?")[0], r["request"]["resource"]["resource"]) for p, r in zip(webhook.paths, webhook.reviews,
                                                                                     strict=True)]
    assert ("/cluster", "namespaces") in seen and ("/namespaced", "widgets") in seen
    assert ("/namespaced", "namespaces") not in seen and ("/cluster", "widgets") not in seen
    assert webhook.requests("/cluster")[0]["namespace"] == "team"  # a Namespace is in itself


async def test_namespace_selector_uses_the_namespaces_labels_or_a_namespaces_own(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "watched", "labels": {"admission": "on"}}})
    await make_namespace(http, "quiet")
    await register(http, hook("ns.example.com", webhook.url(), webhook.ca_bundle,
                              rules=[rule(["*"], ["example.com"], ["widgets"]), rule(["*"], [""], ["namespaces"]),
                                     rule(["*"], ["rbac.authorization.k8s.io"], ["clusterroles"])],
                              namespaceSelector={"matchExpressions": [
                                  {"key": "admission", "operator": "In", "values": ["on"]}]}))
    await http.post(WIDGETS.format(ns="watched"), json=widget("w1"))
    await http.post(WIDGETS.format(ns="quiet"), json=widget("w1"))
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "fresh", "labels": {"admission": "on"}}})
    await make_namespace(http, "unlabelled")
    await http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json={"metadata": {"name": "r"}, "rules": []})
    called = [(r["resource"]["resource"], r["namespace"] if "namespace" in r else r["name"])
              for r in webhook.requests()]
    assert called == [("widgets", "watched"), ("namespaces", "fresh"), ("clusterroles", "r")]


async def test_object_selector_matches_the_new_or_the_old_labels(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    collection = WIDGETS.format(ns="default")
    await register(http, hook("obj.example.com", webhook.url(), webhook.ca_bundle,
                              objectSelector={"matchLabels": {"checked": "yes"}}))
    await http.post(collection, json=widget("plain"))
    await http.post(collection, json=widget("marked", {"checked": "yes"}))
    assert [r["name"] for r in webhook.requests()] == ["marked"]
    unmark = [{"op": "remove", "path": "/metadata/labels"}]
    mark = {"metadata": {"labels": {"checked": "yes"}}}
    json_patch = {"Content-Type": "application/json-patch+json"}
    merge = {"Content-Type": "application/merge-patch+json"}
    assert (await http.patch(f"{collection}/marked", json=unmark, headers=json_patch)).status_code == 200
    assert (await http.patch(f"{collection}/plain", json={"spec": {"size": 3}}, headers=merge)).status_code == 200
    assert (await http.patch(f"{collection}/plain", json=mark, headers=merge)).status_code == 200
    assert [(r["name"], r["operation"]) for r in webhook.requests()] == [
        ("marked", "CREATE"), ("marked", "UPDATE"), ("plain", "UPDATE")]


async def test_equivalent_match_policy_asks_about_the_version_the_rule_names(
        http: httpx.AsyncClient, webhook: WebhookServer) -> None:
    crd = copy.deepcopy(WIDGETS_CRD)
    crd["spec"]["versions"].append({**crd["spec"]["versions"][0], "name": "v2", "storage": False})
    assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)).status_code == 201
    v2_only = [{"operations": ["CREATE"], "apiGroups": ["example.com"], "apiVersions": ["v2"],
                "resources": ["widgets"]}]
    await register(http, hook("equivalent.example.com", webhook.url("/eq"), webhook.ca_bundle, rules=v2_only),
                   hook("exact.example.com", webhook.url("/exact"), webhook.ca_bundle, rules=v2_only,
                        matchPolicy="Exact"))
    assert (await http.post(WIDGETS.format(ns="default"), json=widget("w1"))).status_code == 201
    assert [p.split("?")[0] for p in webhook.paths] == ["/eq"]
    request = webhook.requests()[0]
    assert request["kind"] == {"group": "example.com", "version": "v2", "kind": "Widget"}
    assert request["resource"]["version"] == "v2" and request["requestResource"]["version"] == "v1"
    assert request["requestKind"]["version"] == "v1" and request["object"]["apiVersion"] == "example.com/v2"


async def test_webhook_configurations_are_never_sent_to_webhooks(
        http: httpx.AsyncClient, webhook: WebhookServer) -> None:
    webhook.responders["/validate"] = lambda _r: {"allowed": False}
    await register(http, hook("everything.example.com", webhook.url(), webhook.ca_bundle,
                              rules=[rule(["*"], ["*"], ["*/*"])]), name="deny-all")
    assert (await http.post("/api/v1/namespaces/default/configmaps",
                            json={"metadata": {"name": "c"}})).status_code == 400
    await register(http, hook("more.example.com", webhook.url(), webhook.ca_bundle), name="another")
    assert (await http.delete(f"{VWCS}/deny-all")).status_code == 200  # the way out always works
    assert len(webhook.reviews) == 1


async def test_deletecollection_asks_about_each_object_without_naming_it(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    collection = WIDGETS.format(ns="default")
    for name in ("a", "b", "c"):
        await http.post(collection, json=widget(name))
    webhook.responders["/validate"] = lambda r: (
        {"allowed": False, "status": {"message": "not b"}} if r["oldObject"]["metadata"]["name"] == "b"
        else {"allowed": True})
    await register(http, hook("bulk.example.com", webhook.url(), webhook.ca_bundle, operations=("DELETE",)))
    refused = await http.delete(collection)
    assert refused.status_code == 400 and "not b" in refused.json()["message"]
    assert [(r["operation"], r.get("name"), r["namespace"]) for r in webhook.requests()] == [
        ("DELETE", None, "default"), ("DELETE", None, "default")]
    left = (await http.get(collection)).json()["items"]
    assert [i["metadata"]["name"] for i in left] == ["b", "c"]
