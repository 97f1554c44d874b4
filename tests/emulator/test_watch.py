"""Watch streams as a real kube-apiserver serves them."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer

from .helpers import read_events

CMS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def test_watch_without_resource_version_starts_with_the_current_state(http: httpx.AsyncClient) -> None:
    await http.post(CMS, json={"metadata": {"name": "existing"}})
    async with http.stream("GET", CMS, params={"watch": "true"}) as response:
        assert response.status_code == 200
        [initial] = await read_events(response, 1)
        assert initial["type"] == "ADDED" and initial["object"]["metadata"]["name"] == "existing"
        await http.post(CMS, json={"metadata": {"name": "later"}})
        [added] = await read_events(response, 1)
        assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "later"


@pytest.mark.parametrize("flag", ["1", "True", "true"])
async def test_watch_flag_is_parsed_like_go_parse_bool(http: httpx.AsyncClient, flag: str) -> None:
    listed = (await http.get(CMS)).json()
    params = {"watch": flag, "resourceVersion": listed["metadata"]["resourceVersion"], "timeoutSeconds": "1"}
    async with http.stream("GET", CMS, params=params) as response:
        assert response.headers["content-type"].startswith("application/json")
        await http.post(CMS, json={"metadata": {"name": f"w-{flag.encode().hex()}"}})  # a valid name per flag
        [event] = await read_events(response, 1)
        assert event["type"] == "ADDED"


async def test_watch_from_a_resource_version_sends_only_later_events(http: httpx.AsyncClient) -> None:
    await http.post(CMS, json={"metadata": {"name": "before"}})
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    await http.patch(f"{CMS}/before", json={"data": {"a": "1"}}, headers=MERGE)
    await http.delete(f"{CMS}/before")
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv}) as response:
        events = await read_events(response, 2)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions[1] > versions[0] > int(rv)


async def test_timeout_seconds_ends_the_stream(http: httpx.AsyncClient) -> None:
    started = time.monotonic()
    async with http.stream("GET", CMS, params={"watch": "1", "timeoutSeconds": "1", "resourceVersion": "1"}) as r:
        lines = [line async for line in r.aiter_lines()]
    assert 0.9 <= time.monotonic() - started < 3
    assert all('"ADDED"' in line for line in lines if line)


async def test_watch_with_label_selector_sees_objects_enter_and_leave_it(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": rv, "labelSelector": "app=web"}
    async with http.stream("GET", CMS, params=params) as response:
        await http.post(CMS, json={"metadata": {"name": "other"}})
        await http.post(CMS, json={"metadata": {"name": "x", "labels": {"app": "web"}}})
        await http.patch(f"{CMS}/x", json={"metadata": {"labels": {"app": "db"}}}, headers=MERGE)
        await http.patch(f"{CMS}/other", json={"metadata": {"labels": {"app": "web"}}}, headers=MERGE)
        events = await read_events(response, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "x"), ("DELETED", "x"), ("ADDED", "other")]


async def test_watch_with_field_selector_on_name_and_namespace(http: httpx.AsyncClient) -> None:
    rv = (await http.get("/api/v1/configmaps")).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": rv,
              "fieldSelector": "metadata.name=target,metadata.namespace=kube-system"}
    async with http.stream("GET", "/api/v1/configmaps", params=params) as response:
        await http.post(CMS, json={"metadata": {"name": "target"}})
        await http.post("/api/v1/namespaces/kube-system/configmaps", json={"metadata": {"name": "target"}})
        [event] = await read_events(response, 1)
    assert event["object"]["metadata"]["namespace"] == "kube-system"


async def test_namespaced_watch_only_sees_its_namespace(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv}) as response:
        await http.post("/api/v1/namespaces/kube-system/configmaps", json={"metadata": {"name": "elsewhere"}})
        await http.post(CMS, json={"metadata": {"name": "here"}})
        [event] = await read_events(response, 1)
    assert event["object"]["metadata"]["name"] == "here"


async def test_bookmarks_are_sent_when_allowed(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CMS)).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
    async with http.stream("GET", CMS, params=params) as response:
        [event] = await read_events(response, 1)  # the fixture's bookmark interval is 0.2 s
    assert event["type"] == "BOOKMARK"
    assert event["object"]["kind"] == "ConfigMap" and event["object"]["metadata"]["resourceVersion"] == rv


async def test_too_old_resource_version_is_410_gone() -> None:
    async with EmulatorServer(ClusterEmulator(change_retention=3)) as srv, httpx.AsyncClient(base_url=srv.url) as http:
        for i in range(5):
            await http.post(CMS, json={"metadata": {"name": f"c{i}"}})
        async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": "2"}) as response:
            [event] = await read_events(response, 1)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


async def test_server_shutdown_ends_open_watches() -> None:
    srv = EmulatorServer()
    await srv.start()
    params = {"watch": "1", "resourceVersion": "1"}
    async with httpx.AsyncClient(base_url=srv.url) as http, http.stream("GET", CMS, params=params) as response:
        started = time.monotonic()
        stopping = asyncio.create_task(srv.stop())
        lines = [line async for line in response.aiter_lines()]
        await stopping
    assert time.monotonic() - started < 1.0
    assert lines == [] or all(line for line in lines)
