"""The ServiceAccount controller as on a real cluster: ``default`` appears a moment after its namespace and comes
back a moment after it is deleted; the lags are configurable.

Sources: https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts ("If you delete the
default ServiceAccount object in a namespace, the control plane replaces it with a new one"),
``pkg/controller/serviceaccount/serviceaccounts_controller.go`` (reacts to namespace adds and ServiceAccount
deletes, skips terminating namespaces).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer
from shipway_sandbox.emulator.__main__ import parse_args

from .helpers import eventually, make_namespace

SA = "/api/v1/namespaces/{ns}/serviceaccounts/default"


async def present(http: httpx.AsyncClient, namespace: str) -> bool:
    return (await http.get(SA.format(ns=namespace))).status_code == 200


async def test_the_default_service_account_comes_about_a_second_after_its_namespace() -> None:
    emulator = ClusterEmulator()
    assert (emulator.service_account_delay, emulator.gc_delay, emulator.namespace_deletion_delay) == (1.0, 0.1, 1.0)
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url) as http:
        started = time.monotonic()
        await make_namespace(http, "fresh")
        assert not await present(http, "fresh")  # clients must cope with it being late

        async def arrived() -> bool:
            return await present(http, "fresh")

        await eventually(arrived, timeout=3)
        assert 1.0 <= time.monotonic() - started < 2.5
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):  # those a cluster starts with
            assert await present(http, name), name


async def test_a_deleted_default_service_account_is_recreated(http: httpx.AsyncClient,
                                                              emulator: ClusterEmulator) -> None:
    await make_namespace(http, "team")

    async def arrived() -> bool:
        return await present(http, "team")

    await eventually(arrived)
    first = (await http.get(SA.format(ns="team"))).json()["metadata"]["uid"]
    assert (await http.delete(SA.format(ns="team"))).status_code == 200
    assert not await present(http, "team")
    await eventually(arrived)
    assert (await http.get(SA.format(ns="team"))).json()["metadata"]["uid"] != first  # a new one
    # not in a namespace being deleted
    await http.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "c", "finalizers": ["x.io/y"]}})
    await http.delete("/api/v1/namespaces/team")
    await asyncio.sleep(emulator.service_account_delay * 4 + emulator.namespace_deletion_delay * 2)
    assert not await present(http, "team")


def test_the_standalone_emulator_takes_the_lags_as_options() -> None:
    defaults = parse_args([])
    assert (defaults.service_account_delay, defaults.gc_delay, defaults.namespace_deletion_delay) == (1.0, 0.1, 1.0)
    assert (defaults.change_retention, defaults.change_retention_seconds, defaults.min_request_timeout) == (
        10_000, 300.0, 1800.0)
    chosen = parse_args(["--service-account-delay", "3", "--gc-delay", "0.5", "--namespace-deletion-delay", "2",
                         "--change-retention-seconds", "60", "--min-request-timeout", "30"])
    assert (chosen.service_account_delay, chosen.gc_delay, chosen.namespace_deletion_delay) == (3.0, 0.5, 2.0)
    assert (chosen.change_retention_seconds, chosen.min_request_timeout) == (60.0, 30.0)
