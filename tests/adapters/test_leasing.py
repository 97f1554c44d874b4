"""Leader election against the emulator in its own process (HTTPS, a bearer token), on a real Lease."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shipway.adapters.kube.connecting import connect
from shipway.adapters.kube.leasing import LeaderElector, default_identity
from tests.support.cluster import Api, EmulatorProcess

from .conftest import NAMESPACE

pytestmark = pytest.mark.integration

LEASES = "coordination.k8s.io/v1"
WRITES = frozenset({"create", "update", "patch", "delete"})
# short durations: renewals every 0.4 s, a leader steps down after 1.2 s without one, a lease expires after 2 s
TIMING = {"lease_duration": 2.0, "renew_period": 0.4, "renew_deadline": 1.2, "retry_period": 0.25}
_names = itertools.count()


@dataclass
class Peer:
    """One elector in its own task, with its own HTTP client (its User-Agent names it in the ledger)."""

    elector: LeaderElector
    http: httpx.AsyncClient
    agent: str
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.elector.run())

    async def stop_cleanly(self) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 3)

    async def kill(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class Peers:
    def __init__(self, emulator: EmulatorProcess, lease: str) -> None:
        self.emulator, self.lease = emulator, lease
        self.all: list[Peer] = []

    def add(self, tag: str, **options: Any) -> Peer:
        agent = f"elector-{self.lease}-{tag}"
        http = connect(kubeconfig=self.emulator.kubeconfig, user_agent=agent)
        stop = asyncio.Event()
        log: list[str] = []

        async def started() -> None:
            log.append("started")

        async def stopped() -> None:
            log.append("stopped")

        elector = LeaderElector(http=http, namespace=NAMESPACE, name=self.lease,
                                identity=f"{tag}-{default_identity()}", stop=stop,
                                on_started_leading=started, on_stopped_leading=stopped, **{**TIMING, **options})
        peer = Peer(elector=elector, http=http, agent=agent, stop=stop, log=log)
        self.all.append(peer)
        return peer

    async def close(self) -> None:
        for peer in self.all:
            await peer.kill()
            await peer.http.aclose()


@pytest.fixture
async def peers(emulator_process: EmulatorProcess) -> AsyncIterator[Peers]:
    group = Peers(emulator_process, f"lease-{next(_names)}")
    try:
        yield group
    finally:
        await group.close()


async def eventually(check: Any, *, timeout: float = 5.0) -> float:
    """Seconds until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not check():
        if loop.time() - started > timeout:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)
    return loop.time() - started


def leaders(group: Peers) -> list[Peer]:
    return [peer for peer in group.all if peer.elector.is_leader]


def writes_of(admin: Api, peer: Peer) -> list[dict[str, Any]]:
    return [r for r in admin.ledger() if r["user_agent"].startswith(peer.agent + "/") and r["verb"] in WRITES]


def lease_of(admin: Api, group: Peers) -> dict[str, Any]:
    lease = admin.get(LEASES, "leases", group.lease, namespace=NAMESPACE)
    assert lease is not None
    return lease


async def test_exactly_one_of_two_leads(peers: Peers, admin: Api) -> None:
    a, b = peers.add("a"), peers.add("b")
    a.start()
    b.start()
    await eventually(lambda: len(leaders(peers)) == 1)
    [leader] = leaders(peers)
    for _ in range(200):  # 2 s: five renewals, and never two leaders
        assert leaders(peers) == [leader]
        await asyncio.sleep(0.01)
    spec = lease_of(admin, peers)["spec"]
    assert spec["holderIdentity"] == leader.elector.identity
    assert spec["leaseDurationSeconds"] == 2 and spec["leaseTransitions"] == 0
    assert spec["acquireTime"].endswith("Z") and spec["renewTime"] > spec["acquireTime"]
    assert leader.log == ["started"] and leader.elector.leading.is_set()
    follower = b if leader is a else a
    assert follower.log == [] and not follower.elector.leading.is_set()
    assert follower.elector.holder == leader.elector.identity


async def test_a_clean_stop_hands_over_within_a_renew_period(peers: Peers, admin: Api) -> None:
    a = peers.add("a")
    a.start()
    await eventually(lambda: a.elector.is_leader)
    b = peers.add("b")
    b.start()
    await asyncio.sleep(0.5)
    assert not b.elector.is_leader
    await a.stop_cleanly()
    assert a.log == ["started", "stopped"] and not a.elector.is_leader
    elapsed = await eventually(lambda: b.elector.is_leader)
    assert elapsed < TIMING["retry_period"] + 0.3, elapsed  # the released Lease is taken at the next read
    spec = lease_of(admin, peers)["spec"]
    assert spec["holderIdentity"] == b.elector.identity and spec["leaseTransitions"] == 1


async def test_a_killed_leader_is_replaced_once_its_lease_expired(peers: Peers, admin: Api) -> None:
    a, b = peers.add("a"), peers.add("b")
    a.start()
    await eventually(lambda: a.elector.is_leader)
    b.start()
    await asyncio.sleep(0.6)
    await a.kill()  # nothing released: b must wait for the lease to expire
    assert a.log == ["started"]
    elapsed = await eventually(lambda: b.elector.is_leader)
    duration, renew, retry = TIMING["lease_duration"], TIMING["renew_period"], TIMING["retry_period"]
    assert duration - renew - 0.1 <= elapsed <= duration + retry + 0.5, elapsed
    assert lease_of(admin, peers)["spec"]["holderIdentity"] == b.elector.identity


async def test_a_follower_only_reads_until_the_lease_expires(peers: Peers, admin: Api) -> None:
    a = peers.add("a")
    a.start()
    await eventually(lambda: a.elector.is_leader)
    b = peers.add("b")
    b.start()
    await asyncio.sleep(2.5)  # longer than the lease: renewed all along, never expired
    assert writes_of(admin, b) == [] and b.elector.requests["get"] >= 5
    assert {r["verb"] for r in writes_of(admin, a)} == {"create", "update"}
    await a.kill()
    await eventually(lambda: b.elector.is_leader)
    [acquired] = writes_of(admin, b)  # one write: the acquisition after expiry
    assert acquired["verb"] == "update" and acquired["status"] == 200
    assert b.elector.requests["create"] == 0 and b.elector.requests["update"] == 1


async def test_a_leader_that_loses_the_lease_to_a_write_steps_down(peers: Peers, admin: Api) -> None:
    a = peers.add("a")
    a.start()
    await eventually(lambda: a.elector.is_leader)
    lease = lease_of(admin, peers)
    lease["spec"]["holderIdentity"] = "someone-else"  # e.g. an administrator's edit: the next renewal gets 409
    admin.client.put(Api.path(LEASES, "leases", namespace=NAMESPACE, name=peers.lease), json=lease
                     ).raise_for_status()
    await eventually(lambda: not a.elector.is_leader, timeout=2)
    assert a.log == ["started", "stopped"]


async def test_a_leader_cut_off_steps_down_before_anyone_may_take_over(peers: Peers) -> None:
    a = peers.add("a")
    cut_off = False

    async def maybe_fail(request: httpx.Request) -> None:
        if cut_off:
            raise httpx.ConnectError("cut off", request=request)

    a.http.event_hooks["request"].append(maybe_fail)
    a.start()
    await eventually(lambda: a.elector.is_leader)
    b = peers.add("b")
    b.start()
    await asyncio.sleep(0.5)
    cut_off = True
    loop = asyncio.get_running_loop()
    cut = loop.time()
    await eventually(lambda: not a.elector.is_leader, timeout=3)
    stepped_down = loop.time() - cut
    await eventually(lambda: b.elector.is_leader, timeout=4)
    taken_over = loop.time() - cut
    assert stepped_down <= TIMING["renew_deadline"] + 0.1, stepped_down
    assert taken_over > stepped_down + 0.3, (stepped_down, taken_over)
    assert a.log == ["started", "stopped"]
    cut_off = False
    await asyncio.sleep(0.6)
    assert leaders(peers) == [b]  # the old leader is back, as a follower


async def test_durations_must_leave_room_to_step_down() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError):
            LeaderElector(http=http, namespace="ns", name="x", lease_duration=2, renew_deadline=3)
        elector = LeaderElector(http=http, namespace="ns", name="x", lease_duration=15)
        assert (elector.renew_period, elector.renew_deadline, elector.retry_period) == (5, 10, 5)
        assert not elector.is_leader and elector.identity != LeaderElector(http=http, namespace="ns", name="x").identity
