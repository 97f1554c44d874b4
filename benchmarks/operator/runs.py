"""One run of the workload against a fresh emulator and operator, with the phases the run asks for: start-up,
convergence, rotation, idle, a restart, two replicas with registry checks; and the floor's run.

Every figure of a run comes from the emulator's request ledger (whose request: the User-Agent, and for the
operator the replica's identity in parentheses), the benchmark's own watches, the processes' /proc entries
and, for registry checks, the registries' counting proxies.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.operator import floor as floors
from benchmarks.operator.api import Kube, Watch, bulk
from benchmarks.operator.cluster import Emulator, install, start_operator
from benchmarks.operator.common import (
    FLOOR_AGENT,
    FLOOR_CONCURRENCY,
    PHASES,
    PIPELINE_CONCURRENCY,
    PULL_SECRET,
    PULL_USER,
    PUSH_USER,
    SYSTEM_NAMESPACE,
    BenchmarkError,
    Deadline,
    say,
)
from benchmarks.operator.ledger import (
    describe,
    is_operator,
    is_read,
    is_write,
    request_summary,
    settle,
    status_writes_per_pipeline,
    write_summary,
)
from benchmarks.operator.observe import Observer
from benchmarks.operator.processes import Child
from benchmarks.operator.registries import Registry
from benchmarks.operator.workload import (
    Snapshot,
    Workload,
    minimal_rotation_writes,
    minimal_writes,
    rotation_patch,
    setup_cluster,
    snapshot,
    verified_snapshot,
)

MAIN = "bench-main"
RESTARTED = "bench-restarted"
LEADER = "bench-leader"
FOLLOWER = "bench-follower"


@dataclass
class Context:
    """What every run shares: where logs go, the deadline, the registries, the options."""

    workdir: Path
    deadline: Deadline
    rbac: bool
    verify_interval: float  # the operator's, in the main runs (0: off)
    check_interval: float  # the replicas' verify interval, where registry checks are counted
    check_intervals: int  # how many of them are counted
    floor_client: str = "httpx"
    floor_concurrency: int = FLOOR_CONCURRENCY
    pull_registry: Registry | None = None
    push_registry: Registry | None = None
    push_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def registries(self) -> list[Registry]:
        return [r for r in (self.pull_registry, self.push_registry) if r is not None]

    def registry(self, address: str) -> Registry | None:
        return next((r for r in self.registries if r.address == address), None)


@dataclass
class Options:
    unrelated_secrets: int = 0
    unrelated_service_accounts: int = 0
    idle_seconds: float = 0.0
    restart: bool = False
    replicas: bool = False
    capture: bool = False  # keep the snapshots the floor replays


def _cpu(*children: Child | None) -> dict[str, float | None]:
    return {c.name.split(" (")[0]: c.cpu_seconds() for c in children if c is not None}


def _new_password(old: str) -> str:
    new = secrets.token_urlsafe(18)
    return new if new != old else _new_password(old)


async def run(ctx: Context, label: str, workload: Workload, options: Options) -> dict[str, Any]:
    """One complete run against a fresh emulator and operator; processes are stopped whatever happens."""
    started_run = time.monotonic()
    deadline = ctx.deadline
    result: dict[str, Any] = {
        "label": label, "pipelines": workload.pipelines, "inheriting": workload.inheriting,
        "unrelated_secrets": options.unrelated_secrets,
        "unrelated_service_accounts": options.unrelated_service_accounts,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    durations: dict[str, float] = {}
    cpu: dict[str, dict[str, float | None]] = {}
    result["durations"], result["cpu_seconds"] = durations, cpu
    emulator = Emulator(ctx.workdir, label, rbac=ctx.rbac)
    operator: Child | None = None
    kube: Kube | None = None
    observer: Observer | None = None
    try:
        await emulator.started(deadline)
        kube = Kube(emulator.admin)
        await install(kube, with_rbac=ctx.rbac)
        password = secrets.token_urlsafe(18)
        result["passwords"] = {"initial": password}
        if ctx.pull_registry is not None:
            ctx.pull_registry.set_users({PULL_USER: password})
        durations.update(await setup_cluster(
            kube, workload, unrelated_secrets=options.unrelated_secrets,
            unrelated_service_accounts=options.unrelated_service_accounts,
            pull_password=password, push_password=ctx.push_password))
        if options.unrelated_secrets or options.unrelated_service_accounts:
            say(f"{label}: {options.unrelated_secrets} unrelated Secrets in "
                f"{durations.get('unrelated_secrets_seconds', 0):.1f}s, {options.unrelated_service_accounts} "
                f"unrelated ServiceAccounts in {durations.get('unrelated_service_accounts_seconds', 0):.1f}s")

        # The operator, from its process start: every request it makes is counted from here.
        await kube.reset_ledger()
        operator = start_operator(emulator, ctx.workdir, identity=MAIN, verify_interval=ctx.verify_interval)
        line = await operator.wait_for("cache synced", timeout=300, deadline=deadline)
        result["startup_sync_seconds"] = operator.seconds_since_start(line)
        durations["operator_sync_detected_seconds"] = round(time.monotonic() - operator.started, 2)
        cpu["synced"] = _cpu(operator, emulator.child)
        result["rss_mb_at_sync"] = operator.memory().get("VmHWM")
        at_sync = await kube.ledger()
        sync_index = len(at_sync)
        result["before_sync"] = request_summary(at_sync)
        say(f"{label}: operator pid {operator.pid}: cache synced {result['startup_sync_seconds']:.2f}s after its "
            f"start ({result['before_sync']['total']} requests)")

        # Pipelines, until every one is Ready and every phase namespace holds its objects.
        observer = Observer(emulator.admin, workload)
        await observer.start()
        client = kube
        created_at: dict[str, float] = {}

        async def create(name: str) -> None:
            await client.create(workload.pipeline(name), "pipelines")
            created_at[name] = time.monotonic()

        started = time.monotonic()
        await bulk(workload.names, create, concurrency=PIPELINE_CONCURRENCY)
        durations["pipelines_create_seconds"] = round(time.monotonic() - started, 2)
        say(f"{label}: {workload.pipelines} pipelines created in {durations['pipelines_create_seconds']:.1f}s")
        await observer.wait_ready(deadline, children=(emulator.child, operator))
        durations["converge_seconds"] = round(max(observer.ready_at.values()) - started, 3)
        result["ready_latency"] = _latencies({n: observer.ready_at[n] - created_at[n] for n in created_at})
        cpu["converged"] = _cpu(operator, emulator.child)
        say(f"{label}: every pipeline Ready {durations['converge_seconds']:.2f}s after the first create")
        created_state = await verified_snapshot(kube, workload)
        durations["objects_verified_seconds"] = round(time.monotonic() - started, 2)
        ledger = await settle(kube, deadline, busy=[operator])
        result["writes"] = write_summary(ledger, minimal_writes(workload))
        result["creation_requests"] = request_summary(ledger[sync_index:])
        result["status_writes_per_pipeline"] = status_writes_per_pipeline(ledger, workload)
        reads_creation = [r for r in ledger[sync_index:] if is_operator(r) and is_read(r)]
        say(f"{label}: creation settled: {result['writes']['operator']} writes from the operator's start (minimal "
            f"{result['writes']['minimal']}), {len(reads_creation)} reads after its sync")

        # Rotation of the platform default pull credential.
        new_password = _new_password(password)
        result["passwords"]["rotated"] = new_password
        await observer.prepare_rotation(new_password)
        if ctx.pull_registry is not None:
            ctx.pull_registry.set_users({PULL_USER: new_password})
        rotation_index = len(ledger)
        rotated_at = time.monotonic()
        await kube.patch("v1", "secrets", PULL_SECRET, rotation_patch(workload, new_password),
                         namespace=SYSTEM_NAMESPACE)
        await observer.wait_rotated(deadline, children=(emulator.child, operator))
        result.update(observer.rotation_figures(rotated_at))
        say(f"{label}: rotation: last shipway-pull after {result['rotation_seconds']:.2f}s, last status after "
            f"{result['rotation_status_seconds']:.2f}s")
        ledger = await settle(kube, deadline, busy=[operator])
        rotation = ledger[rotation_index:]
        result["rotation_writes"] = write_summary(rotation, minimal_rotation_writes(
            workload, verifying=ctx.verify_interval > 0))
        result["rotation_requests"] = request_summary(rotation)
        result["rotation_status_writes_per_pipeline"] = status_writes_per_pipeline(rotation, workload)
        reads_rotation = [r for r in rotation if is_operator(r) and is_read(r)]
        non_inheriting = {ns for n in workload.own_names for ns in workload.namespaces_of(n)}
        result["rotation_touched_non_inheriting_namespaces"] = len(
            {r.get("namespace") for r in rotation if is_operator(r) and r.get("namespace") in non_inheriting})
        cpu["rotated"] = _cpu(operator, emulator.child)
        rotated_state = await snapshot(kube) if options.capture else None
        say(f"{label}: rotation settled: {result['rotation_writes']['operator']} writes (minimal "
            f"{result['rotation_writes']['minimal']})")

        # Idle.
        reads_idle: list[dict[str, Any]] = []
        if options.idle_seconds > 0:
            await kube.reset_ledger()
            idle_started = time.monotonic()
            while time.monotonic() - idle_started < options.idle_seconds:
                deadline.check("idle")
                if not operator.running():
                    raise BenchmarkError(f"the operator exited during the idle period:\n{operator.tail()}")
                await asyncio.sleep(min(1.0, options.idle_seconds))
            durations["idle_seconds"] = round(time.monotonic() - idle_started, 2)
            idle = await kube.ledger()
            result["idle"] = request_summary(idle)
            result["idle_requests"] = result["idle"]["total"]
            reads_idle = [r for r in idle if is_operator(r) and is_read(r)]
            say(f"{label}: {result['idle_requests']} operator requests in {durations['idle_seconds']:.0f}s of idle")

        reads = reads_creation + reads_rotation + reads_idle
        result["reads_after_sync"] = len(reads)
        result["reads_after_sync_detail"] = {
            "creation": len(reads_creation), "rotation": len(reads_rotation), "idle": len(reads_idle),
            "examples": [describe(r) for r in reads[:50]],
        }
        cpu["end"] = _cpu(operator, emulator.child)
        memory = operator.memory()
        result["rss_mb"] = memory.get("VmHWM")
        result["rss_now_mb"] = memory.get("VmRSS")
        result["emulator_rss_mb"] = emulator.child.memory().get("VmHWM")
        result["operator_log"] = _log_summary(operator)
        result["objects"] = {"phase_namespaces": workload.pipelines * len(PHASES)}
        result["operator_exit_code"] = operator.stop()
        operator = None

        if options.restart:
            result["restart"] = await _restart(ctx, emulator, kube, workload)
        if options.replicas:
            result["replicas"] = await _replicas(ctx, emulator, kube, workload)
        if options.capture:
            result["_snapshots"] = (created_state, rotated_state)
        return result
    finally:
        if observer is not None:
            await observer.stop()
        if operator is not None:
            result["operator_exit_code"] = operator.stop()
        if kube is not None:
            await kube.close()
        emulator.stop()
        durations["run_seconds"] = round(time.monotonic() - started_run, 1)
        result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]


def _latencies(by_name: dict[str, float]) -> dict[str, Any]:
    """Quantiles of each pipeline's time from its create answered to Ready, and the slowest five."""
    ordered = sorted(by_name.values())
    if not ordered:
        return {}

    def quantile(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    slowest = sorted(by_name.items(), key=lambda item: item[1], reverse=True)[:5]
    return {"p50": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99), "max": round(ordered[-1], 3),
            "slowest": {name: round(seconds, 3) for name, seconds in slowest}}


def _log_summary(operator: Child) -> dict[str, Any]:
    lines = operator.lines()
    warnings = [ln for ln in lines if " WARNING " in ln or " ERROR " in ln]
    return {"lines": len(lines), "warnings": len(warnings), "warning_examples": [ln[:300] for ln in warnings[:10]],
            "registry_checks": sum(1 for ln in lines if ": verified " in ln)}


async def _restart(ctx: Context, emulator: Emulator, kube: Kube, workload: Workload) -> dict[str, Any]:
    """A new operator process against the converged cluster: its sync time from its start, and every request
    it makes until its full pass is over (the ledger quiet and its CPU idle)."""
    await kube.reset_ledger()
    operator = start_operator(emulator, ctx.workdir, identity=RESTARTED, verify_interval=ctx.verify_interval)
    try:
        line = await operator.wait_for("cache synced", timeout=300, deadline=ctx.deadline)
        out: dict[str, Any] = {"sync_seconds": operator.seconds_since_start(line)}
        ledger = await settle(kube, ctx.deadline, busy=[operator])
        out["settled_seconds"] = round(time.monotonic() - operator.started, 2)
        mine = [r for r in ledger if is_operator(r, RESTARTED)]
        out["writes"] = write_summary(mine, Counter())
        out["requests"] = request_summary(ledger, RESTARTED)
        out["rss_mb"] = operator.memory().get("VmHWM")
        out["cpu_seconds"] = operator.cpu_seconds()
        say(f"restart: cache synced {out['sync_seconds']:.2f}s after its start; {out['writes']['operator']} writes, "
            f"{out['requests']['total']} requests in all, settled {out['settled_seconds']:.1f}s after its start")
        return out
    finally:
        operator.stop()


async def _replicas(ctx: Context, emulator: Emulator, kube: Kube, workload: Workload) -> dict[str, Any]:
    """Two replicas without ``--standalone``, registry checks on (``--verify-interval``: the check interval):
    the first to hold the Lease leads; the second must write nothing, verifier included. The registries
    count the checks over ``check_intervals`` intervals, from half an interval after every credential had
    its first check (so that each window edge falls between two rounds)."""
    interval = ctx.check_interval
    await kube.reset_ledger()
    since = time.monotonic()
    leader = start_operator(emulator, ctx.workdir, identity=LEADER, standalone=False, verify_interval=interval)
    follower: Child | None = None
    out: dict[str, Any] = {"check_interval_seconds": interval, "check_intervals": ctx.check_intervals}
    try:
        await leader.wait_for(f"acquired by {LEADER}", timeout=120, deadline=ctx.deadline)
        follower = start_operator(emulator, ctx.workdir, identity=FOLLOWER, standalone=False, verify_interval=interval)
        line = await follower.wait_for("cache synced", timeout=300, deadline=ctx.deadline)
        out["follower_sync_seconds"] = follower.seconds_since_start(line)
        expected = {PULL_USER, PUSH_USER, *(workload.own_user(n) for n in workload.own_names)}

        def first_checks() -> dict[str, float]:
            seen: dict[str, float] = {}
            for registry in ctx.registries:
                assert registry.proxy is not None
                for request in registry.proxy.requests:
                    if (request.user is not None and request.path == "/v2/" and request.at >= since
                            and request.user not in seen):
                        seen[request.user] = request.at
            return seen

        while True:
            seen = first_checks()
            if all(user in seen for user in expected):
                break
            for child in (leader, follower):
                if not child.running():
                    raise BenchmarkError(f"{child.name} exited during the registry checks:\n{child.tail()}")
            ctx.deadline.check("waiting for the first registry check of every credential")
            if time.monotonic() - since > 120 + interval:
                missing = sorted(u for u in expected if u not in seen)
                raise BenchmarkError(f"no registry check of {len(missing)} credentials, e.g. {missing[:5]}")
            await asyncio.sleep(0.2)
        first_round_done = max(seen[u] for u in expected)
        out["first_round_seconds"] = round(first_round_done - since, 2)
        window_start = first_round_done + interval / 2
        window_end = window_start + ctx.check_intervals * interval
        say(f"replicas: {LEADER} leads, {FOLLOWER} follows; first check of all {len(expected)} credentials "
            f"{out['first_round_seconds']:.1f}s after the leader's start; counting checks for "
            f"{ctx.check_intervals} x {interval:g}s")
        while time.monotonic() < window_end:
            ctx.deadline.check("counting registry checks")
            for child in (leader, follower):
                if not child.running():
                    raise BenchmarkError(f"{child.name} exited during the registry checks:\n{child.tail()}")
            await asyncio.sleep(0.2)
        per_user: dict[str, int] = {}
        probes = 0
        for registry in ctx.registries:
            per_user.update(registry.checks(window_start, window_end))
            probes += registry.probes(window_start, window_end)
        counted = {u: per_user.get(u, 0) for u in expected}
        unexpected = {u: n for u, n in per_user.items() if u not in expected}
        total = sum(counted.values()) + sum(unexpected.values())
        out["distinct_credentials"] = len(expected)
        out["checks_in_window"] = total
        out["unauthenticated_probes_in_window"] = probes
        out["checks_per_credential"] = {str(k): v for k, v in sorted(_histogram(counted.values()).items())}
        out["unexpected_users"] = unexpected
        out["registry_checks_per_interval"] = round(total / ctx.check_intervals / len(expected), 3)
        out["registry_access_log_rounds"] = {r.name: r.access_log_rounds() for r in ctx.registries}

        # What each replica did, from the leader's start.
        ledger = await kube.ledger()
        follower_records = [r for r in ledger if is_operator(r, FOLLOWER)]
        out["follower_writes"] = sum(1 for r in follower_records if is_write(r))
        out["follower_write_examples"] = [describe(r) for r in follower_records if is_write(r)][:20]
        out["follower_requests"] = request_summary(ledger, FOLLOWER)
        out["leader_requests"] = request_summary(ledger, LEADER)
        out["leader_writes"] = sum(1 for r in ledger if is_operator(r, LEADER) and is_write(r))
        out["follower_registry_checks_logged"] = follower.count(": verified ")
        out["leader_registry_checks_logged"] = leader.count(": verified ")
        out["follower_led"] = follower.find(f"acquired by {FOLLOWER}") is not None
        out["rss_mb"] = {"leader": leader.memory().get("VmHWM"), "follower": follower.memory().get("VmHWM")}
        say(f"replicas: {out['registry_checks_per_interval']:.2f} checks per credential per interval "
            f"({total} checks of {len(expected)} credentials in {ctx.check_intervals} intervals); follower: "
            f"{out['follower_writes']} writes, {out['follower_requests']['total']} requests, "
            f"{out['follower_registry_checks_logged']} checks logged")
        return out
    finally:
        if follower is not None:  # first: the leader releases the Lease when it stops, and a follower would lead
            follower.stop()
        leader.stop()


def _histogram(values: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


async def floor_run(ctx: Context, label: str, workload: Workload, created: Snapshot, rotated: Snapshot | None,
                    *, passwords: dict[str, str], unrelated_secrets: int, unrelated_service_accounts: int
                    ) -> dict[str, Any]:
    """The floor (:mod:`benchmarks.operator.floor`) on a fresh emulator set up as the operator's run was:
    the same pipeline creates, then exactly the minimal writes, replayed from what the operator made; the
    same rotation. Timed by the same watches as the operator."""
    deadline = ctx.deadline
    result: dict[str, Any] = {"label": label}
    durations: dict[str, float] = {}
    result["durations"] = durations
    started_run = time.monotonic()
    emulator = Emulator(ctx.workdir, label, rbac=ctx.rbac)
    kube: Kube | None = None
    observer: Observer | None = None
    floor: floors.Floor | None = None
    try:
        await emulator.started(deadline)
        kube = Kube(emulator.admin)
        await install(kube, with_rbac=ctx.rbac)
        durations.update(await setup_cluster(
            kube, workload, unrelated_secrets=unrelated_secrets, unrelated_service_accounts=unrelated_service_accounts,
            pull_password=passwords["initial"], push_password=ctx.push_password))
        plan = floors.Plan.from_snapshots(workload, created, rotated)
        floor = floors.Floor(emulator.operator, concurrency=ctx.floor_concurrency, client=ctx.floor_client)
        result["client"] = {"library": ctx.floor_client, "concurrency": ctx.floor_concurrency}
        observer = Observer(emulator.admin, workload)
        await observer.start()
        the_floor = floor
        phase_namespaces = set(workload.phase_namespaces)

        def on_account(event_type: str, obj: dict[str, Any], when: float) -> None:
            ns = obj["metadata"].get("namespace", "")
            if ns in phase_namespaces and event_type != "DELETED":
                the_floor.account_seen(ns)

        await observer.add(Watch(emulator.admin, "v1", "serviceaccounts", field_selector="metadata.name=default",
                                 on_event=on_account))
        await floor.warm_up()
        await kube.reset_ledger()
        client = kube
        cpu_before = emulator.child.cpu_seconds()
        own_cpu = time.process_time()
        started = await floors.converge(floor, plan, workload.names,
                                        lambda name: client.create(workload.pipeline(name), "pipelines"),
                                        concurrency=PIPELINE_CONCURRENCY)
        await observer.wait_ready(deadline, children=(emulator.child,))
        result["converge_seconds"] = round(max(observer.ready_at.values()) - started, 3)
        result["emulator_cpu_seconds_converge"] = round((emulator.child.cpu_seconds() or 0) - (cpu_before or 0), 2)
        result["client_cpu_seconds_converge"] = round(time.process_time() - own_cpu, 2)  # the benchmark's process
        ledger = await settle(kube, deadline, quiet=1.0)
        result["writes"] = write_summary(ledger, minimal_writes(workload), agent=FLOOR_AGENT)
        say(f"{label}: floor converged in {result['converge_seconds']:.2f}s with {result['writes']['operator']} "
            f"writes (minimal {result['writes']['minimal']})")
        if rotated is not None:
            await observer.prepare_rotation(passwords["rotated"])
            rotation_index = len(ledger)
            rotated_at = time.monotonic()
            await kube.patch("v1", "secrets", PULL_SECRET, rotation_patch(workload, passwords["rotated"]),
                             namespace=SYSTEM_NAMESPACE)
            await floor.rotate(plan)
            await observer.wait_rotated(deadline, children=(emulator.child,))
            result.update(observer.rotation_figures(rotated_at))
            ledger = await settle(kube, deadline, quiet=1.0)
            result["rotation_writes"] = write_summary(ledger[rotation_index:], minimal_rotation_writes(
                workload, verifying=False), agent=FLOOR_AGENT)
            say(f"{label}: floor rotation: last shipway-pull after {result['rotation_seconds']:.2f}s with "
                f"{result['rotation_writes']['operator']} writes (minimal {result['rotation_writes']['minimal']})")
        return result
    finally:
        if observer is not None:
            await observer.stop()
        if floor is not None:
            await floor.close()
        if kube is not None:
            await kube.close()
        emulator.stop()
        durations["run_seconds"] = round(time.monotonic() - started_run, 1)
