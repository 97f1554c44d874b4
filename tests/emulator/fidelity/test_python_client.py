"""The official Kubernetes Python client (``kubernetes``) against the emulator over HTTPS with a token: list,
pagination with ``limit``/``continue``, watch, and a watch resumed from the resourceVersion it reached.

Sources: https://kubernetes.io/docs/reference/using-api/api-concepts/ (#retrieving-large-results-sets-in-chunks,
#efficient-detection-of-changes: a watch from a resourceVersion sends only the changes after it) and the client's
own ``watch.Watch`` (which keeps the last resourceVersion it saw to resume from).
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import httpx
import pytest
from kubernetes import client, config, watch

from .support import PIPELINES

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def api(admin_kubeconfig: pathlib.Path) -> Any:
    return config.new_client_from_config(config_file=str(admin_kubeconfig))


async def _configmaps(admin: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await admin.post(CONFIGMAPS, json={"metadata": {"name": name}, "data": {"n": name}})
        assert response.status_code == 201, response.text


async def test_list_and_read_typed_objects(api: Any, admin: httpx.AsyncClient) -> None:
    await _configmaps(admin, "a", "b")
    core = client.CoreV1Api(api)
    listed = await asyncio.to_thread(core.list_namespaced_config_map, "default")
    names = [item.metadata.name for item in listed.items]
    assert {"a", "b"} <= set(names)
    read = await asyncio.to_thread(core.read_namespaced_config_map, "a", "default")
    assert read.data == {"n": "a"} and read.metadata.resource_version


async def test_pagination_follows_continue_tokens(api: Any, admin: httpx.AsyncClient) -> None:
    await _configmaps(admin, *(f"page-{i}" for i in range(5)))
    core = client.CoreV1Api(api)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await asyncio.to_thread(core.list_namespaced_config_map, "default", limit=2, _continue=token,
                                       label_selector=None)
        pages += 1
        seen += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert sorted(n for n in seen if n.startswith("page-")) == [f"page-{i}" for i in range(5)]
    assert len(seen) == len(set(seen)) and pages >= 3


async def test_custom_objects_are_listed_in_pages(api: Any, admin: httpx.AsyncClient, shipway_crds: None) -> None:
    for name in ("a", "b", "c"):
        await admin.post(PIPELINES, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                          "metadata": {"name": name}, "spec": {"phases": [{"name": "stage"}]}})
    custom = client.CustomObjectsApi(api)
    first = await asyncio.to_thread(custom.list_cluster_custom_object, "shipway.dev", "v1alpha1", "pipelines",
                                    limit=2)
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"] and first["metadata"]["continue"]
    rest = await asyncio.to_thread(custom.list_cluster_custom_object, "shipway.dev", "v1alpha1", "pipelines",
                                   limit=2, _continue=first["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in rest["items"]] == ["c"] and not rest["metadata"].get("continue")


def _watch(api: Any, since: str, seconds: int) -> tuple[list[tuple[str, str]], str]:
    """The (type, name) events of a watch of default's ConfigMaps from ``since``, and where it stopped."""
    watcher = watch.Watch()
    events = [(event["type"], event["object"].metadata.name)
              for event in watcher.stream(client.CoreV1Api(api).list_namespaced_config_map, "default",
                                          resource_version=since, timeout_seconds=seconds)]
    return events, str(watcher.resource_version)


async def test_a_watch_resumes_from_the_resource_version_it_reached(api: Any, admin: httpx.AsyncClient) -> None:
    await _configmaps(admin, "before")
    listed = await asyncio.to_thread(client.CoreV1Api(api).list_namespaced_config_map, "default")
    since = listed.metadata.resource_version

    first = asyncio.create_task(asyncio.to_thread(_watch, api, since, 2))
    await asyncio.sleep(0.5)
    await _configmaps(admin, "during-1")
    await admin.patch(f"{CONFIGMAPS}/during-1", json={"data": {"n": "changed"}},
                      headers={"Content-Type": "application/merge-patch+json"})
    events, reached = await first
    assert events == [("ADDED", "during-1"), ("MODIFIED", "during-1")]  # nothing before the list's version

    await _configmaps(admin, "between")  # made while nobody watched
    second = asyncio.create_task(asyncio.to_thread(_watch, api, reached, 2))
    await asyncio.sleep(0.5)
    await admin.delete(f"{CONFIGMAPS}/during-1")
    resumed, _ = await second
    assert resumed == [("ADDED", "between"), ("DELETED", "during-1")]
