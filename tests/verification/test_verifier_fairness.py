"""The operator's background Verifier, in-process over real HTTP: a real docker-registry for "tenant B",
servers that accept connections and never answer for "tenant A", recording servers for token realms.

Fairness bound under test (see ``shipway.reconcile.verifying``): with ``concurrency=4, per_registry=2``,
one hanging registry holds at most two slots, so B's check starts at once and is recorded while A's checks
still hang, long before the first of them could time out. When hanging registries hold every slot, B's
check runs in the first slot that frees, when the first of them reaches its ``check_timeout``. Counted,
not timed: the order in which results arrive, and how many checks run and wait per registry.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from shipway.core.dockerconfig import AuthEntry
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.layers import EffectiveEntry, Layer, Provenance
from shipway.core.registry_keys import parse_key
from shipway.core.resources import SecretRef, Usage
from shipway.core.secrets import Secret
from shipway.reconcile.verifying import LaneLoad, Verifier
from tests.support import registries
from tests.support.hostile import Answer, ScriptedServer, SeenRequest, SilentServer
from tests.support.registries import RegistryServer, start_htpasswd_registry
from tests.support.tls import TlsFiles, make_server_tls

pytestmark = pytest.mark.integration
CANARY = "canary-fairness-51c7-DO-NOT-LEAK"
HANG = 20.0  # a hanging exchange times out after this long: nothing in the fairness test waits for it


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("registry-b")
    for server in registries.running(lambda: start_htpasswd_registry(directory)):
        server.add_user("team-b-bot", CANARY)
        yield server


@pytest.fixture
def no_canary_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert CANARY not in caplog.text, "a password reached a log line"


def entry(registry: str, username: str, password: str, *, namespace: str = "team-a") -> EffectiveEntry:
    auth = AuthEntry(key=registry, registry=parse_key(registry), username=username, password=Secret(password))
    source = SecretRef(namespace=namespace, name="registry-credentials")
    return EffectiveEntry(entry=auth, provenance=Provenance(Layer.PIPELINE, source), usage=frozenset({Usage.PULL}),
                          fingerprint=entry_fingerprint(auth))


def tenant_a(netloc: str, count: int, tag: str = "") -> list[EffectiveEntry]:
    return [entry(netloc, "a-bot", f"{CANARY}-a{tag}{i}") for i in range(count)]


async def until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def test_a_hanging_registry_does_not_delay_the_check_of_another_registry(
    registry: RegistryServer, no_canary_in_logs: None
) -> None:
    done: list[str] = []
    verifier = Verifier(interval=3600, concurrency=4, per_registry=2, timeout=HANG, on_change=done.append)
    b = entry(registry.host, "team-b-bot", CANARY, namespace="team-b")
    with SilentServer() as silent:
        a = tenant_a(silent.netloc, 6)  # more than every slot there is
        try:
            started = asyncio.get_running_loop().time()
            verifier.want(a)
            await until(lambda: verifier.load() == {silent.netloc: LaneLoad(running=2, waiting=4)})
            verifier.want([b])  # wanted after all six of A's: it overtakes the four that wait
            await until(lambda: b.fingerprint in verifier.records)
            elapsed = asyncio.get_running_loop().time() - started
            assert verifier.records[b.fingerprint].ok is True
            assert done == [b.fingerprint]  # no check of A has ended ...
            assert verifier.load() == {silent.netloc: LaneLoad(running=2, waiting=4)}  # ... they still hang
            assert elapsed < HANG  # so B was recorded before A's first timeout could fire
            assert verifier.checks == 3
        finally:
            await verifier.aclose()
    assert verifier.load() == {}


async def test_when_hanging_registries_hold_every_slot_the_next_free_slot_goes_to_another_registry(
    registry: RegistryServer, no_canary_in_logs: None
) -> None:
    check_timeout = 3.0
    done: list[str] = []
    verifier = Verifier(interval=3600, concurrency=4, per_registry=2, timeout=HANG, check_timeout=check_timeout,
                        on_change=done.append)
    b = entry(registry.host, "team-b-bot", CANARY, namespace="team-b")
    with SilentServer() as first, SilentServer() as second:
        a = [*tenant_a(first.netloc, 3, "x"), *tenant_a(second.netloc, 3, "y")]
        try:
            verifier.want(a)
            full = {first.netloc: LaneLoad(2, 1), second.netloc: LaneLoad(2, 1)}
            await until(lambda: verifier.load() == full)
            verifier.want([b])
            assert verifier.load()[registry.host] == LaneLoad(running=0, waiting=1)  # every slot is held
            await until(lambda: b.fingerprint in verifier.records, timeout=5 * check_timeout)
            # B ran in the slots the first four timeouts freed, before the two A checks started then.
            assert done.index(b.fingerprint) <= 4
            assert verifier.load() in ({first.netloc: LaneLoad(1, 0), second.netloc: LaneLoad(1, 0)},
                                       {first.netloc: LaneLoad(1, 0)}, {second.netloc: LaneLoad(1, 0)})
            first_round = [verifier.records[f] for f in done if f != b.fingerprint]
            assert first_round and {(r.ok, r.reason) for r in first_round} == {(False, "Unreachable")}
        finally:
            await verifier.aclose()


async def test_one_check_per_fingerprint_however_many_pipelines_share_it(
    registry: RegistryServer, no_canary_in_logs: None
) -> None:
    verifier = Verifier(interval=3600)
    shared = [entry(registry.host, "team-b-bot", CANARY, namespace=f"team-{i}") for i in range(5)]
    assert len({e.fingerprint for e in shared}) == 1
    try:
        verifier.want(shared)
        verifier.want(shared[:2])
        await until(lambda: shared[0].fingerprint in verifier.records)
        verifier.want(shared)
        await asyncio.sleep(0.1)
        assert verifier.checks == 1 and list(verifier.records) == [shared[0].fingerprint]
    finally:
        await verifier.aclose()


async def test_records_hold_the_coarse_outcome_and_the_log_the_detail(
    registry: RegistryServer, caplog: pytest.LogCaptureFixture, no_canary_in_logs: None
) -> None:
    verifier = Verifier(interval=3600, timeout=0.3)
    wrong = entry(registry.host, "team-b-bot", CANARY + "-wrong")
    with SilentServer() as silent:
        hanging = entry(silent.netloc, "a-bot", CANARY + "-a")
        try:
            verifier.want([wrong, hanging])
            await until(lambda: {wrong.fingerprint, hanging.fingerprint} <= set(verifier.records))
        finally:
            await verifier.aclose()
    assert (verifier.records[wrong.fingerprint].ok, verifier.records[wrong.fingerprint].reason) == (
        False, "Unauthorized")
    assert (verifier.records[hanging.fingerprint].ok, verifier.records[hanging.fingerprint].reason) == (
        False, "Unreachable")
    assert f"verified {silent.netloc} ({hanging.fingerprint}): timeout" in caplog.text


async def test_forget_cancels_waiting_and_running_checks(registry: RegistryServer) -> None:
    verifier = Verifier(interval=3600, timeout=HANG)
    b = entry(registry.host, "team-b-bot", CANARY)
    with SilentServer() as silent:
        a = tenant_a(silent.netloc, 4)
        try:
            verifier.want(a)
            await until(lambda: verifier.load() == {silent.netloc: LaneLoad(2, 2)})
            verifier.forget(set())
            await until(lambda: verifier.load() == {})
            verifier.want([b])
            await until(lambda: b.fingerprint in verifier.records)
            assert list(verifier.records) == [b.fingerprint] and verifier.checks == 3
        finally:
            await verifier.aclose()


def test_the_bounds_are_checked() -> None:
    for options in ({"concurrency": 1}, {"concurrency": 2, "per_registry": 2}, {"per_registry": 0},
                    {"timeout": 0.0}, {"check_timeout": -1.0}):
        with pytest.raises(ValueError):
            Verifier(interval=3600, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def two_hosts_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_server_tls(tmp_path_factory.mktemp("realm-tls"), hosts=("127.0.0.1", "127.0.0.2"))


async def test_a_realm_on_another_host_gets_the_credential_only_when_trusted(
    two_hosts_tls: TlsFiles, no_canary_in_logs: None
) -> None:
    def realm(request: SeenRequest, server: ScriptedServer) -> Answer:
        return Answer(200, [("Content-Type", "application/json")], json.dumps({"token": "t.ok"}).encode())

    with ScriptedServer(realm, host="127.0.0.2", tls=two_hosts_tls) as tokens:

        def registry_script(request: SeenRequest, server: ScriptedServer) -> Answer:
            if request.authorization == "Bearer t.ok":
                return Answer(200, body=b"{}")
            return Answer(401, [("WWW-Authenticate", f'Bearer realm="{tokens.url}/token",service="s"')])

        with ScriptedServer(registry_script) as hostile:
            checked = entry(hostile.netloc, "a-bot", CANARY)
            outcomes = []
            for trusted in (frozenset(), frozenset({tokens.netloc})):
                verifier = Verifier(interval=3600, ca_file=two_hosts_tls.ca_file, trusted_realms=trusted)
                try:
                    verifier.want([checked])
                    await until(lambda v=verifier: checked.fingerprint in v.records)  # type: ignore[misc]
                    outcomes.append((verifier.records[checked.fingerprint].ok, len(tokens.requests)))
                finally:
                    await verifier.aclose()
    assert outcomes == [(False, 0), (True, 1)]  # refused: not contacted at all; trusted: asked once


async def test_re_checks_come_never_sooner_than_the_interval_and_within_a_tenth_more() -> None:
    """At most one check per credential per interval, however the rounds fall: the jitter only delays. A
    glob key names no registry, so its "check" is immediate and the gaps between rounds are the delays."""
    interval = 0.2
    rounds: list[float] = []
    verifier = Verifier(interval=interval, on_change=lambda fingerprint: rounds.append(
        asyncio.get_running_loop().time()))
    credential = entry("*.registry.example", "team-b-bot", CANARY, namespace="team-jitter")
    try:
        verifier.want([credential])
        await until(lambda: len(rounds) >= 11, timeout=30)
    finally:
        await verifier.aclose()
    gaps = [b - a for a, b in itertools.pairwise(rounds)]
    assert all(gap >= interval - 0.001 for gap in gaps), gaps  # never sooner (10 gaps: ±10% would fail them)
    assert len(set(gaps)) > 1 and min(gaps) < interval * 1.1 + 0.05  # spread, within a tenth more
