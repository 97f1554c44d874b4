"""Under concurrent API load with injected 409s and the API killed mid-request, every acknowledged write is what
is delivered and no refused or interrupted one is; nothing is left half-written.

Setting a credential by value is three writes (a new version of the managed Secret; the switch of the layer's
reference, the commit point; the deletion of the versions it replaced). Clients of two teams write their
pipelines' credentials from several threads at once, each lane (one pipeline, one registry) written by one
client at a time so that its last acknowledged value is defined, every value a fresh canary:

* while the emulator fails the API's Pipeline patches with 409 Conflict (so some requests are refused by the
  API after its retries, and others succeed), then refuses exactly one request per lane after its last
  success: what each pipeline references, and what the operator delivers, is the lane's last acknowledged
  value; no refused value is anywhere; no managed Secret is left unreferenced;
* with an extra API process killed (SIGKILL) while requests are in flight, a few times over, then a fresh API
  started with ``--repair-grace 0``: nothing half-written remains, and each lane holds (and the operator
  delivers) its last acknowledged value, or the value of a request interrupted after it (a request killed
  after its commit point is committed: its client cannot know which), never a refused one.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Iterator

import httpx
import pytest

from .atomic import (
    INTERRUPTED,
    NOT_SENT,
    Attempt,
    ExtraApi,
    Lane,
    clear_faults,
    delivered_value,
    everything_stored,
    half_written,
    inject_conflicts,
    repair_lists,
    run_all,
    settle,
    stored_value,
)
from .helpers import Kube, Sandbox

PHASE_NAMESPACES = {"shop": ["shop-stage", "shop-production"], "blog": ["blog-stage"]}
TEAMS = {"shop": "team-a", "blog": "team-b"}


def lanes(*hosts: str) -> list[Lane]:
    return [Lane(pipeline, user, f"{host}/{user}") for pipeline, user in TEAMS.items() for host in hosts]


@pytest.fixture(scope="module", autouse=True)
def pipelines(sandbox: Sandbox) -> None:
    for pipeline, phases in PHASE_NAMESPACES.items():
        with sandbox.client(TEAMS[pipeline]) as client:
            response = client.post("/api/v1/pipelines", json={
                "name": pipeline, "phases": [{"name": ns.removeprefix(f"{pipeline}-")} for ns in phases]})
            assert response.status_code == 201, response.text


@pytest.fixture
def clients(sandbox: Sandbox) -> Iterator[dict[str, httpx.Client]]:
    made = {user: sandbox.client(user) for user in TEAMS.values()}
    yield made
    for client in made.values():
        client.close()


def baseline(sandbox: Sandbox, lanes_: list[Lane]) -> dict[Lane, list[Attempt]]:
    """One acknowledged value per lane before the test proper."""
    history: dict[Lane, list[Attempt]] = {}
    for lane in lanes_:
        with sandbox.client(lane.user) as client:
            first = lane.put(client, sandbox, 0, tag="base")
        assert first.status == 200, first.body
        history[lane] = [first]
    return history


def wait_for_repair(kube: Kube, listed: int, *, timeout: float = 1.5) -> None:
    """Until the API just started has listed the managed Secrets (its repair), for at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while repair_lists(kube) <= listed and time.monotonic() < deadline:
        time.sleep(0.05)


def last_acknowledged(history: list[Attempt]) -> Attempt:
    return [a for a in history if a.status == 200][-1]


def assert_delivered(kube: Kube, history: dict[Lane, list[Attempt]], allowed: dict[Lane, set[tuple[str, str]]],
                     *, timeout: float = 15.0, namespaces: dict[str, list[str]] = PHASE_NAMESPACES) -> None:
    """Each lane's stored value is allowed, and every phase of its pipeline gets exactly that value."""
    def problems() -> list[str]:
        found = []
        for lane in history:
            stored = stored_value(kube, lane)
            if stored not in allowed[lane]:
                found.append(f"{lane}: stores {stored}, allowed {sorted(allowed[lane])}")
            for namespace in namespaces[lane.pipeline]:
                delivered = delivered_value(kube, namespace, lane.registry)
                if delivered != stored:
                    found.append(f"{lane}: {namespace} gets {delivered}, the pipeline stores {stored}")
        return found

    settle("delivered values", problems, timeout=timeout)


def assert_refused_nowhere(kube: Kube, history: dict[Lane, list[Attempt]], *, some: bool = True) -> None:
    """No value of a refused request (nor of one never sent) is stored or delivered anywhere."""
    stored = everything_stored(kube, [ns for namespaces in PHASE_NAMESPACES.values() for ns in namespaces])
    refused = [a for attempts in history.values() for a in attempts if a.status not in (200, INTERRUPTED)]
    assert refused or not some, "no request was refused: the test proved nothing"
    leaked = [f"{a.lane.registry} #{a.seq} ({a.status})" for a in refused if a.password in stored]
    assert leaked == [], f"refused values are stored or delivered: {leaked}"


def test_racing_writes_with_injected_conflicts_store_and_deliver_the_last_acknowledged_value(
        sandbox: Sandbox, kube: Kube) -> None:
    racing = lanes("ghcr.io", "quay.io", "registry.gitlab.com")
    history = baseline(sandbox, racing)
    rounds = 6

    def write(lane: Lane) -> None:
        rng = random.Random(f"{lane}")
        with sandbox.client(lane.user) as client:
            for seq in range(1, rounds + 1):
                if rng.random() < 0.5:  # waves of conflicts while the lanes race: refusals among successes
                    inject_conflicts(kube, rng.randint(2, 8))
                history[lane].append(lane.put(client, sandbox, seq, tag="race"))

    try:
        run_all([functools.partial(write, lane) for lane in racing])
        # Then one refusal per lane after its last success, deterministically: exactly as many conflicts as
        # the API's attempts (5), no other writer of the pipeline meanwhile.
        for lane in racing:
            with sandbox.client(lane.user) as client:
                clear_faults(kube)
                inject_conflicts(kube, 5, name=lane.pipeline)
                refused = lane.put(client, sandbox, rounds + 1, tag="refused")
                assert refused.status == 409, refused.body
                history[lane].append(refused)
    finally:
        clear_faults(kube)

    statuses = [a.status for attempts in history.values() for a in attempts]
    assert set(statuses) == {200, 409}, statuses
    assert statuses.count(409) > len(racing), statuses  # refusals in the race too, not only the final ones
    for lane, attempts in history.items():
        acknowledged = [a for a in attempts if a.status == 200]
        # The audit chain: each acknowledged change replaced the one acknowledged before it, so no refused
        # value was ever committed in between.
        for before, after in itertools.pairwise(acknowledged):
            assert after.body["oldFingerprint"] == before.body["newFingerprint"], (lane, before.seq, after.seq)

    settle("half-written state after the race", lambda: half_written(kube), timeout=3.0)
    assert_delivered(kube, history, {lane: {last_acknowledged(a).value} for lane, a in history.items()})
    assert_refused_nowhere(kube, history)


def test_an_api_killed_mid_request_leaves_nothing_half_written_after_a_fresh_api_repairs(
        sandbox: Sandbox, kube: Kube) -> None:
    killing = lanes("harbor.example.com", "nexus.example.com")
    history = baseline(sandbox, killing)
    seqs = {lane: 0 for lane in killing}
    rng = random.Random(20261102)
    started: list[ExtraApi] = []
    try:
        for _round in range(3):
            listed = repair_lists(kube)
            api = ExtraApi(sandbox, repair_grace=0)
            started.append(api)
            api.wait_ready()
            # Its start-up repair is to list before any request of ours creates a version it could take for a
            # leftover (with a grace of 0 s, nothing protects a request in flight from it): give it a moment.
            wait_for_repair(kube, listed)

            def write(lane: Lane, api: ExtraApi = api) -> None:
                with api.client(sandbox, lane.user) as client:
                    for _ in range(500):  # until the API dies under a request (bounded, should kill fail)
                        seqs[lane] += 1
                        attempt = lane.put(client, sandbox, seqs[lane], tag="kill")
                        history[lane].append(attempt)
                        if attempt.status in (INTERRUPTED, NOT_SENT):
                            return

            def kill(api: ExtraApi = api) -> None:
                time.sleep(rng.uniform(0.3, 1.2))
                api.kill()

            run_all([*(functools.partial(write, lane) for lane in killing), kill])

        listed = repair_lists(kube)
        fresh = ExtraApi(sandbox, repair_grace=0)
        started.append(fresh)
        fresh.wait_ready()
        wait_for_repair(kube, listed)
        settle("nothing half-written after the fresh API's repair", lambda: half_written(kube), timeout=6)
    finally:
        for api in started:
            api.stop()
            sandbox.record_text("extra API output", api.output.text)

    statuses = [a.status for attempts in history.values() for a in attempts]
    # every lane cut off every round: interrupted, or (the API already dead) not sent
    assert statuses.count(INTERRUPTED) + statuses.count(NOT_SENT) == 3 * len(killing), statuses
    assert statuses.count(INTERRUPTED) > 0, statuses
    assert statuses.count(200) > len(killing), statuses
    allowed = {}
    for lane, attempts in history.items():
        last = last_acknowledged(attempts)
        after = [a.value for a in attempts if a.seq > last.seq and a.status == INTERRUPTED]
        allowed[lane] = {last.value, *after}
    assert_delivered(kube, history, allowed)
    stored = everything_stored(kube, [ns for namespaces in PHASE_NAMESPACES.values() for ns in namespaces])
    for lane, attempts in history.items():
        last = last_acknowledged(attempts)
        superseded = [a for a in attempts if a.seq < last.seq and a.status in (200, INTERRUPTED)]
        assert [a.seq for a in superseded if a.password in stored] == [], lane  # overwritten: gone everywhere
    assert_refused_nowhere(kube, history, some=False)


def test_a_retried_write_racing_its_own_refused_first_try_stays_delivered(sandbox: Sandbox, kube: Kube) -> None:
    """PUT is idempotent, so a client may send the same value twice at once (a retry after a timeout): when
    one of the two is refused (409 after the API's retries) and the other acknowledged, the acknowledged one
    must still be what the pipeline references and gets delivered."""
    with sandbox.client("admin") as admin:
        created = admin.post("/api/v1/pipelines", json={"name": "retry", "phases": [{"name": "stage"}]})
        assert created.status_code == 201, created.text
    lane = Lane("retry", "admin", "ghcr.io/retried")
    current = baseline(sandbox, [lane])[lane][-1].value
    for trial in range(10):
        password = sandbox.canary(f"retry{trial}")
        body = {"registry": lane.registry, "username": f"retry-{trial}", "password": password, "usage": ["pull"]}
        statuses: dict[str, int] = {}

        def put(name: str, body: dict[str, object] = body, statuses: dict[str, int] = statuses) -> None:
            with sandbox.client(lane.user) as client:
                statuses[name] = client.put(f"/api/v1/pipelines/{lane.pipeline}/credentials", json=body).status_code

        clear_faults(kube)
        inject_conflicts(kube, 7, name=lane.pipeline)  # enough to refuse one of the two, rarely both
        try:
            run_all([functools.partial(put, first) for first in ("first try", "retry")])
        finally:
            clear_faults(kube)
        if 200 in statuses.values():
            current = (f"retry-{trial}", password)
        settle(f"trial {trial} ({statuses}): half-written state", lambda: half_written(kube, only=lane.pipeline),
               timeout=2.0)
        assert stored_value(kube, lane) == current, (trial, statuses)
    assert_delivered(kube, {lane: []}, {lane: {current}}, namespaces={"retry": ["retry-stage"]})
