"""Failure injection over the side endpoints: watches paused and resumed (with an etcd-like compaction), and
the next N matching requests refused with a kube-apiserver ``Status`` without touching the store."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

import httpx

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, free_port, generate_users

from .helpers import read_events

CMS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}
MODIFIED = ("the object has been modified; please apply your changes to the latest version and try again")


async def _revision(http: httpx.AsyncClient) -> str:
    return str((await http.get(CMS)).json()["metadata"]["resourceVersion"])


async def _held(http: httpx.AsyncClient, count: int) -> None:
    """Wait until ``count`` watch requests are held by the paused gate."""
    for _ in range(200):
        if (await http.get("/_emulator/watches")).json()["held"] == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {count} held watch requests")


async def test_pause_ends_open_watches_and_holds_new_ones_while_lists_and_writes_go_on(
        http: httpx.AsyncClient) -> None:
    rv = await _revision(http)
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv}) as open_watch:
        assert (await http.get("/_emulator/watches")).json()["open"] == 1
        paused = await http.post("/_emulator/watches/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert [line async for line in open_watch.aiter_lines() if line] == []  # ended, nothing more sent

    held = asyncio.ensure_future(http.get(CMS, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}))
    await _held(http, 1)
    assert not held.done()
    assert (await http.post(CMS, json={"metadata": {"name": "during"}})).status_code == 201
    listed = await http.get(CMS)
    assert [c["metadata"]["name"] for c in listed.json()["items"]] == ["during"]

    resumed = await http.post("/_emulator/watches/resume")
    assert resumed.json() == {**resumed.json(), "paused": False, "released": 1, "compacted": None}
    answer = await asyncio.wait_for(held, timeout=5)
    events = [line for line in answer.text.splitlines() if line]
    assert len(events) == 1 and '"ADDED"' in events[0] and '"during"' in events[0]  # replayed from its rv


async def test_resume_with_expire_makes_every_older_resource_version_gone(http: httpx.AsyncClient) -> None:
    await http.post(CMS, json={"metadata": {"name": "before"}})
    old = await _revision(http)
    await http.post("/_emulator/watches/pause")
    held = asyncio.ensure_future(http.get(CMS, params={"watch": "1", "resourceVersion": old, "timeoutSeconds": "2"}))
    await _held(http, 1)
    await http.delete(f"{CMS}/before")  # a change the held watch will never be told about
    now = await _revision(http)
    resumed = (await http.post("/_emulator/watches/resume", params={"expire": "true"})).json()
    assert resumed["compacted"] == int(now) and resumed["released"] == 1

    answer = await asyncio.wait_for(held, timeout=5)
    assert answer.status_code == 200
    [line] = [line for line in answer.text.splitlines() if line]
    assert '"type":"ERROR"' in line and '"code":410' in line and '"reason":"Expired"' in line

    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": old}) as again:
        [gone] = await read_events(again, 1)
    assert gone["type"] == "ERROR" and gone["object"]["code"] == 410
    # the list is the new truth: "before" is absent; a watch from its resourceVersion works
    listed = (await http.get(CMS)).json()
    assert listed["items"] == [] and listed["metadata"]["resourceVersion"] == now
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": now}) as fresh:
        await http.post(CMS, json={"metadata": {"name": "after"}})
        [added] = await read_events(fresh, 1)
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "after")


async def test_pause_as_unavailable_answers_watches_503(http: httpx.AsyncClient) -> None:
    await http.post("/_emulator/watches/pause", params={"mode": "unavailable"})
    refused = await http.get(CMS, params={"watch": "1"})
    assert refused.status_code == 503
    assert refused.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": "the server is currently unable to handle the request",
                              "reason": "ServiceUnavailable", "code": 503, "details": {"retryAfterSeconds": 1}}
    assert (await http.get(CMS)).status_code == 200
    assert (await http.post("/_emulator/watches/pause", params={"mode": "nap"})).status_code == 400
    await http.post("/_emulator/watches/resume")
    async with http.stream("GET", CMS, params={"watch": "1", "timeoutSeconds": "1"}) as ok:
        assert ok.status_code == 200


async def test_injected_conflicts_refuse_the_next_matching_writes_and_touch_nothing(
        http: httpx.AsyncClient, emulator: ClusterEmulator) -> None:
    stored = (await http.post(CMS, json={"metadata": {"name": "c"}, "data": {"v": "0"}})).json()
    fault = {"verb": "update|patch", "group": "", "resource": "configmaps", "status": 409, "count": 2}
    added = await http.post("/_emulator/faults", json=fault)
    assert added.status_code == 201 and added.json()["faults"] == [{**fault, "count": 2, "verb": "patch|update"}]
    watch_rv = stored["metadata"]["resourceVersion"]
    async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": watch_rv}) as watch:
        for attempt in range(2):
            refused = await http.patch(f"{CMS}/c", json={"data": {"v": str(attempt + 1)}}, headers=MERGE)
            assert refused.status_code == 409
            assert refused.json() == {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Conflict",
                "code": 409, "message": f'Operation cannot be fulfilled on configmaps "c": {MODIFIED}',
                "details": {"name": "c", "kind": "configmaps"}}
        assert (await http.get(f"{CMS}/c")).json() == stored  # nothing written, no resourceVersion used
        await http.post(CMS, json={"metadata": {"name": "other"}})  # create is not a matching verb
        accepted = await http.put(f"{CMS}/c", json={**stored, "data": {"v": "3"}})
        assert accepted.status_code == 200
        events = await read_events(watch, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "other"), ("MODIFIED", "c")]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) == int(watch_rv) + 1
    assert (await http.get("/_emulator/faults")).json() == {"faults": [], "injected": 2}
    statuses = [(r.verb, r.status) for r in emulator.ledger if r.plural == "configmaps"]
    assert statuses.count(("patch", 409)) == 2


async def test_faults_match_subresource_namespace_name_and_user(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "other"}})
    for namespace in ("default", "other"):
        await http.post(f"/api/v1/namespaces/{namespace}/configmaps", json={"metadata": {"name": "c"}})
    faults = [{"verb": "delete", "resource": "configmaps", "namespace": "other", "name": "c", "status": 500},
              {"verb": "create", "resource": "configmaps", "status": 409},
              {"verb": "patch", "resource": "namespaces/status", "status": 503},
              {"verb": "*", "resource": "configmaps", "user": "somebody", "status": 429}]
    assert (await http.post("/_emulator/faults", json=faults)).status_code == 201
    assert (await http.delete(f"{CMS}/c")).status_code == 200  # another namespace
    broken = await http.delete("/api/v1/namespaces/other/configmaps/c")
    assert (broken.status_code, broken.json()["reason"]) == (500, "InternalError")
    assert broken.json()["message"] == "Internal error occurred: injected fault"
    clash = await http.post(CMS, json={"metadata": {"name": "new"}})
    assert (clash.status_code, clash.json()["reason"]) == (409, "AlreadyExists")
    assert (await http.post(CMS, json={"metadata": {"name": "new"}})).status_code == 201
    assert (await http.patch("/api/v1/namespaces/other", json={"metadata": {"labels": {"a": "b"}}},
                             headers=MERGE)).status_code == 200  # the main resource, not /status
    status = await http.patch("/api/v1/namespaces/other/status", json={"status": {}}, headers=MERGE)
    assert (status.status_code, status.json()["reason"]) == (503, "ServiceUnavailable")
    # no authenticator: the caller is nobody, so the user's fault stays pending
    assert (await http.get("/_emulator/faults")).json()["faults"] == [
        {"verb": "*", "group": "", "resource": "configmaps", "status": 429, "count": 1, "user": "somebody"}]
    assert (await http.delete("/_emulator/faults")).json() == {"faults": [], "injected": 3}


async def test_malformed_faults_are_refused_whole(http: httpx.AsyncClient) -> None:
    for bad in ({"verb": "poke", "resource": "configmaps"}, {"verb": "get"}, {"verb": "get", "resource": "x",
                                                                                "status": 418},
                {"verb": "get", "resource": "x", "count": 0}, {"verb": "get", "resource": "x", "colour": "red"},
                [{"verb": "get", "resource": "x"}, {"verb": "get"}]):
        response = await http.post("/_emulator/faults", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["reason"] == "BadRequest"
    assert (await http.get("/_emulator/faults")).json()["faults"] == []


async def test_only_a_cluster_admin_may_inject_failures() -> None:
    users = generate_users()
    async with EmulatorServer(ClusterEmulator(users=users)) as server:
        def client(token: str | None) -> httpx.AsyncClient:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx.AsyncClient(base_url=server.url, timeout=5, verify=server.client_ssl_context(),
                                     headers=headers)

        async with client(users.admin.token) as admin, client(users.by_name("team-a").token) as team, \
                client(None) as anonymous:
            for path in ("/_emulator/faults", "/_emulator/watches/pause", "/_emulator/watches/resume"):
                denied = await team.post(path, json={"verb": "get", "resource": "secrets"})
                assert denied.status_code == 403
                assert denied.json()["message"] == f'forbidden: User "team-a" cannot post path "{path}"'
                assert (await anonymous.post(path)).status_code == 403  # system:anonymous
            assert (await team.get("/_emulator/watches")).status_code == 403
            await admin.post("/api/v1/namespaces/default/secrets", json={"metadata": {"name": "s"}})
            fault = {"verb": "get", "resource": "secrets", "user": "team-a", "status": 404}
            assert (await admin.post("/_emulator/faults", json=fault)).status_code == 201
            secret = "/api/v1/namespaces/default/secrets/s"
            assert (await team.get(secret)).status_code == 403  # authorization comes first: no fault used
            assert (await admin.get(secret)).status_code == 200  # another user's request: no fault used
            await admin.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", json={
                "metadata": {"name": "read"}, "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                                         "verbs": ["get"]}]})
            await admin.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", json={
                "metadata": {"name": "read"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                          "name": "read"},
                "subjects": [{"kind": "User", "name": "team-a", "apiGroup": "rbac.authorization.k8s.io"}]})
            injected = await team.get(secret)
            assert (injected.status_code, injected.json()["reason"]) == (404, "NotFound")
            assert injected.json()["message"] == 'secrets "s" not found'
            assert (await team.get(secret)).status_code == 200
            assert (await admin.get("/_emulator/requests")).status_code == 200


async def test_standalone_options_set_retention_and_bookmark_interval() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipway_sandbox.emulator", "--port", str(port), "--change-retention", "2",
        "--bookmark-interval", "0.2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), timeout=15)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            start = await _revision(http)
            for name in ("a", "b", "c"):
                await http.post(CMS, json={"metadata": {"name": name}})
            async with http.stream("GET", CMS, params={"watch": "1", "resourceVersion": start}) as old:
                [gone] = await read_events(old, 1)
            assert gone["type"] == "ERROR" and gone["object"]["code"] == 410
            now = await _revision(http)
            params = {"watch": "1", "resourceVersion": now, "allowWatchBookmarks": "true"}
            async with http.stream("GET", CMS, params=params) as watch:
                [bookmark] = await read_events(watch, 1, timeout=1.5)
            assert bookmark["type"] == "BOOKMARK" and bookmark["object"]["metadata"]["resourceVersion"] == now
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()


async def test_stopping_the_server_answers_held_watches_at_once() -> None:
    server = EmulatorServer(ClusterEmulator())
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            await http.post("/_emulator/watches/pause")
            held = asyncio.ensure_future(http.get(CMS, params={"watch": "1"}))
            await _held(http, 1)
            started = time.monotonic()
            await server.stop()
            answer = await asyncio.wait_for(held, timeout=2)
    finally:
        await server.stop()
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 503 and answer.json()["reason"] == "ServiceUnavailable"
