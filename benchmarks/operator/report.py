"""The report: ``benchmarks/results/latest.json`` (headline figures at the top level, every run under ``runs``),
the summary table on stdout, and the scaling plot (``benchmarks/results/scaling.png``, with matplotlib)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import shipway
from benchmarks.operator.common import (
    GOAL_FLOOR_RATIO,
    GOAL_KB_PER_NAMESPACE,
    GOAL_RSS_PERCENT,
    GOAL_RSS_SA_PERCENT,
    GOAL_SCALING_RATIO,
    GOAL_STARTUP_RATIO,
    GOAL_STARTUP_SECONDS_APART,
    PHASES,
    PLOT,
    REPO,
    RESULTS,
    percent_apart,
    ratio,
)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_mb"] = int(line.split()[1]) // 1024
    versions = {}
    for package in ("shipway", "kmock", "lightkube", "aiohttp", "httpx", "matplotlib"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    info["versions"] = versions
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["docker_registry"] = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True,
                                                 timeout=10).stdout.strip()
    source = Path(shipway.__file__).resolve().parent
    info["shipway_source"] = str(source)
    marker = source.parent.parent / "COMMIT"  # a snapshot (git archive) may name its commit next to its src/
    if source != REPO / "src" / "shipway" and marker.is_file():
        info["shipway_source_commit"] = marker.read_text().strip()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        info["git_commit"] = commit
        if source == REPO / "src" / "shipway":
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                                   text=True, timeout=10).stdout.strip()
            info["src_modified"] = bool(dirty)
    return info


def scaling_row(run: dict[str, Any], floor: dict[str, Any] | None) -> dict[str, Any]:
    n = run["pipelines"]
    converge = run["durations"]["converge_seconds"]
    row = {"pipelines": n, "converge_seconds": converge, "converge_seconds_per_pipeline": round(converge / n, 5),
           "rotation_seconds": run["rotation_seconds"], "rss_mb": run["rss_mb"],
           "writes_ratio": run["writes"]["ratio"], "rotation_writes_ratio": run["rotation_writes"]["ratio"],
           "startup_sync_seconds": run["startup_sync_seconds"],
           "operator_cpu_seconds_converge": _cpu_between(run, "synced", "converged", "operator"),
           "emulator_cpu_seconds_converge": _cpu_between(run, "synced", "converged", "emulator")}
    if floor is not None:
        row["floor_converge_seconds"] = floor["converge_seconds"]
        row["floor_converge_seconds_per_pipeline"] = round(floor["converge_seconds"] / n, 5)
        row["floor_rotation_seconds"] = floor.get("rotation_seconds")
        row["converge_floor_ratio"] = ratio(converge, floor["converge_seconds"])
        row["rotation_floor_ratio"] = ratio(run["rotation_seconds"], floor.get("rotation_seconds"))
    return row


def _cpu_between(run: dict[str, Any], start: str, end: str, who: str) -> float | None:
    cpu = run.get("cpu_seconds") or {}
    names = {"operator": "operator bench-main", "emulator": "emulator"}
    a, b = (cpu.get(start) or {}).get(names[who]), (cpu.get(end) or {}).get(names[who])
    return None if a is None or b is None else round(b - a, 2)


def _goal(goal: Any, met: bool | None) -> dict[str, Any]:
    return {"goal": goal, "met": met}


def assemble(args: argparse.Namespace, runs: dict[str, dict[str, Any]], floor: dict[str, Any] | None,
             scaling: list[dict[str, Any]], *, started: str, seconds: float, notes: list[str]) -> dict[str, Any]:
    main = runs["with_unrelated"]
    plain = runs["without_unrelated"]
    rss_apart = percent_apart(main.get("rss_mb"), plain.get("rss_mb"))
    restart = main.get("restart") or {}
    replicas = main.get("replicas") or {}
    converge_ratio = ratio(main["durations"]["converge_seconds"], (floor or {}).get("converge_seconds"))
    rotation_ratio = ratio(main["rotation_seconds"], (floor or {}).get("rotation_seconds"))
    sync, sync_unrelated = plain["startup_sync_seconds"], main["startup_sync_seconds"]
    scaling_ratio = None
    kb_per_namespace = None
    if len(scaling) >= 2:
        first, last = min(scaling, key=lambda r: r["pipelines"]), max(scaling, key=lambda r: r["pipelines"])
        scaling_ratio = ratio(last["converge_seconds_per_pipeline"], first["converge_seconds_per_pipeline"])
        if first["rss_mb"] and last["rss_mb"] and last["pipelines"] > first["pipelines"]:
            kb_per_namespace = round((last["rss_mb"] - first["rss_mb"]) * 1024
                                     / ((last["pipelines"] - first["pipelines"]) * len(PHASES)), 2)
    restart_writes = (restart.get("writes") or {}).get("operator")
    goals = {
        "writes_ratio": _goal("1.00", main["writes"]["ratio"] == 1.0),
        "reads_after_sync": _goal(0, main["reads_after_sync"] == 0),
        "idle_requests": _goal(0, main.get("idle_requests") == 0),
        "rss_difference_percent": _goal(f"< {GOAL_RSS_PERCENT}",
                                        rss_apart is not None and rss_apart < GOAL_RSS_PERCENT),
        "rotation_writes_ratio": _goal("1.00", main["rotation_writes"]["ratio"] == 1.0),
        "startup_sync_seconds_with_unrelated": _goal(
            f"within {GOAL_STARTUP_RATIO}x of startup_sync_seconds or {GOAL_STARTUP_SECONDS_APART:g} s apart",
            sync_unrelated <= sync * GOAL_STARTUP_RATIO or sync_unrelated - sync <= GOAL_STARTUP_SECONDS_APART),
        "rss_mb_with_unrelated_service_accounts": _goal(
            f"within {GOAL_RSS_SA_PERCENT:g}% of rss_mb",
            rss_apart is not None and rss_apart <= GOAL_RSS_SA_PERCENT),
        "converge_floor_ratio": _goal(f"<= {GOAL_FLOOR_RATIO}",
                                      None if converge_ratio is None else converge_ratio <= GOAL_FLOOR_RATIO),
        "rotation_floor_ratio": _goal(f"<= {GOAL_FLOOR_RATIO}",
                                      None if rotation_ratio is None else rotation_ratio <= GOAL_FLOOR_RATIO),
        "restart_writes": _goal(0, None if restart_writes is None else restart_writes == 0),
        "follower_writes": _goal(0, None if not replicas else replicas["follower_writes"] == 0),
        "registry_checks_per_interval": _goal(
            "<= 1", None if not replicas else replicas["registry_checks_per_interval"] <= 1.0),
        "scaling_converge_per_pipeline_ratio": _goal(
            f"<= {GOAL_SCALING_RATIO} (largest size against smallest)",
            None if scaling_ratio is None else scaling_ratio <= GOAL_SCALING_RATIO),
        "memory_kb_per_namespace": _goal(
            f"<= {GOAL_KB_PER_NAMESPACE:g}",
            None if kb_per_namespace is None else kb_per_namespace <= GOAL_KB_PER_NAMESPACE),
    }
    return {
        "benchmark": "operator",
        "started_at": started,
        "command": "python -m benchmarks.operator " + " ".join(sys.argv[1:]),
        "pipelines": main["pipelines"],
        "phases": main["pipelines"] * len(PHASES),
        "phases_per_pipeline": len(PHASES),
        "inheriting": main["inheriting"],
        "unrelated_secrets": main["unrelated_secrets"],
        "unrelated_service_accounts": main["unrelated_service_accounts"],
        "idle_seconds": args.idle_seconds,
        "rbac": not args.no_rbac,
        "verify_interval": args.verify_interval,
        # the issue's figures
        "startup_sync_seconds": sync,
        "startup_sync_seconds_with_unrelated": sync_unrelated,
        "rss_mb_with_unrelated_service_accounts": main.get("rss_mb"),
        "converge_seconds": main["durations"]["converge_seconds"],
        "converge_seconds_without_unrelated": plain["durations"]["converge_seconds"],
        "floor_converge_seconds": (floor or {}).get("converge_seconds"),
        "floor_rotation_seconds": (floor or {}).get("rotation_seconds"),
        "converge_floor_ratio": converge_ratio,
        "rotation_floor_ratio": rotation_ratio,
        "restart_writes": restart_writes,
        "restart_sync_seconds": restart.get("sync_seconds"),
        "follower_writes": replicas.get("follower_writes"),
        "registry_checks_per_interval": replicas.get("registry_checks_per_interval"),
        "scaling": scaling,
        "scaling_converge_per_pipeline_ratio": scaling_ratio,
        "memory_kb_per_namespace": kb_per_namespace,
        # the earlier figures
        "writes_ratio": main["writes"]["ratio"],
        "writes_ratio_with_events": main["writes"]["ratio_with_events"],
        "event_writes": main["writes"]["events"],
        "reads_after_sync": main["reads_after_sync"],
        "idle_requests": main.get("idle_requests"),
        "rss_mb": plain.get("rss_mb"),
        "rss_mb_with_unrelated": main.get("rss_mb"),
        "rss_difference_percent": rss_apart,
        "rotation_seconds": main["rotation_seconds"],
        "rotation_seconds_without_unrelated": plain["rotation_seconds"],
        "rotation_status_seconds": main["rotation_status_seconds"],
        "rotation_writes_ratio": main["rotation_writes"]["ratio"],
        "rotation_writes_ratio_with_events": main["rotation_writes"]["ratio_with_events"],
        "writes": main["writes"],
        "rotation_writes": main["rotation_writes"],
        "durations": {"total_seconds": round(seconds, 1),
                      **{f"{label}_run_seconds": r["durations"]["run_seconds"] for label, r in runs.items()},
                      "floor_run_seconds": (floor or {}).get("durations", {}).get("run_seconds")},
        "goals": goals,
        "notes": notes,
        "floor": floor,
        "runs": runs,
        "machine": machine_info(),
    }


def write(report: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


def plot(report: dict[str, Any], path: Path = PLOT) -> str:
    """Converge time per pipeline (operator and floor) and peak RSS against pipelines, from the report's
    ``scaling`` rows. Returns what was done (the path, or why not)."""
    rows = sorted(report.get("scaling") or [], key=lambda r: r["pipelines"])
    if not rows:
        return "no scaling rows: no plot"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no plot"
    n = [r["pipelines"] for r in rows]
    figure, left = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    left.plot(n, [r["converge_seconds_per_pipeline"] * 1000 for r in rows], "o-", color="tab:blue",
              label="operator: converge per pipeline")
    if all("floor_converge_seconds_per_pipeline" in r for r in rows):
        left.plot(n, [r["floor_converge_seconds_per_pipeline"] * 1000 for r in rows], "s--", color="tab:cyan",
                  label="floor: converge per pipeline")
    left.set_xlabel("pipelines (2 phase namespaces each)")
    left.set_ylabel("converge time per pipeline (ms)")
    left.set_ylim(bottom=0)
    left.set_xscale("log")
    left.set_xticks(n, [str(x) for x in n])
    left.xaxis.set_minor_formatter(NullFormatter())
    right = left.twinx()
    right.plot(n, [r["rss_mb"] for r in rows], "^-", color="tab:red", label="operator peak RSS")
    right.set_ylabel("operator peak RSS (MiB)")
    right.set_ylim(bottom=0)
    lines = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", fontsize=8)
    machine = report.get("machine") or {}
    left.set_title(f"Shipway operator scaling ({machine.get('cpus', '?')} cores, "
                   f"{'RBAC' if report.get('rbac') else 'no RBAC'}; {report.get('started_at', '')})", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def print_table(report: dict[str, Any]) -> None:
    main, plain = report["runs"]["with_unrelated"], report["runs"]["without_unrelated"]
    goals = report["goals"]

    def met(key: str) -> str:
        state = goals.get(key, {}).get("met")
        return "" if state is None else ("met" if state else "NOT MET")

    rows = [
        ("figure", "value", "goal", ""),
        ("startup_sync_seconds (from process start)", _fmt(report["startup_sync_seconds"], ".2f"), "", ""),
        (f"startup_sync_seconds_with_unrelated ({report['unrelated_secrets']} Secrets, "
         f"{report['unrelated_service_accounts']} ServiceAccounts)", _fmt(report["startup_sync_seconds_with_unrelated"],
                                                                           ".2f"),
         goals["startup_sync_seconds_with_unrelated"]["goal"], met("startup_sync_seconds_with_unrelated")),
        ("rss_mb (peak, without unrelated)", _fmt(report["rss_mb"]), "", ""),
        ("rss_mb_with_unrelated_service_accounts", _fmt(report["rss_mb_with_unrelated_service_accounts"]),
         goals["rss_mb_with_unrelated_service_accounts"]["goal"], met("rss_mb_with_unrelated_service_accounts")),
        ("converge_seconds (operator / floor)",
         f"{_fmt(report['converge_seconds'], '.2f')} / {_fmt(report['floor_converge_seconds'], '.2f')}", "", ""),
        ("converge_floor_ratio", _fmt(report["converge_floor_ratio"], ".2f"), goals["converge_floor_ratio"]["goal"],
         met("converge_floor_ratio")),
        ("rotation_seconds (operator / floor)",
         f"{_fmt(report['rotation_seconds'], '.2f')} / {_fmt(report['floor_rotation_seconds'], '.2f')}", "", ""),
        ("rotation_floor_ratio", _fmt(report["rotation_floor_ratio"], ".2f"), goals["rotation_floor_ratio"]["goal"],
         met("rotation_floor_ratio")),
        ("writes_ratio (operator/minimal, from its start)",
         f"{main['writes']['ratio']:.3f} ({main['writes']['operator']}/{main['writes']['minimal']})", "1.00",
         met("writes_ratio")),
        ("  of which Events (create/patch events)", str(main["writes"]["events"]), "", ""),
        ("rotation_writes_ratio",
         f"{main['rotation_writes']['ratio']:.3f} ({main['rotation_writes']['operator']}/"
         f"{main['rotation_writes']['minimal']})", "1.00", met("rotation_writes_ratio")),
        ("  of which Events", str(main["rotation_writes"]["events"]), "", ""),
        ("reads_after_sync", str(main["reads_after_sync"]), "0", met("reads_after_sync")),
        (f"idle_requests ({report['idle_seconds']:g}s)", _fmt(main.get("idle_requests")), "0", met("idle_requests")),
        ("restart_writes", _fmt(report["restart_writes"]), "0", met("restart_writes")),
        ("restart_sync_seconds", _fmt(report["restart_sync_seconds"], ".2f"), "", ""),
        ("follower_writes", _fmt(report["follower_writes"]), "0", met("follower_writes")),
        ("registry_checks_per_interval", _fmt(report["registry_checks_per_interval"], ".3f"), "<= 1",
         met("registry_checks_per_interval")),
        ("scaling_converge_per_pipeline_ratio", _fmt(report["scaling_converge_per_pipeline_ratio"], ".2f"),
         goals["scaling_converge_per_pipeline_ratio"]["goal"], met("scaling_converge_per_pipeline_ratio")),
        ("memory_kb_per_namespace", _fmt(report["memory_kb_per_namespace"], ".1f"),
         goals["memory_kb_per_namespace"]["goal"], met("memory_kb_per_namespace")),
        ("rss_mb_with_unrelated / rss_mb", f"{main.get('rss_mb')} / {plain.get('rss_mb')} "
         f"({report['rss_difference_percent']}% apart)", f"< {GOAL_RSS_PERCENT:g}% apart",
         met("rss_difference_percent")),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print()
    print(f"Shipway operator benchmark: {report['pipelines']} pipelines x {report['phases_per_pipeline']} phases, "
          f"{report['inheriting']} inheriting; {'RBAC' if report['rbac'] else 'no RBAC'}")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    if report["scaling"]:
        print("\nscaling (no unrelated objects):")
        print(f"  {'pipelines':>9} {'converge s':>10} {'per pipeline ms':>15} {'floor s':>8} {'rotation s':>10} "
              f"{'RSS MB':>7}")
        for r in report["scaling"]:
            per = r["converge_seconds_per_pipeline"] * 1000
            print(f"  {r['pipelines']:>9} {r['converge_seconds']:>10.2f} {per:>15.2f}"
                  f" {_fmt(r.get('floor_converge_seconds'), '.2f'):>8} {r['rotation_seconds']:>10.2f}"
                  f" {_fmt(r['rss_mb']):>7}")
    print("\nwrites by resource (with unrelated, from the operator's start): operator / minimal")
    for resource, counts in main["writes"]["by_resource"].items():
        failed = f"  failed: {counts['failed']}" if counts["failed"] else ""
        print(f"  {resource:<20} {counts['operator']:>6} / {counts['minimal']:<6} {counts['by_verb']}{failed}")
    for note in report.get("notes") or []:
        print(f"note: {note}")
    print(f"\nfigures written to {RESULTS.relative_to(REPO)}; total {report['durations']['total_seconds']:.0f}s")
