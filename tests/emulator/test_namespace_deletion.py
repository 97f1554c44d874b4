"""Namespace deletion through ``Terminating``, by the namespace controller, after the DELETE.

Sources: https://kubernetes.io/docs/tasks/administer-cluster/namespaces/#deleting-a-namespace and
https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/ (Terminating), the API reference of
``NamespaceStatus`` (conditions ``NamespaceDeletionDiscoveryFailure``, ``NamespaceDeletionGroupVersionParsingFailure``,
``NamespaceDeletionContentFailure``, ``NamespaceContentRemaining``, ``NamespaceFinalizersRemaining``),
``pkg/registry/core/namespace/storage/storage.go`` (Delete: deletionTimestamp and phase), and
``pkg/controller/namespace/deletion/{namespaced_resources_deleter,status_condition_utils}.go``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer

from .helpers import eventually, make_namespace, read_events

DELAY = 0.3
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def cluster() -> AsyncIterator[httpx.AsyncClient]:
    emulator = ClusterEmulator(namespace_deletion_delay=DELAY, gc_delay=0.02, service_account_delay=0.01)
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        yield client


async def namespace(http: httpx.AsyncClient, name: str) -> dict[str, Any] | None:
    response = await http.get(f"/api/v1/namespaces/{name}")
    return None if response.status_code == 404 else dict(response.json())


async def gone(http: httpx.AsyncClient, name: str, timeout: float = 5.0) -> None:
    async def check() -> bool:
        return await namespace(http, name) is None

    await eventually(check, timeout=timeout)


def conditions(ns: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in ns["status"].get("conditions") or []}


async def test_a_deleted_namespace_is_terminating_then_its_content_then_itself_goes(
        cluster: httpx.AsyncClient) -> None:
    http = cluster
    await make_namespace(http, "doomed")
    await http.post("/api/v1/namespaces/doomed/configmaps", json={"metadata": {"name": "c"}})
    since = (await http.get("/api/v1/namespaces")).json()["metadata"]["resourceVersion"]
    started = time.monotonic()
    deleted = await http.delete("/api/v1/namespaces/doomed")
    assert deleted.status_code == 200
    body = deleted.json()
    assert body["status"]["phase"] == "Terminating" and body["metadata"]["deletionTimestamp"]
    assert body["spec"]["finalizers"] == ["kubernetes"]  # the namespace controller's, removed once it is empty
    assert (await http.get("/api/v1/namespaces/doomed/configmaps/c")).status_code == 200  # nothing yet
    await gone(http, "doomed")
    assert time.monotonic() - started >= DELAY  # the controller's lag
    assert (await http.get("/api/v1/namespaces/doomed/configmaps/c")).status_code == 404
    params = {"watch": "1", "resourceVersion": since}
    async with http.stream("GET", "/api/v1/namespaces", params=params) as namespaces:
        ns_events = [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in await read_events(namespaces, 3)]
    async with http.stream("GET", "/api/v1/configmaps", params=params) as configmaps:
        [cm_event] = await read_events(configmaps, 1)
    assert cm_event["type"] == "DELETED"
    assert [t for t, _rv in ns_events] == ["MODIFIED", "MODIFIED", "DELETED"]  # marked, conditions, removed
    assert int(cm_event["object"]["metadata"]["resourceVersion"]) < int(ns_events[-1][1])  # content first


async def test_content_with_finalizers_keeps_the_namespace_with_conditions_saying_why(
        cluster: httpx.AsyncClient) -> None:
    http = cluster
    await make_namespace(http, "held")
    await http.post("/api/v1/namespaces/held/configmaps",
                    json={"metadata": {"name": "c", "finalizers": ["example.com/hold"]}})
    await http.post("/api/v1/namespaces/held/secrets", json={"metadata": {"name": "s"}})
    await http.delete("/api/v1/namespaces/held")

    async def reported() -> bool:
        return "NamespaceContentRemaining" in conditions(await namespace(http, "held") or {"status": {}})

    await eventually(reported)
    ns = await namespace(http, "held")
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    assert conditions(ns) == {
        "NamespaceDeletionDiscoveryFailure": ("False", "ResourcesDiscovered", "All resources successfully discovered"),
        "NamespaceDeletionGroupVersionParsingFailure": ("False", "ParsedGroupVersions",
                                                        "All legacy kube types successfully parsed"),
        "NamespaceDeletionContentFailure": ("False", "ContentDeleted",
                                            "All content successfully deleted, may be waiting on finalization"),
        "NamespaceContentRemaining": ("True", "SomeResourcesRemain",
                                      "Some resources are remaining: configmaps. has 1 resource instances"),
        "NamespaceFinalizersRemaining": ("True", "SomeFinalizerRemain",
                                         "Some finalizers are remaining: example.com/hold in 1 resource instances"),
    }
    assert (await http.get("/api/v1/namespaces/held/secrets/s")).status_code == 404  # the rest is gone
    held = (await http.get("/api/v1/namespaces/held/configmaps/c")).json()
    assert held["metadata"]["deletionTimestamp"]
    await asyncio.sleep(DELAY * 2)
    assert await namespace(http, "held") is not None
    await http.patch("/api/v1/namespaces/held/configmaps/c", json={"metadata": {"finalizers": None}}, headers=MERGE)
    await gone(http, "held")


async def test_another_spec_finalizer_keeps_the_namespace_until_it_is_finalized(cluster: httpx.AsyncClient) -> None:
    http = cluster
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "mine"},
                                                "spec": {"finalizers": ["example.com/mine"]}})
    await http.delete("/api/v1/namespaces/mine")

    async def finalized_by_the_controller() -> bool:
        ns = await namespace(http, "mine")
        return ns is not None and ns["spec"].get("finalizers") == ["example.com/mine"]

    await eventually(finalized_by_the_controller)
    ns = await namespace(http, "mine")
    assert ns is not None
    done = await http.put("/api/v1/namespaces/mine/finalize", json={**ns, "spec": {}})
    assert done.status_code == 200
    await gone(http, "mine")


async def test_nothing_new_in_a_terminating_namespace_and_a_dry_run_deletes_nothing(
        cluster: httpx.AsyncClient) -> None:
    http = cluster
    await make_namespace(http, "busy")
    await http.post("/api/v1/namespaces/busy/configmaps", json={"metadata": {"name": "c"}})
    dry = await http.delete("/api/v1/namespaces/busy", params={"dryRun": "All"})
    assert dry.status_code == 200 and dry.json()["status"]["phase"] == "Terminating"
    await asyncio.sleep(DELAY * 2)
    assert (await namespace(http, "busy") or {})["status"] == {"phase": "Active"}
    await http.delete("/api/v1/namespaces/busy")
    refused = await http.post("/api/v1/namespaces/busy/configmaps", json={"metadata": {"name": "late"}})
    assert refused.status_code == 403 and refused.json()["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace busy because it is being '
        "terminated")  # the NamespaceLifecycle admission plugin, with its cause
    assert refused.json()["details"]["causes"] == [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                                    "message": "namespace busy is being terminated"}]
    await gone(http, "busy")


async def test_the_default_lag_is_about_a_second() -> None:
    emulator = ClusterEmulator()
    assert emulator.namespace_deletion_delay == 1.0
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        await make_namespace(http, "slow")
        started = time.monotonic()
        await http.delete("/api/v1/namespaces/slow")
        await gone(http, "slow")
        assert 1.0 <= time.monotonic() - started < 3.0
