"""List pagination as one consistent snapshot, as kube-apiserver serves it from etcd.

Sources: https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
("each chunk is returned at the same resourceVersion ... 410 Gone if the continue token has expired ... a new
continue token to list the remainder inconsistently"), the ``ListMeta.remainingItemCount`` reference ("not set if
the list request contained label or field selectors"), ``k8s.io/apiserver/pkg/storage/continue.go``
(``EncodeContinue``/``DecodeContinue``) and ``etcd3/store.go`` (``invalid continue token``).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import kubernetes

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, resources, write_kubeconfig
from shipway_sandbox.emulator.selectors import compile_selector

from .helpers import make_namespace

CMS = "/api/v1/namespaces/pages/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def fill(http: httpx.AsyncClient, names: list[str], **labels: str) -> None:
    await make_namespace(http, "pages")
    for name in names:
        response = await http.post(CMS, json={"metadata": {"name": name, "labels": labels}, "data": {"v": "1"}})
        assert response.status_code == 201


def names(listed: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in listed["items"]]


async def test_later_pages_show_the_store_as_it_was_at_the_first(http: httpx.AsyncClient) -> None:
    await fill(http, ["c0", "c1", "c2", "c3", "c4"])
    first = (await http.get(CMS, params={"limit": "2"})).json()
    snapshot = first["metadata"]["resourceVersion"]
    assert names(first) == ["c0", "c1"] and first["metadata"]["remainingItemCount"] == 3
    token = first["metadata"]["continue"]
    assert base64.urlsafe_b64decode(token + "==").decode() == (
        f'{{"v":"meta.k8s.io/v1","rv":{snapshot},"start":"pages/c1\\u0000"}}')
    await http.post(CMS, json={"metadata": {"name": "b"}})  # created, deleted, changed after the first page
    await http.delete(f"{CMS}/c3")
    await http.patch(f"{CMS}/c4", json={"data": {"v": "2"}}, headers=MERGE)
    second = (await http.get(CMS, params={"limit": "2", "continue": token})).json()
    assert names(second) == ["c2", "c3"] and second["metadata"]["resourceVersion"] == snapshot
    assert second["metadata"]["remainingItemCount"] == 1
    third = (await http.get(CMS, params={"limit": "2", "continue": second["metadata"]["continue"]})).json()
    assert names(third) == ["c4"] and third["items"][0]["data"] == {"v": "1"}
    assert "continue" not in third["metadata"] and "remainingItemCount" not in third["metadata"]
    fresh = (await http.get(CMS)).json()
    assert names(fresh) == ["b", "c0", "c1", "c2", "c4"] and fresh["metadata"]["resourceVersion"] != snapshot


async def test_no_remaining_item_count_with_a_selector(http: httpx.AsyncClient) -> None:
    await fill(http, ["c0", "c1", "c2"], app="web")
    listed = (await http.get(CMS, params={"limit": "1", "labelSelector": "app=web"})).json()
    assert names(listed) == ["c0"] and listed["metadata"]["continue"]
    assert "remainingItemCount" not in listed["metadata"]


async def test_a_malformed_continue_token_is_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/configmaps", params={"continue": "not-a-token"})
    assert response.status_code == 400 and response.json()["message"].startswith(
        "invalid continue token: continue key is not valid")
    wrong = base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v1","rv":0,"start":"a"}').decode()
    assert (await http.get("/api/v1/configmaps", params={"continue": wrong})).json()["message"] == (
        "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version "
        "meta.k8s.io/v1)")


async def test_an_expired_continue_token_is_410_with_a_token_for_the_rest() -> None:
    async with EmulatorServer(ClusterEmulator(change_retention=3)) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        await fill(http, ["c0", "c1", "c2"])
        first = (await http.get(CMS, params={"limit": "1"})).json()
        for index in range(4):  # more changes than the store keeps
            await http.post(CMS, json={"metadata": {"name": f"d{index}"}})
        expired = await http.get(CMS, params={"limit": "1", "continue": first["metadata"]["continue"]})
        assert expired.status_code == 410
        status = expired.json()
        assert status["reason"] == "Expired" and status["message"].startswith(
            "The provided continue parameter is too old to display a consistent list result.")
        rest = (await http.get(CMS, params={"continue": status["metadata"]["continue"]})).json()
        assert names(rest) == ["c1", "c2", "d0", "d1", "d2", "d3"]  # inconsistent: from the current state


async def test_the_official_python_client_pages_through_a_list(server: EmulatorServer, http: httpx.AsyncClient,
                                                               tmp_path: Any) -> None:
    await fill(http, [f"c{i}" for i in range(7)])
    config = write_kubeconfig(tmp_path / "kubeconfig", server.url)

    def page_through() -> tuple[list[str], list[int | None]]:
        client = kubernetes.config.new_client_from_config(config_file=str(config))
        api = kubernetes.client.CoreV1Api(client)
        seen: list[str] = []
        counts: list[int | None] = []
        token = None
        while True:
            page = api.list_namespaced_config_map("pages", limit=3, _continue=token)
            seen += [item.metadata.name for item in page.items]
            counts.append(page.metadata.remaining_item_count)
            token = page.metadata._continue
            if not token:
                client.close()
                return seen, counts

    seen, counts = await asyncio.to_thread(page_through)
    assert seen == [f"c{i}" for i in range(7)] and counts == [4, 1, None]


def test_pages_of_a_cluster_wide_list_are_consistent_and_cost_their_page() -> None:
    """Every object once, in key order, across namespaces; while nothing is written the store's order is kept
    (the pages of a large list do not sort the whole collection again), and a write renews it."""
    configmaps = next(s for s in resources.BUILTIN_RESOURCES if s.plural == "configmaps")
    cluster = ClusterEmulator().cluster
    for ns in ("b-ns", "a-ns", "c-ns"):
        cluster.create(resources.NAMESPACES, None, {"metadata": {"name": ns}})
        for index in range(120):
            cluster.create(configmaps, ns, {"metadata": {"name": f"cm-{index:03d}"}})
    everything = compile_selector(label_selector=None, field_selector=None, group="", plural="configmaps")
    seen: list[str] = []
    token: str | None = None
    orders = set()
    while True:
        page = cluster.list(configmaps, None, everything, limit=50, continue_token=token)
        seen += [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in page["items"]]
        orders.add(id(cluster.store.listing(configmaps, None).keys))
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 360
    assert len(orders) == 1  # one order for all 8 pages
    cluster.create(configmaps, "a-ns", {"metadata": {"name": "cm-new"}})
    assert id(cluster.store.listing(configmaps, None).keys) not in orders
