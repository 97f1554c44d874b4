"""Garbage collection after the DELETE, with each propagation policy, as kube-controller-manager's collector does it.

Sources: https://kubernetes.io/docs/concepts/architecture/garbage-collection/ (background and foreground cascading
deletion, orphaned dependents, ``blockOwnerDeletion``), https://kubernetes.io/docs/tasks/administer-cluster/use-cascading-deletion/
(``kubectl delete --cascade=foreground|background|orphan``), ``k8s.io/apiserver/pkg/registry/generic/registry/store.go``
(``deletionFinalizersForGarbageCollection``) and ``pkg/controller/garbagecollector/garbagecollector.go``
(``attemptToDeleteItem``, ``processDeletingDependentsItem``).
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, write_kubeconfig

from .helpers import Completed, eventually, read_events

CMS = "/api/v1/namespaces/default/configmaps"
GC_DELAY = 0.2


@pytest.fixture
async def slow_gc() -> AsyncIterator[httpx.AsyncClient]:
    """An emulator whose collector waits long enough for a test to look between the DELETE and its effects."""
    emulator = ClusterEmulator(gc_delay=GC_DELAY, service_account_delay=0.05)
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        client.emulator = emulator  # type: ignore[attr-defined]
        client.server = server  # type: ignore[attr-defined]
        yield client


def ref(owner: dict[str, Any], *, block: bool | None = None) -> dict[str, Any]:
    result = {"apiVersion": "v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
              "uid": owner["metadata"]["uid"]}
    if block is not None:
        result["blockOwnerDeletion"] = block
    return result


async def cm(http: httpx.AsyncClient, name: str, **meta: Any) -> dict[str, Any]:
    response = await http.post(CMS, json={"kind": "ConfigMap", "metadata": {"name": name, **meta}})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def get(http: httpx.AsyncClient, name: str) -> dict[str, Any] | None:
    response = await http.get(f"{CMS}/{name}")
    return None if response.status_code == 404 else dict(response.json())


async def absent(http: httpx.AsyncClient, *names: str, timeout: float = 3.0) -> None:
    async def check() -> bool:
        return [n for n in names if await get(http, n) is not None] == []

    await eventually(check, timeout=timeout)


async def test_background_deletion_removes_the_owner_at_once_and_its_dependents_after_the_request(
        slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    owner = await cm(http, "owner")
    child = await cm(http, "child", ownerReferences=[ref(owner)])
    await cm(http, "grandchild", ownerReferences=[ref(child)])
    deleted = await http.delete(f"{CMS}/owner")  # the default policy of these kinds is Background
    assert deleted.status_code == 200
    assert await get(http, "owner") is None
    assert await get(http, "child") is not None  # the collector has not acted inside the request
    await absent(http, "child", "grandchild")


async def test_foreground_deletion_keeps_the_owner_until_its_blocking_dependents_are_gone(
        slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    owner = await cm(http, "owner")
    await cm(http, "blocking", ownerReferences=[ref(owner, block=True)], finalizers=["example.com/hold"])
    await cm(http, "loose", ownerReferences=[ref(owner)])
    since = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    deleted = await http.request("DELETE", f"{CMS}/owner", json={"propagationPolicy": "Foreground"})
    assert deleted.status_code == 200
    marked = deleted.json()["metadata"]
    assert marked["finalizers"] == ["foregroundDeletion"] and marked["deletionTimestamp"]
    assert (await get(http, "owner") or {})["metadata"]["finalizers"] == ["foregroundDeletion"]
    await absent(http, "loose")  # every dependent is deleted...
    blocking = await get(http, "blocking")
    assert blocking is not None and blocking["metadata"]["deletionTimestamp"]  # ...this one waits for its finalizer
    await asyncio.sleep(GC_DELAY * 3)
    assert await get(http, "owner") is not None  # held by its blocking dependent
    await http.patch(f"{CMS}/blocking", json={"metadata": {"finalizers": None}},
                     headers={"Content-Type": "application/merge-patch+json"})
    await absent(http, "blocking", "owner")
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": since, "timeoutSeconds": "1"}) as w:
        events = [(e["type"], e["object"]["metadata"]["name"]) for e in await read_events(w, 5)]
    assert events[0] == ("MODIFIED", "owner")  # marked by the DELETE itself
    assert [e for e in events if e[0] == "DELETED"] == [("DELETED", "loose"), ("DELETED", "blocking"),
                                                        ("DELETED", "owner")]  # the dependents first
    # the removal of an object's last finalizer deletes it at once (ShouldDeleteDuringUpdate): one DELETED event
    assert events.count(("MODIFIED", "owner")) == 1 and events.count(("MODIFIED", "blocking")) == 1


async def test_a_dependent_with_another_owner_survives_a_foreground_deletion(slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    owner, other = await cm(http, "owner"), await cm(http, "other")
    await cm(http, "shared", ownerReferences=[ref(owner, block=True), ref(other)])
    await http.request("DELETE", f"{CMS}/owner", json={"propagationPolicy": "Foreground"})
    await absent(http, "owner")
    shared = await get(http, "shared")
    assert shared is not None and shared["metadata"]["ownerReferences"] == [ref(other)]


async def test_orphan_deletion_removes_the_references_then_the_owner(slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    owner = await cm(http, "owner")
    await cm(http, "kept", ownerReferences=[ref(owner)])
    deleted = await http.delete(f"{CMS}/owner", params={"propagationPolicy": "Orphan"})
    assert deleted.json()["metadata"]["finalizers"] == ["orphan"]
    await absent(http, "owner")
    kept = await get(http, "kept")
    assert kept is not None and "ownerReferences" not in kept["metadata"]


async def test_a_second_delete_may_change_the_policy_but_not_the_deletion_timestamp(
        slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    await cm(http, "held", finalizers=["example.com/hold"])
    first = (await http.delete(f"{CMS}/held")).json()["metadata"]
    assert first["finalizers"] == ["example.com/hold"]
    second = (await http.delete(f"{CMS}/held", params={"propagationPolicy": "Foreground"})).json()["metadata"]
    assert second["finalizers"] == ["example.com/hold", "foregroundDeletion"]
    assert second["deletionTimestamp"] == first["deletionTimestamp"]
    both = await http.delete(f"{CMS}/held", params={"propagationPolicy": "Orphan", "orphanDependents": "false"})
    assert both.status_code == 422 and both.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Orphan": orphanDependents and '
        "deletionPropagation cannot be both set")
    unknown = await http.delete(f"{CMS}/held", params={"propagationPolicy": "Sideways"})
    assert unknown.status_code == 422 and unknown.json()["message"].endswith(
        'Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"')


async def test_a_dependent_created_after_its_owner_is_gone_is_collected(slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000001"}
    await cm(http, "late", ownerReferences=[ghost])
    assert await get(http, "late") is not None
    await absent(http, "late")


# -- dry run --------------------------------------------------------------------------------------------------
async def test_a_dry_run_foreground_delete_shows_the_marked_owner_and_changes_nothing(
        slow_gc: httpx.AsyncClient) -> None:
    http = slow_gc
    owner = await cm(http, "owner")
    await cm(http, "child", ownerReferences=[ref(owner, block=True)])
    answer = await http.request("DELETE", f"{CMS}/owner",
                                json={"propagationPolicy": "Foreground", "dryRun": ["All"]})
    assert answer.status_code == 200 and answer.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    everything = await http.delete(CMS, params={"dryRun": "All", "propagationPolicy": "Foreground"})
    assert everything.status_code == 200
    await asyncio.sleep(GC_DELAY * 3)
    for name in ("owner", "child"):
        stored = await get(http, name)
        assert stored is not None and "deletionTimestamp" not in stored["metadata"], name


# -- kubectl --------------------------------------------------------------------------------------------------
async def kubectl(kubeconfig: pathlib.Path, *args: str) -> Completed:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), "--request-timeout", "10s", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return Completed(process.returncode or 0, out.decode(), err.decode())


async def test_kubectl_delete_cascade_foreground_returns_once_the_dependents_are_gone(
        slow_gc: httpx.AsyncClient, tmp_path: pathlib.Path) -> None:
    http = slow_gc
    config = write_kubeconfig(tmp_path / "kubeconfig", http.server.url)  # type: ignore[attr-defined]
    owner = await cm(http, "owner")
    for name in ("a", "b"):
        await cm(http, name, ownerReferences=[ref(owner, block=True)])
    done = await kubectl(config, "delete", "configmap", "owner", "-n", "default", "--cascade=foreground")
    assert done.code == 0 and 'configmap "owner" deleted' in done.stdout, done.stderr
    for name in ("owner", "a", "b"):  # kubectl waited for the owner, which waited for its dependents
        assert await get(http, name) is None, name


async def test_kubectl_delete_cascade_orphan_keeps_the_dependents(
        slow_gc: httpx.AsyncClient, tmp_path: pathlib.Path) -> None:
    http = slow_gc
    config = write_kubeconfig(tmp_path / "kubeconfig", http.server.url)  # type: ignore[attr-defined]
    owner = await cm(http, "owner")
    await cm(http, "kept", ownerReferences=[ref(owner)])
    done = await kubectl(config, "delete", "configmap", "owner", "-n", "default", "--cascade=orphan")
    assert done.code == 0, done.stderr
    await absent(http, "owner")
    kept = await get(http, "kept")
    assert kept is not None and "ownerReferences" not in kept["metadata"]
