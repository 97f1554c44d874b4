"""Control-plane behaviour around the API server: GC, namespaces, finalizers, ServiceAccounts, CRDs.

The garbage collector and the namespace controller act after the request that caused their work, a moment later
(as kube-controller-manager does): these tests used to check their results right after the DELETE, which only the
emulator's former synchronous collection allowed; they now wait for them (``gone``/``eventually``)."""

from __future__ import annotations

from typing import Any

import httpx

from shipway_sandbox.emulator import ClusterEmulator

from .helpers import eventually, make_namespace

CMS = "/api/v1/namespaces/{ns}/configmaps"
SECRETS = "/api/v1/namespaces/{ns}/secrets"
MERGE = {"Content-Type": "application/merge-patch+json"}


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"]}


async def create(http: httpx.AsyncClient, url: str, name: str, **meta: Any) -> dict[str, Any]:
    response = await http.post(url, json={"metadata": {"name": name, **meta}})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def exists(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url)).status_code == 200


async def gone(http: httpx.AsyncClient, url: str) -> None:
    async def absent() -> bool:
        return not await exists(http, url)

    await eventually(absent)


async def test_deleting_an_owner_collects_its_dependents_recursively(http: httpx.AsyncClient) -> None:
    ns = "default"
    owner = await create(http, CMS.format(ns=ns), "owner")
    child = await create(http, SECRETS.format(ns=ns), "child", ownerReferences=[owner_ref(owner)])
    await create(http, CMS.format(ns=ns), "grandchild", ownerReferences=[owner_ref(child)])
    await create(http, CMS.format(ns=ns), "bystander")
    assert (await http.delete(f"{CMS.format(ns=ns)}/owner")).status_code == 200
    await gone(http, f"{SECRETS.format(ns=ns)}/child")
    await gone(http, f"{CMS.format(ns=ns)}/grandchild")
    assert await exists(http, f"{CMS.format(ns=ns)}/bystander")


async def test_dependent_with_another_live_owner_survives_and_loses_the_dangling_reference(
    http: httpx.AsyncClient,
) -> None:
    a = await create(http, CMS.format(ns="default"), "a")
    b = await create(http, CMS.format(ns="default"), "b")
    await create(http, SECRETS.format(ns="default"), "shared", ownerReferences=[owner_ref(a), owner_ref(b)])
    await http.delete(f"{CMS.format(ns='default')}/a")

    async def dropped() -> bool:
        shared = (await http.get(f"{SECRETS.format(ns='default')}/shared")).json()
        return [r["uid"] for r in shared["metadata"]["ownerReferences"]] == [b["metadata"]["uid"]]

    await eventually(dropped)


async def test_object_created_with_an_absent_owner_is_collected_right_away(http: httpx.AsyncClient) -> None:
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}
    response = await http.post(SECRETS.format(ns="default"), json={"metadata": {"name": "orphan",
                                                                                 "ownerReferences": [ghost]}})
    assert response.status_code == 201  # the API server accepts it; the garbage collector removes it
    await gone(http, f"{SECRETS.format(ns='default')}/orphan")


async def test_cluster_scoped_owner_owns_namespaced_dependents(http: httpx.AsyncClient) -> None:
    owner = (await http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles",
                             json={"metadata": {"name": "cr"}, "rules": []})).json()
    await create(http, SECRETS.format(ns="default"), "owned", ownerReferences=[owner_ref(owner)])
    assert await exists(http, f"{SECRETS.format(ns='default')}/owned")
    await http.delete("/apis/rbac.authorization.k8s.io/v1/clusterroles/cr")
    await gone(http, f"{SECRETS.format(ns='default')}/owned")


async def test_namespaced_owner_in_another_namespace_does_not_count(http: httpx.AsyncClient) -> None:
    owner = await create(http, CMS.format(ns="kube-system"), "far-owner")
    await create(http, SECRETS.format(ns="default"), "cross", ownerReferences=[owner_ref(owner)])
    await gone(http, f"{SECRETS.format(ns='default')}/cross")


async def test_orphan_propagation_keeps_dependents(http: httpx.AsyncClient) -> None:
    owner = await create(http, CMS.format(ns="default"), "o")
    await create(http, SECRETS.format(ns="default"), "kept", ownerReferences=[owner_ref(owner)])
    await http.request("DELETE", f"{CMS.format(ns='default')}/o", json={"propagationPolicy": "Orphan"})
    await gone(http, f"{CMS.format(ns='default')}/o")  # once the collector has orphaned its dependents
    kept = (await http.get(f"{SECRETS.format(ns='default')}/kept")).json()
    assert "ownerReferences" not in kept["metadata"]


async def test_delete_with_finalizers_only_marks_and_last_finalizer_removal_completes(
    http: httpx.AsyncClient,
) -> None:
    url = f"{CMS.format(ns='default')}/fin"
    await create(http, CMS.format(ns="default"), "fin", finalizers=["a/x", "b/y"])
    deleted = await http.delete(url)
    assert deleted.status_code == 200 and deleted.json()["metadata"]["deletionTimestamp"]
    assert (await http.get(url)).json()["metadata"]["deletionTimestamp"]
    again = await http.delete(url)  # deleting again changes nothing
    assert again.json()["metadata"]["finalizers"] == ["a/x", "b/y"]
    await http.patch(url, json={"metadata": {"finalizers": ["b/y"]}}, headers=MERGE)
    assert await exists(http, url)
    last = await http.patch(url, json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert last.status_code == 200
    assert not await exists(http, url)


async def test_deleting_a_namespace_deletes_everything_inside_it(http: httpx.AsyncClient) -> None:
    await make_namespace(http, "doomed")
    await create(http, CMS.format(ns="doomed"), "c")
    await create(http, SECRETS.format(ns="doomed"), "blocked", finalizers=["x/y"])
    await create(http, CMS.format(ns="default"), "outside")
    response = await http.delete("/api/v1/namespaces/doomed")
    assert response.json()["status"]["phase"] == "Terminating"
    refused = await http.post(CMS.format(ns="doomed"), json={"metadata": {"name": "late"}})
    assert refused.status_code == 403  # no new content in a terminating namespace
    await gone(http, f"{CMS.format(ns='doomed')}/c")
    assert await exists(http, "/api/v1/namespaces/doomed")  # waits for the finalizer of `blocked`
    await http.patch(f"{SECRETS.format(ns='doomed')}/blocked", json={"metadata": {"finalizers": []}}, headers=MERGE)
    await gone(http, "/api/v1/namespaces/doomed")
    assert await exists(http, f"{CMS.format(ns='default')}/outside")


async def test_default_service_account_appears_shortly_after_the_namespace(
    http: httpx.AsyncClient, emulator: ClusterEmulator,
) -> None:
    await make_namespace(http, "fresh")
    url = "/api/v1/namespaces/fresh/serviceaccounts/default"
    assert (await http.get(url)).status_code == 404  # not yet: clients must cope with it being late

    async def present() -> bool:
        return await exists(http, url)

    await eventually(present, timeout=2)
    assert emulator.service_account_delay == 0.05


async def test_deleting_a_crd_deletes_its_custom_objects(http: httpx.AsyncClient, widgets: str) -> None:
    await http.post(widgets.format(ns="default"), json={"metadata": {"name": "w", "finalizers": ["keep/me"]}})
    crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    await http.delete(crd)
    assert (await http.get(crd)).json()["metadata"]["deletionTimestamp"]  # waits for the custom objects
    assert (await http.get(f"{widgets.format(ns='default')}/w")).json()["metadata"]["deletionTimestamp"]
    await http.patch(f"{widgets.format(ns='default')}/w", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert (await http.get(crd)).status_code == 404
    assert (await http.get(widgets.format(ns="default"))).status_code == 404
