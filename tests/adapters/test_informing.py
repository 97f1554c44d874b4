"""The informer against the emulator over real HTTP: list, watch, relist after 410 Gone, bookmarks, idling."""

from __future__ import annotations

import asyncio
import base64
import logging
import pathlib
import time
from typing import Any

import httpx
import pytest

from shipway.adapters.kube import resources
from shipway.adapters.kube.connecting import connect
from shipway.adapters.kube.informing import Backoff, Informer
from shipway_sandbox.emulator import EmulatorServer, free_port, write_kubeconfig
from tests.support.cluster import Api, EmulatorProcess

from .conftest import NAMESPACE, serving
from .recording import Recorder, running

pytestmark = pytest.mark.integration

CONFIGMAP = resources.Kind("", "v1", "ConfigMap", "configmaps", True)
CMS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


async def create(http: httpx.AsyncClient, name: str, labels: dict[str, str] | None = None, **data: str) -> None:
    response = await http.post(CMS, json=configmap(name, labels, **data))
    assert response.status_code == 201, response.text


async def patch(http: httpx.AsyncClient, name: str, patch: dict[str, Any]) -> None:
    response = await http.patch(f"{CMS}/{name}", json=patch,
                                headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text


async def delete(http: httpx.AsyncClient, name: str) -> None:
    response = await http.delete(f"{CMS}/{name}")
    assert response.status_code == 200, response.text


async def server_view(http: httpx.AsyncClient, **params: str) -> dict[tuple[str, str], str]:
    listed = (await http.get(CMS, params=params)).json()
    return {(NAMESPACE, item["metadata"]["name"]): item["metadata"]["resourceVersion"] for item in listed["items"]}


def informer(kube: httpx.AsyncClient, recorder: Recorder, **options: Any) -> Informer:
    return Informer(http=kube, kind=CONFIGMAP, namespace=NAMESPACE, on_event=recorder.on_event,
                    on_synced=recorder.on_synced, **options)


async def test_initial_sync_delivers_everything_then_changes(kube: httpx.AsyncClient, http: httpx.AsyncClient
                                                             ) -> None:
    for name in ("a", "b", "c"):
        await create(http, name)
    recorder = Recorder()
    subject = informer(kube, recorder)
    async with running(subject):
        assert recorder.synced_calls == 1 and recorder.events_at_sync == 3
        assert sorted(recorder.names("ADDED")) == ["a", "b", "c"]
        assert recorder.bodies[0]["kind"] == "ConfigMap" and recorder.bodies[0]["apiVersion"] == "v1"

        await create(http, "d")
        await patch(http, "a", {"data": {"x": "1"}})
        await delete(http, "b")
        await recorder.wait_for(lambda: len(recorder.events) == 6)
        assert recorder.events[3:] == [("ADDED", (NAMESPACE, "d")), ("MODIFIED", (NAMESPACE, "a")),
                                       ("DELETED", (NAMESPACE, "b"))]
        assert recorder.view == await server_view(http)
        assert subject.object_count == 3
    assert recorder.synced_calls == 1
    assert subject.requests == {"list": 1, "watch": 1}


async def test_label_selector_is_sent_to_the_server(kube: httpx.AsyncClient, http: httpx.AsyncClient,
                                                    server: EmulatorServer) -> None:
    await create(http, "mine", {"app": "shipway"})
    await create(http, "other", {"app": "else"})
    recorder = Recorder()
    async with running(informer(kube, recorder, label_selector="app=shipway")):
        assert recorder.names() == ["mine"]
        await create(http, "later", {"app": "shipway"})
        await create(http, "unrelated")
        await patch(http, "mine", {"metadata": {"labels": {"app": "else"}}})  # stops matching: DELETED
        await patch(http, "other", {"metadata": {"labels": {"app": "shipway"}}})  # starts matching: ADDED
        await recorder.wait_for(lambda: len(recorder.events) == 4)
        assert recorder.events[1:] == [("ADDED", (NAMESPACE, "later")), ("DELETED", (NAMESPACE, "mine")),
                                       ("ADDED", (NAMESPACE, "other"))]
        assert recorder.view == await server_view(http, labelSelector="app=shipway")
    paths = [r.path for r in server.emulator.ledger if r.user_agent.startswith("shipway-informer")]
    assert paths and all(p == CMS for p in paths)


async def test_field_selector_and_a_cluster_wide_informer(kube: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
    await create(http, "picked")
    await create(http, "ignored")
    recorder = Recorder()
    subject = Informer(http=kube, kind=CONFIGMAP, on_event=recorder.on_event,
                       field_selector="metadata.name=picked")
    async with running(subject):
        assert recorder.events == [("ADDED", (NAMESPACE, "picked"))]


async def test_the_list_is_paginated(kube: httpx.AsyncClient, http: httpx.AsyncClient,
                                     server: EmulatorServer) -> None:
    for index in range(10):
        await create(http, f"cm-{index:02d}")
    recorder = Recorder()
    server.emulator.ledger.reset()
    subject = informer(kube, recorder, page_size=3)
    async with running(subject):
        assert sorted(recorder.names("ADDED")) == [f"cm-{index:02d}" for index in range(10)]
        assert recorder.synced_calls == 1 and recorder.events_at_sync == 10
    assert subject.requests["list"] == 4  # 3 + 3 + 3 + 1
    lists = [r for r in server.emulator.ledger if r.verb == "list"]
    assert len(lists) == 4


async def test_a_relist_after_410_gone_reports_what_vanished_during_the_gap(tmp_path: pathlib.Path) -> None:
    async with serving(tmp_path, change_retention=5, bookmark_interval=60) as (server, kubeconfig):
        emulator = server.emulator
        spec = emulator.catalogue.get("", "v1", "configmaps")
        assert spec is not None
        async with httpx.AsyncClient(base_url=server.url) as http, \
                connect(kubeconfig=kubeconfig, user_agent="shipway-informer") as kube:
            for name in ("keep", "change", "vanish"):
                await create(http, name)
            recorder = Recorder()
            subject = informer(kube, recorder, backoff=Backoff(initial=0.05, maximum=0.2))
            async with running(subject):
                assert subject.requests["watch"] == 1
                synced_at = subject.resource_version
                # The watch ends; before the informer can reconnect (this block never yields to the event
                # loop), more changes are made than the server keeps: its resourceVersion is now too old.
                emulator.close_watches()
                emulator.cluster.delete(spec, NAMESPACE, "vanish")
                emulator.cluster.patch(spec, NAMESPACE, "change", content_type="application/merge-patch+json",
                                       document={"data": {"v": "2"}}, subresource=None)
                for index in range(6):
                    emulator.cluster.create(spec, NAMESPACE, configmap(f"new-{index}"))
                    emulator.cluster.delete(spec, NAMESPACE, f"new-{index}")
                emulator.cluster.create(spec, NAMESPACE, configmap("added"))

                await recorder.wait_for(lambda: subject.relists == 1 and len(recorder.events) == 6)
                assert subject.resource_version != synced_at
                assert sorted(recorder.events[3:]) == [("ADDED", (NAMESPACE, "added")),
                                                       ("DELETED", (NAMESPACE, "vanish")),
                                                       ("MODIFIED", (NAMESPACE, "change"))]
                tombstone = recorder.bodies[recorder.events.index(("DELETED", (NAMESPACE, "vanish")))]
                assert tombstone["kind"] == "ConfigMap" and "data" not in tombstone
                assert recorder.view == await server_view(http)
                assert recorder.synced_calls == 1
                # and it goes on watching from the new list
                await create(http, "after")
                await recorder.wait_for(lambda: recorder.events[-1] == ("ADDED", (NAMESPACE, "after")))
            assert subject.requests["list"] == 2


async def test_bookmarks_move_the_resume_point(kube: httpx.AsyncClient, http: httpx.AsyncClient,
                                               server: EmulatorServer) -> None:
    watches: list[httpx.URL] = []

    async def note(request: httpx.Request) -> None:
        if request.url.params.get("watch"):
            watches.append(request.url)

    kube.event_hooks["request"].append(note)
    await create(http, "a")
    recorder = Recorder()
    subject = informer(kube, recorder)
    async with running(subject):
        listed_at = int(subject.resource_version or 0)
        assert watches[0].params["resourceVersion"] == str(listed_at)
        assert watches[0].params["allowWatchBookmarks"] == "true"
        response = await http.post("/api/v1/namespaces/default/configmaps", json=configmap("elsewhere"))
        assert response.status_code == 201  # moves the server's resourceVersion, unseen by this watch
        await recorder.wait_for(lambda: int(subject.resource_version or 0) > listed_at)
        bookmarked = subject.resource_version
        server.emulator.close_watches()  # a normal end: resumed from the bookmark, without listing
        await recorder.wait_for(lambda: len(watches) == 2)
        assert watches[1].params["resourceVersion"] == bookmarked
        assert recorder.names() == ["a"]
    assert subject.requests["list"] == 1


async def test_idle_costs_only_the_periodic_watch_renewal(kube: httpx.AsyncClient, http: httpx.AsyncClient,
                                                          server: EmulatorServer) -> None:
    await create(http, "a")
    recorder = Recorder()
    subject = informer(kube, recorder, watch_timeout=1, watch_jitter=0)
    async with running(subject):
        await asyncio.sleep(0.3)  # the first watch has reached the server
        server.emulator.ledger.reset()
        before = subject.requests.copy()
        await asyncio.sleep(3.5)
        records = [r for r in server.emulator.ledger if r.user_agent.startswith("shipway-informer")]
        assert {r.verb for r in records} == {"watch"}
        assert 3 <= len(records) <= 4, records  # one renewal per timeoutSeconds=1
        assert subject.requests["list"] == before["list"]
        assert subject.requests["watch"] - before["watch"] == len(records)
        assert recorder.names() == ["a"]


async def test_transform_keeps_what_the_consumer_needs(kube: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
    def only_default_service_accounts(body: dict[str, Any]) -> dict[str, Any] | None:
        meta = body["metadata"]
        if meta["name"] != "default":
            return None
        return {"kind": body["kind"], "apiVersion": body["apiVersion"],
                "metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion")}}

    recorder = Recorder()
    subject = Informer(http=kube, kind=resources.SERVICE_ACCOUNT, on_event=recorder.on_event,
                       transform=only_default_service_accounts)
    async with running(subject):
        await recorder.wait_for(lambda: (NAMESPACE, "default") in recorder.view)
        assert all(name == "default" for _ns, name in recorder.view)
        sa = "/api/v1/namespaces/adapters/serviceaccounts"
        assert (await http.post(sa, json={"metadata": {"name": "builder"}})).status_code == 201
        assert (await http.post("/api/v1/namespaces", json={"metadata": {"name": "fresh"}})).status_code == 201
        await recorder.wait_for(lambda: ("fresh", "default") in recorder.view)  # made by the SA controller
        assert (await http.delete(f"{sa}/default")).status_code == 200
        await recorder.wait_for(lambda: recorder.events[-1][0] == "DELETED")
        assert ("builder" not in recorder.names()) and set(recorder.bodies[-1]) == {"kind", "apiVersion", "metadata"}


async def test_an_object_the_transform_drops_is_reported_deleted(kube: httpx.AsyncClient, http: httpx.AsyncClient
                                                                 ) -> None:
    def keep_flagged(body: dict[str, Any]) -> dict[str, Any] | None:
        return body if (body.get("data") or {}).get("keep") == "yes" else None

    await create(http, "flagged", keep="yes")
    recorder = Recorder()
    async with running(informer(kube, recorder, transform=keep_flagged)):
        await patch(http, "flagged", {"data": {"keep": "no"}})
        await recorder.wait_for(lambda: len(recorder.events) == 2)
        await patch(http, "flagged", {"data": {"keep": "yes"}})
        await recorder.wait_for(lambda: len(recorder.events) == 3)
    assert recorder.events == [("ADDED", (NAMESPACE, "flagged")), ("DELETED", (NAMESPACE, "flagged")),
                               ("ADDED", (NAMESPACE, "flagged"))]


async def test_stops_promptly_on_its_stop_event(kube: httpx.AsyncClient) -> None:
    stop = asyncio.Event()
    subject = informer(kube, Recorder(), stop=stop)
    task = asyncio.ensure_future(subject.run())
    await asyncio.wait_for(subject.synced.wait(), 5)
    await asyncio.sleep(0.1)  # in the middle of a watch
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 1)
    assert time.monotonic() - started < 0.5


async def test_reconnects_with_backoff_until_the_server_answers(tmp_path: pathlib.Path) -> None:
    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    recorder = Recorder()
    async with connect(kubeconfig=kubeconfig, user_agent="shipway-informer") as kube:
        subject = Informer(http=kube, kind=CONFIGMAP, on_event=recorder.on_event,
                           backoff=Backoff(initial=0.05, factor=2, maximum=0.4, jitter=0.2))
        task = asyncio.ensure_future(subject.run())
        try:
            await asyncio.sleep(1.2)
            attempts = subject.requests["list"]
            assert 3 <= attempts <= 8, attempts  # 0.05, 0.1, 0.2, 0.4, 0.4 (+ jitter): a handful, not hundreds
            async with EmulatorServer(port=port):
                await asyncio.wait_for(subject.synced.wait(), 3)
                task.cancel()  # before the server stops: it waits for open watches
                await asyncio.gather(task, return_exceptions=True)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_410_status_answer_to_a_watch_also_relists() -> None:
    """Some servers answer an expired watch with an HTTP 410 (not an ERROR event): same outcome."""
    state = {"lists": 0, "watches": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("watch"):
            state["watches"] += 1
            if state["watches"] == 1:
                return httpx.Response(410, json={"kind": "Status", "code": 410, "reason": "Expired"})
            return httpx.Response(200, content=b"")
        state["lists"] += 1
        items = [{"metadata": {"name": n, "namespace": "x", "resourceVersion": str(state["lists"])}}
                 for n in (["a", "b"] if state["lists"] == 1 else ["b"])]
        return httpx.Response(200, json={"metadata": {"resourceVersion": "9"}, "items": items})

    recorder = Recorder()
    async with httpx.AsyncClient(base_url="http://k8s", transport=httpx.MockTransport(handle)) as kube:
        subject = Informer(http=kube, kind=CONFIGMAP, on_event=recorder.on_event,
                           backoff=Backoff(initial=0.01, maximum=0.02))
        async with running(subject):
            await recorder.wait_for(lambda: subject.relists == 1)
    # The relist hands over what changed as its pages come, then what it lacks.
    assert recorder.events == [("ADDED", ("x", "a")), ("ADDED", ("x", "b")), ("MODIFIED", ("x", "b")),
                               ("DELETED", ("x", "a"))]


async def test_secret_values_are_never_logged(emulator_process: EmulatorProcess, admin: Api,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """Over HTTPS with a token (the emulator in its own process, with users): a Secret's data stays out of logs."""
    value = "s3cr3t-value-never-logged"
    admin.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": NAMESPACE},
                  "stringData": {"password": value}}, "secrets")
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    async with connect(kubeconfig=emulator_process.kubeconfig, user_agent="shipway-informer") as kube:
        subject = Informer(http=kube, kind=resources.SECRET, namespace=NAMESPACE, on_event=recorder.on_event)
        async with running(subject):
            assert (NAMESPACE, "creds") in recorder.view
            admin.patch("v1", "secrets", "creds", {"stringData": {"password": value + "2"}}, namespace=NAMESPACE)
            await recorder.wait_for(lambda: recorder.events[-1][0] == "MODIFIED")
    encoded = base64.b64encode(value.encode()).decode()
    assert "creds" in caplog.text
    assert value not in caplog.text and encoded[:16] not in caplog.text


async def test_a_large_list_leaves_the_event_loop_to_other_tasks() -> None:
    """Handing 5,000 listed objects to a handler that never suspends still lets other tasks run (a Lease
    renewal must not wait for the whole list): a ticker task gets turns while the list is delivered."""
    names = [f"cm-{i:05d}" for i in range(5000)]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("watch"):
            return httpx.Response(200, content=b"")
        items = [{"metadata": {"name": n, "namespace": "x", "resourceVersion": "1"}} for n in names]
        return httpx.Response(200, json={"metadata": {"resourceVersion": "2"}, "items": items})

    delivered: list[str] = []
    ticks_during_delivery: list[int] = []

    async def on_event(event_type: str, body: dict[str, Any]) -> None:  # never suspends
        delivered.append(body["metadata"]["name"])

    async def ticker() -> None:
        while True:
            if 0 < len(delivered) < len(names):
                ticks_during_delivery.append(len(delivered))
            await asyncio.sleep(0)

    async with httpx.AsyncClient(base_url="http://k8s", transport=httpx.MockTransport(handle)) as kube:
        subject = Informer(http=kube, kind=CONFIGMAP, on_event=on_event, page_size=10_000)
        ticking = asyncio.create_task(ticker())
        try:
            async with running(subject):
                await asyncio.wait_for(subject.synced.wait(), 30)
        finally:
            ticking.cancel()
    assert delivered == names
    assert len(ticks_during_delivery) >= len(names) // 64 - 1  # a turn for others at least every 64 objects
