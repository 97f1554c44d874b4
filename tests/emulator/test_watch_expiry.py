"""Watch history as a real API server keeps it: a bounded window in time and in changes, 410 Gone beyond it,
server-side watch timeouts, bookmarks.

Sources: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes ("410 Gone ...
the server only keeps a limited history: etcd3 clusters keep changes in the last 5 minutes by default"; watch
bookmarks), the kube-apiserver reference (``--min-request-timeout``: "the minimum number of seconds a handler must
keep a request open before timing it out ... for watch requests it is randomized between this and twice this"),
``k8s.io/apiserver/pkg/storage/cacher`` (``too old resource version``).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import kubernetes
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, write_kubeconfig

from .helpers import read_events

CMS = "/api/v1/namespaces/default/configmaps"


async def test_a_resource_version_older_than_the_time_window_is_410_gone() -> None:
    async with EmulatorServer(ClusterEmulator(change_retention_seconds=0.3)) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        await http.post(CMS, json={"metadata": {"name": "a"}})
        old = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
        await http.post(CMS, json={"metadata": {"name": "b"}})
        async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": old}) as recent:
            [added] = await read_events(recent, 1)  # within the window: resumed
        assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "b"
        await asyncio.sleep(0.4)
        async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": old}) as stale:
            [error] = await read_events(stale, 1)
        assert error["type"] == "ERROR" and error["object"]["code"] == 410
        assert error["object"]["reason"] == "Expired"
        assert error["object"]["message"].startswith(f"too old resource version: {old} (")
        current = (await http.get(CMS)).json()["metadata"]["resourceVersion"]  # a relist gives one that works
        async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": current,
                                                   "timeoutSeconds": "1"}) as fresh:
            await http.post(CMS, json={"metadata": {"name": "c"}})
            [later] = await read_events(fresh, 1)
        assert later["object"]["metadata"]["name"] == "c"


async def test_the_default_window_is_five_minutes_or_ten_thousand_changes() -> None:
    emulator = ClusterEmulator()
    assert (emulator.change_retention_seconds, emulator.change_retention) == (300.0, 10_000)


async def test_a_watch_without_timeout_seconds_is_ended_by_the_server() -> None:
    async with EmulatorServer(ClusterEmulator(min_request_timeout=0.3)) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
        started = time.monotonic()
        async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv}) as response:
            lines = [line async for line in response.aiter_lines()]
        assert lines == [] and 0.3 <= time.monotonic() - started < 1.0  # between the minimum and twice it


async def test_bookmarks_carry_only_the_current_resource_version(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
    async with http.stream("GET", CMS, params=params) as response:
        created = (await http.post(CMS, json={"metadata": {"name": "x"}})).json()
        events = await read_events(response, 2)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"] == {"kind": "ConfigMap", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}}


async def test_no_bookmarks_unless_asked(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}) as w:
        lines = [line async for line in w.aiter_lines() if line]
    assert lines == []  # the fixture's bookmark interval is 0.2 s: none was sent


async def test_the_official_python_client_resumes_a_watch_and_gets_410_when_too_old(tmp_path: object) -> None:
    emulator = ClusterEmulator(change_retention=2)
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url) as http:
        config = write_kubeconfig(tmp_path / "kubeconfig", server.url)  # type: ignore[operator]
        first = (await http.post(CMS, json={"metadata": {"name": "first"}})).json()["metadata"]["resourceVersion"]
        await http.post(CMS, json={"metadata": {"name": "second"}})

        def resume(since: str) -> list[str]:
            client = kubernetes.config.new_client_from_config(config_file=str(config))
            api = kubernetes.client.CoreV1Api(client)
            watch = kubernetes.watch.Watch()
            try:
                return [f"{e['type']} {e['object'].metadata.name}" for e in watch.stream(
                    api.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=1)]
            finally:
                client.close()

        assert await asyncio.to_thread(resume, first) == ["ADDED second"]
        for index in range(3):
            await http.post(CMS, json={"metadata": {"name": f"more{index}"}})
        with pytest.raises(kubernetes.client.exceptions.ApiException) as gone:
            await asyncio.to_thread(resume, first)
        assert gone.value.status == 410
