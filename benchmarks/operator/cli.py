"""``python -m benchmarks.operator``: the options, the order of the runs, and the process's own safety nets
(overall timeout, SIGTERM, a watchdog that stops the children if cleanup hangs)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.operator import report as reports
from benchmarks.operator.common import FLOOR_CONCURRENCY, BenchmarkError, Deadline, say
from benchmarks.operator.processes import stop_all_children
from benchmarks.operator.registries import ClosedPorts, Registry, registry_available
from benchmarks.operator.runs import Context, Options, floor_run, run
from benchmarks.operator.workload import Workload

DESCRIPTION = "The operator benchmark: what the operator costs the API server and the machine, over real HTTP."


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of pipeline counts: {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("every size must be at least 1")
    return sorted(set(sizes))


def estimate_seconds(args: argparse.Namespace) -> float:
    """A rough duration of the whole benchmark on a quiet 2-core machine, from measured runs (see the README):
    a fixed cost per run, a cost per pipeline of each operator and floor run, per unrelated object set up,
    the idle periods, the restart and the replicas' check intervals."""
    sizes = list(args.scaling)
    floor = not args.no_floor
    operator_runs, floor_runs = 2 + len(sizes), (1 + len(sizes)) if floor else 0
    operator_pipelines = 2 * args.pipelines + sum(sizes)
    floor_pipelines = (args.pipelines + sum(sizes)) if floor else 0
    unrelated = (args.unrelated_secrets + args.unrelated_service_accounts) * (2 if floor else 1)
    replicas = 5 + (args.check_intervals + 0.5) * args.check_interval + 0.02 * args.pipelines
    restart = 7 + 0.01 * args.pipelines
    return (7 * operator_runs + 3 * floor_runs + 0.06 * operator_pipelines + 0.035 * floor_pipelines
            + 0.0016 * unrelated + 2 * args.idle_seconds + replicas + restart)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.operator", description=DESCRIPTION)
    parser.add_argument("--pipelines", type=int, default=500, help="pipelines of the main runs (2 phases each)")
    parser.add_argument("--unrelated-secrets", type=int, default=2000,
                        help="Secrets without any Shipway label in the cluster during the first run")
    parser.add_argument("--unrelated-service-accounts", type=int, default=5000,
                        help="ServiceAccounts that are not Shipway's in the cluster during the first run "
                             "(100 per namespace)")
    parser.add_argument("--inheriting", type=int, default=None,
                        help="pipelines that inherit the platform default credential (default: half)")
    parser.add_argument("--idle-seconds", type=float, default=80.0, help="idle period after convergence")
    parser.add_argument("--scaling", type=_sizes, default=[100, 1000], metavar="N1,N2,...",
                        help="pipeline counts of the scaling runs (no unrelated objects; '' for none)")
    parser.add_argument("--verify-interval", type=float, default=0.0,
                        help="the operator's registry re-check interval in the main and scaling runs (default 0: "
                             "off; each check of a pipeline's own credential costs one more status write by design)")
    parser.add_argument("--check-interval", type=float, default=10.0,
                        help="the replicas' verify interval, where registry checks are counted (default 10 s)")
    parser.add_argument("--check-intervals", type=int, default=2,
                        help="how many check intervals are counted (default 2)")
    parser.add_argument("--no-rbac", action="store_true",
                        help="run the emulator without users (plain HTTP, every request allowed) instead of with "
                             "the shipped RBAC and admission fence")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor runs (no floor ratios)")
    parser.add_argument("--floor-client", choices=("httpx", "aiohttp"), default="httpx",
                        help="the floor's HTTP library (default httpx, the operator's)")
    parser.add_argument("--floor-concurrency", type=int, default=FLOOR_CONCURRENCY,
                        help=f"the floor's requests in flight (default {FLOOR_CONCURRENCY})")
    parser.add_argument("--timeout", type=float, default=None,
                        help="hard limit for the whole benchmark in seconds (default: three times the estimate "
                             "for the options, at least 900)")
    args = parser.parse_args(argv)
    if args.pipelines < 1:
        parser.error("--pipelines must be at least 1")
    if args.inheriting is None:
        args.inheriting = args.pipelines // 2
    if not 0 <= args.inheriting <= args.pipelines:
        parser.error("--inheriting must be between 0 and --pipelines")
    if min(args.unrelated_secrets, args.unrelated_service_accounts, args.idle_seconds) < 0:
        parser.error("--unrelated-secrets, --unrelated-service-accounts and --idle-seconds must not be negative")
    if args.floor_concurrency < 1:
        parser.error("--floor-concurrency must be at least 1")
    if args.check_interval <= 0 or args.check_intervals < 1:
        parser.error("--check-interval must be positive and --check-intervals at least 1")
    if args.timeout is None:
        args.timeout = max(900.0, 3 * estimate_seconds(args))
    return args


async def amain(args: argparse.Namespace, workdir: Path, notes: list[str]) -> dict[str, Any]:
    deadline = Deadline(args.timeout)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    began = time.monotonic()
    ctx = Context(workdir=workdir, deadline=deadline, rbac=not args.no_rbac, verify_interval=args.verify_interval,
                  check_interval=args.check_interval, check_intervals=args.check_intervals,
                  floor_client=args.floor_client, floor_concurrency=args.floor_concurrency)
    closed: ClosedPorts | None = None
    say(f"estimated duration {estimate_seconds(args):.0f}s; hard limit {args.timeout:.0f}s")
    try:
        if registry_available():
            ctx.pull_registry, ctx.push_registry = Registry(workdir, "pull"), Registry(workdir, "push")
            for registry in ctx.registries:
                await registry.start()
            addresses = (ctx.pull_registry.address, ctx.push_registry.address)
        else:
            closed = ClosedPorts(2)
            addresses = (f"127.0.0.1:{closed.ports[0]}", f"127.0.0.1:{closed.ports[1]}")
            notes.append("docker-registry is not installed: registries are closed ports, no replicas phase "
                         "(no follower_writes, no registry_checks_per_interval)")
        workload = Workload(pipelines=args.pipelines, inheriting=args.inheriting, pull_registry=addresses[0],
                            push_registry=addresses[1])
        if ctx.push_registry is not None:
            users = workload.registry_users(pull_password="-", push_password=ctx.push_password)
            ctx.push_registry.set_users(users[workload.push_registry])
            say(f"registries: pull {workload.pull_registry}, push {workload.push_registry} "
                f"({len(users[workload.push_registry])} users)")

        runs: dict[str, dict[str, Any]] = {}
        with_unrelated = Options(unrelated_secrets=args.unrelated_secrets,
                                 unrelated_service_accounts=args.unrelated_service_accounts,
                                 idle_seconds=args.idle_seconds, restart=True,
                                 replicas=ctx.push_registry is not None, capture=not args.no_floor)
        runs["with_unrelated"] = await run(ctx, "with_unrelated", workload, with_unrelated)
        floor = None
        snapshots = runs["with_unrelated"].pop("_snapshots", None)
        if snapshots is not None:
            floor = await floor_run(ctx, "floor", workload, *snapshots,
                                    passwords=runs["with_unrelated"]["passwords"],
                                    unrelated_secrets=args.unrelated_secrets,
                                    unrelated_service_accounts=args.unrelated_service_accounts)
        runs["without_unrelated"] = await run(ctx, "without_unrelated", workload,
                                              Options(idle_seconds=args.idle_seconds))
        scaling: list[dict[str, Any]] = []
        for size in args.scaling:
            sized = Workload(pipelines=size, inheriting=size // 2, pull_registry=addresses[0],
                             push_registry=addresses[1])
            label = f"scaling_{size}"
            runs[label] = await run(ctx, label, sized, Options(capture=not args.no_floor))
            shots = runs[label].pop("_snapshots", None)
            sized_floor = None
            if shots is not None:
                sized_floor = await floor_run(ctx, f"floor_{size}", sized, *shots, passwords=runs[label]["passwords"],
                                              unrelated_secrets=0, unrelated_service_accounts=0)
                runs[f"floor_{size}"] = sized_floor
            scaling.append(reports.scaling_row(runs[label], sized_floor))
            say(f"scaling {size}: converge {scaling[-1]['converge_seconds']:.2f}s "
                f"({scaling[-1]['converge_seconds_per_pipeline'] * 1000:.1f} ms per pipeline), "
                f"RSS {scaling[-1]['rss_mb']} MB")
        for label in runs:
            runs[label].pop("passwords", None)
        return reports.assemble(args, runs, floor, scaling, started=started, seconds=time.monotonic() - began,
                                notes=notes)
    finally:
        for registry in ctx.registries:
            await registry.stop()
        if closed is not None:
            closed.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = Path(tempfile.mkdtemp(prefix="shipway-bench-"))

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    # A last resort if cleanup itself hangs: stop the children and leave.
    watchdog = threading.Timer(args.timeout + 90, lambda: (stop_all_children(), os._exit(124)))
    watchdog.daemon = True
    watchdog.start()
    ok = False
    notes: list[str] = []
    try:
        report = asyncio.run(asyncio.wait_for(amain(args, workdir, notes), timeout=args.timeout + 30))
        report["plot"] = reports.plot(report)
        reports.write(report)
        reports.print_table(report)
        print(f"plot: {report['plot']}")
        ok = True
        return 0
    except (BenchmarkError, TimeoutError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        stop_all_children()
        watchdog.cancel()
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)
