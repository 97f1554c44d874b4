"""Request accounting: in-process and over HTTP (for tests and benchmarks, never product code)."""

from __future__ import annotations

import httpx

from shipway_sandbox.emulator import ClusterEmulator


async def test_every_api_request_is_recorded_with_its_kubernetes_verb(
    http: httpx.AsyncClient, emulator: ClusterEmulator,
) -> None:
    url = "/api/v1/namespaces/default/secrets"
    headers = {"User-Agent": "accounting-test/1.0"}
    await http.post(url, json={"metadata": {"name": "s"}}, headers=headers)
    await http.get(f"{url}/s", headers=headers)
    await http.get(url, headers=headers)
    await http.put(f"{url}/s", json={"metadata": {"name": "s"}}, headers=headers)
    await http.patch(f"{url}/s", json={}, headers={**headers, "Content-Type": "application/merge-patch+json"})
    await http.delete(f"{url}/s", headers=headers)
    await http.get(f"{url}/s", headers=headers)
    async with http.stream("GET", url, params={"watch": "1", "timeoutSeconds": "0.1"}, headers=headers) as r:
        async for _ in r.aiter_lines():
            pass
    mine = [r for r in emulator.ledger if r.user_agent == "accounting-test/1.0"]
    assert [(r.method, r.verb, r.plural, r.status) for r in mine] == [
        ("POST", "create", "secrets", 201), ("GET", "get", "secrets", 200), ("GET", "list", "secrets", 200),
        ("PUT", "update", "secrets", 200), ("PATCH", "patch", "secrets", 200), ("DELETE", "delete", "secrets", 200),
        ("GET", "get", "secrets", 404), ("GET", "watch", "secrets", 200),
    ]
    assert emulator.ledger.count(verb="get", plural="secrets") == 2
    assert emulator.ledger.count(user_agent_prefix="accounting-test") == 8


async def test_ledger_is_readable_and_resettable_over_http(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "counted"}})
    await http.get("/api/v1/namespaces")
    ledger = (await http.get("/_emulator/requests")).json()
    assert ledger["counts"]["create namespaces"] == 1 and ledger["counts"]["list namespaces"] == 1
    assert ledger["total"] == len(ledger["requests"]) == 2  # the side endpoint does not count itself
    assert ledger["requests"][0]["path"] == "/api/v1/namespaces"
    assert (await http.post("/_emulator/requests/reset")).status_code == 200
    assert (await http.get("/_emulator/requests")).json() == {"total": 0, "counts": {}, "requests": []}
