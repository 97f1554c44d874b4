"""Create, read, replace, patch and delete semantics of a real kube-apiserver, over raw HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from .helpers import make_namespace

CMS = "/api/v1/namespaces/{ns}/configmaps"


async def create_cm(http: httpx.AsyncClient, name: str, ns: str = "default", **extra: Any) -> dict[str, Any]:
    response = await http.post(CMS.format(ns=ns), json={"metadata": {"name": name}, "data": {"k": "v"}, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_answers_201_with_server_set_metadata(http: httpx.AsyncClient) -> None:
    body = await create_cm(http, "c1")
    meta = body["metadata"]
    assert body["kind"] == "ConfigMap" and body["apiVersion"] == "v1"
    assert meta["namespace"] == "default"  # filled from the path
    assert len(meta["uid"]) == 36 and meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z") and int(meta["resourceVersion"]) > 0


async def test_resource_versions_come_from_one_global_increasing_counter(http: httpx.AsyncClient) -> None:
    a = await create_cm(http, "a")
    b = await create_cm(http, "b")
    patched = (await http.patch(CMS.format(ns="default") + "/a", json={"data": {"x": "1"}},
                                headers={"Content-Type": "application/merge-patch+json"})).json()
    versions = [int(x["metadata"]["resourceVersion"]) for x in (a, b, patched)]
    assert versions == sorted(versions) and len(set(versions)) == 3
    listed = (await http.get(CMS.format(ns="default"))).json()
    assert listed["kind"] == "ConfigMapList"
    assert int(listed["metadata"]["resourceVersion"]) >= versions[-1]


async def test_generate_name_gets_a_random_suffix(http: httpx.AsyncClient) -> None:
    response = await http.post(CMS.format(ns="default"), json={"metadata": {"generateName": "gen-"}})
    name = response.json()["metadata"]["name"]
    assert response.status_code == 201 and name.startswith("gen-") and len(name) == 9


async def test_duplicate_create_is_409_already_exists(http: httpx.AsyncClient) -> None:
    await create_cm(http, "dup")
    response = await http.post(CMS.format(ns="default"), json={"metadata": {"name": "dup"}})
    assert response.status_code == 409
    status = response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "AlreadyExists", 409)
    assert status["details"] == {"kind": "configmaps", "name": "dup"}


async def test_missing_object_is_404_not_found_status(http: httpx.AsyncClient) -> None:
    response = await http.get(CMS.format(ns="default") + "/nope")
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"
    assert response.json()["message"] == 'configmaps "nope" not found'


async def test_creating_in_a_missing_namespace_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post(CMS.format(ns="ghost"), json={"metadata": {"name": "x"}})
    assert response.status_code == 404 and response.json()["message"] == 'namespaces "ghost" not found'


async def test_namespace_mismatch_between_body_and_path_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(CMS.format(ns="default"), json={"metadata": {"name": "x", "namespace": "kube-system"}})
    assert response.status_code == 400


async def test_namespaces_are_a_cluster_scoped_resource_with_their_own_routes(http: httpx.AsyncClient) -> None:
    ns = await make_namespace(http, "team-a")
    assert ns["status"] == {"phase": "Active"} and "namespace" not in ns["metadata"]
    names = [n["metadata"]["name"] for n in (await http.get("/api/v1/namespaces")).json()["items"]]
    assert "team-a" in names and "default" in names
    assert (await http.get("/api/v1/namespaces/team-a")).json()["metadata"]["uid"] == ns["metadata"]["uid"]


async def test_put_replaces_and_a_stale_resource_version_is_409_conflict(http: httpx.AsyncClient) -> None:
    body = await create_cm(http, "r")
    url = CMS.format(ns="default") + "/r"
    body["data"] = {"new": "yes"}
    replaced = await http.put(url, json=body)
    assert replaced.status_code == 200 and replaced.json()["data"] == {"new": "yes"}
    stale = await http.put(url, json=body)  # still carries the old resourceVersion
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    missing = await http.put(CMS.format(ns="default") + "/absent", json={"metadata": {"name": "absent"}})
    assert missing.status_code == 404


async def test_merge_patch_with_a_stale_resource_version_is_409(http: httpx.AsyncClient) -> None:
    body = await create_cm(http, "p")
    url = CMS.format(ns="default") + "/p"
    rv = {"resourceVersion": body["metadata"]["resourceVersion"]}
    ok = await http.patch(url, json={"data": {"a": "1"}, "metadata": rv},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert ok.status_code == 200 and ok.json()["data"] == {"k": "v", "a": "1"}
    stale = await http.patch(url, json={"data": {"b": "2"}, "metadata": rv},
                             headers={"Content-Type": "application/merge-patch+json"})
    assert stale.status_code == 409


async def test_merge_patch_null_deletes_keys_and_lists_are_replaced(http: httpx.AsyncClient) -> None:
    # finalizers of core kinds are domain-qualified ("a" alone is refused: not a standard finalizer name)
    await create_cm(http, "m", metadata={"name": "m", "finalizers": ["example.com/a", "example.com/b"]})
    url = CMS.format(ns="default") + "/m"
    patched = (await http.patch(url, json={"data": {"k": None}, "metadata": {"finalizers": ["example.com/c"]}},
                                headers={"Content-Type": "application/merge-patch+json"})).json()
    assert "k" not in patched.get("data", {}) and patched["metadata"]["finalizers"] == ["example.com/c"]


async def test_strategic_merge_patch_merges_maps_and_drops_directives(http: httpx.AsyncClient) -> None:
    await create_cm(http, "s")
    patched = await http.patch(CMS.format(ns="default") + "/s",
                               json={"data": {"z": "1"}, "$setElementOrder/data": [{"k": "v"}]},
                               headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert patched.status_code == 200 and patched.json()["data"] == {"k": "v", "z": "1"}
    assert "$setElementOrder/data" not in patched.json()


async def test_json_patch_with_failing_test_is_422_and_changes_nothing(http: httpx.AsyncClient) -> None:
    body = await create_cm(http, "j")
    url = CMS.format(ns="default") + "/j"
    rv = body["metadata"]["resourceVersion"]
    headers = {"Content-Type": "application/json-patch+json"}
    ok = await http.patch(url, headers=headers, json=[
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ])
    assert ok.status_code == 200 and ok.json()["metadata"]["finalizers"] == ["x/y"]
    failed = await http.patch(url, headers=headers, json=[
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "remove", "path": "/metadata/finalizers"},
    ])
    assert failed.status_code == 422 and failed.json()["reason"] == "Invalid"
    assert (await http.get(url)).json()["metadata"]["finalizers"] == ["x/y"]


async def test_server_side_apply_creates_then_merges_other_managers_and_drops_what_a_manager_stops_applying(
        http: httpx.AsyncClient) -> None:
    url = CMS.format(ns="default") + "/applied"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: '1'\n"
    created = await http.patch(url, params={"fieldManager": "test"}, headers=headers, content=doc)
    assert created.status_code == 201 and created.json()["data"] == {"a": "1"}
    assert created.json()["metadata"]["namespace"] == "default"
    doc2 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  b: '2'\n"
    other = await http.patch(url, params={"fieldManager": "other"}, headers=headers, content=doc2)
    assert other.status_code == 200 and other.json()["data"] == {"a": "1", "b": "2"}
    # The same manager applying without "a": the field it owned alone is removed.
    doc3 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  c: '3'\n"
    dropped = await http.patch(url, params={"fieldManager": "test"}, headers=headers, content=doc3)
    assert dropped.status_code == 200 and dropped.json()["data"] == {"b": "2", "c": "3"}
    no_manager = await http.patch(url, headers=headers, content=doc2)
    assert no_manager.status_code == 422


async def test_unchanged_write_keeps_the_resource_version(http: httpx.AsyncClient) -> None:
    body = await create_cm(http, "same")
    again = await http.patch(CMS.format(ns="default") + "/same", json={"data": {"k": "v"}},
                             headers={"Content-Type": "application/merge-patch+json"})
    assert again.json()["metadata"]["resourceVersion"] == body["metadata"]["resourceVersion"]


async def test_unsupported_patch_content_type_is_415(http: httpx.AsyncClient) -> None:
    await create_cm(http, "ct")
    response = await http.patch(CMS.format(ns="default") + "/ct", content=b"{}",
                                headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_generation_bumps_on_spec_changes_only(http: httpx.AsyncClient, widgets: str) -> None:
    url = widgets.format(ns="default")
    created = (await http.post(url, json={"metadata": {"name": "g"}, "spec": {"size": 1}})).json()
    assert created["metadata"]["generation"] == 1
    merge = {"Content-Type": "application/merge-patch+json"}
    labelled = (await http.patch(f"{url}/g", json={"metadata": {"labels": {"a": "b"}}}, headers=merge)).json()
    assert labelled["metadata"]["generation"] == 1
    statused = (await http.patch(f"{url}/g/status", json={"status": {"ready": True}}, headers=merge)).json()
    assert statused["metadata"]["generation"] == 1 and statused["status"] == {"ready": True}
    specced = (await http.patch(f"{url}/g", json={"spec": {"size": 2}}, headers=merge)).json()
    assert specced["metadata"]["generation"] == 2


async def test_status_subresource_isolates_status_from_spec(http: httpx.AsyncClient, widgets: str) -> None:
    url = widgets.format(ns="default")
    created = (await http.post(url, json={"metadata": {"name": "s"}, "spec": {"size": 1},
                                          "status": {"dropped": "on create"}})).json()
    assert "status" not in created
    merge = {"Content-Type": "application/merge-patch+json"}
    main = (await http.patch(f"{url}/s", json={"spec": {"size": 2}, "status": {"ignored": 1}}, headers=merge)).json()
    assert main["spec"] == {"size": 2} and "status" not in main
    sub = (await http.patch(f"{url}/s/status", json={"spec": {"size": 99}, "status": {"phase": "Ready"},
                                                    "metadata": {"labels": {"x": "y"}}}, headers=merge)).json()
    assert sub["spec"] == {"size": 2} and sub["status"] == {"phase": "Ready"}
    assert "labels" not in sub["metadata"]
    current = (await http.get(f"{url}/s")).json()
    current["status"] = {"phase": "Changed by PUT"}
    current["spec"] = {"size": 3}
    put_main = (await http.put(f"{url}/s", json=current)).json()
    assert put_main["status"] == {"phase": "Ready"} and put_main["spec"] == {"size": 3}


async def test_status_of_a_resource_without_status_subresource_is_404(http: httpx.AsyncClient) -> None:
    await create_cm(http, "nostatus")
    response = await http.patch(CMS.format(ns="default") + "/nostatus/status", json={"status": {}},
                                headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/namespaces/default/nothings", "/apis/example.com/v1/widgets"])
async def test_undeclared_resources_are_404(http: httpx.AsyncClient, path: str) -> None:
    assert (await http.get(path)).status_code == 404


async def test_list_honours_limit_and_continue(http: httpx.AsyncClient) -> None:
    await asyncio.gather(*(create_cm(http, f"page-{i}") for i in range(5)))
    first = (await http.get(CMS.format(ns="default"), params={"limit": 3})).json()
    assert len(first["items"]) == 3 and first["metadata"]["continue"]
    rest = (await http.get(CMS.format(ns="default"), params={"limit": 3,
                                                             "continue": first["metadata"]["continue"]})).json()
    names = [i["metadata"]["name"] for i in first["items"] + rest["items"]]
    assert names == [f"page-{i}" for i in range(5)] and not rest["metadata"].get("continue")
