"""Reading the emulator's request ledger: whose request (by User-Agent), which verb and resource, and waiting
until a phase has settled."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from benchmarks.operator.api import Kube
from benchmarks.operator.common import OPERATOR_AGENT, SETTLE_SECONDS, WRITE_VERBS, Deadline
from benchmarks.operator.processes import Child
from benchmarks.operator.workload import Workload

Record = dict[str, Any]
_IDENTITY = re.compile(r"\(([^()]*)\)\s*$")


def is_operator(record: Record, identity: str | None = None) -> bool:
    """A request of an operator (``shipway-operator/VERSION (IDENTITY)``), of the replica ``identity`` if given."""
    agent = str(record.get("user_agent", ""))
    return agent.startswith(OPERATOR_AGENT) and (identity is None or identity_of(record) == identity)


def identity_of(record: Record) -> str | None:
    found = _IDENTITY.search(str(record.get("user_agent", "")))
    return found.group(1) if found else None


def is_write(record: Record) -> bool:
    return record.get("verb") in WRITE_VERBS


def is_read(record: Record) -> bool:
    """GET and LIST, discovery included; watches are not reads of state (they are the cache's feed)."""
    return record["method"] == "GET" and record.get("verb") != "watch"


def resource_of(record: Record) -> str:
    plural = record.get("plural")
    if not plural:  # discovery and other non-resource paths
        return str(record["path"])
    return f"{plural}/{record['subresource']}" if record.get("subresource") else str(plural)


def describe(record: Record) -> str:
    verb = record.get("verb") or "discovery"
    return f"{verb}: {record['method']} {record['path']} -> {record['status']} ({record['user_agent']})"


def write_summary(records: Iterable[Record], minimal: Counter[str], *, agent: str = OPERATOR_AGENT
                  ) -> dict[str, Any]:
    """The write requests of ``agent`` (a User-Agent prefix) by resource and verb, against the minimum; failed
    ones listed."""
    writes = [r for r in records if str(r.get("user_agent", "")).startswith(agent) and is_write(r)]
    by_resource: dict[str, dict[str, Any]] = {}
    for resource in sorted({resource_of(r) for r in writes} | set(minimal)):
        mine = [r for r in writes if resource_of(r) == resource]
        by_resource[resource] = {
            "operator": len(mine), "minimal": minimal.get(resource, 0),
            "by_verb": dict(sorted(Counter(r["verb"] for r in mine).items())),
            "failed": dict(sorted(Counter(f"{r['verb']} {r['status']}" for r in mine if r["status"] >= 400).items())),
        }
    least = sum(minimal.values())
    events = sum(1 for r in writes if r.get("plural") == "events")
    total = len(writes) - events  # writes of state; Events (reports about it, rate-bounded) are counted apart
    return {
        "operator": total, "minimal": least, "ratio": round(total / least, 4) if least else None,
        "events": events,
        "ratio_with_events": round((total + events) / least, 4) if least else None,
        "by_resource": by_resource,
        "failed": [describe(r) for r in writes if r["status"] >= 400][:50],
    }


def status_writes_per_pipeline(records: Iterable[Record], workload: Workload) -> dict[str, dict[str, int]]:
    """How many status writes each pipeline got: {"inheriting"|"own": {writes: pipelines}}."""
    per: Counter[str] = Counter(str(r["path"]).rstrip("/").split("/")[-2] for r in records
                                if is_operator(r) and is_write(r) and resource_of(r) == "pipelines/status")
    out: dict[str, Counter[int]] = {"inheriting": Counter(), "own": Counter()}
    for name in workload.names:
        out["inheriting" if workload.inherits(name) else "own"][per.get(name, 0)] += 1
    return {group: {str(k): v for k, v in sorted(c.items())} for group, c in out.items()}


def request_summary(records: Iterable[Record], identity: str | None = None) -> dict[str, Any]:
    mine = [r for r in records if is_operator(r, identity)]
    return {
        "total": len(mine),
        "by_verb": dict(sorted(Counter(f"{r.get('verb') or 'discovery'} {resource_of(r)}"
                                       for r in mine).items())),
        "examples": [describe(r) for r in mine[:50]],
    }


async def settle(kube: Kube, deadline: Deadline, *, quiet: float = SETTLE_SECONDS,
                 busy: Iterable[Child] = (), cpu_quiet: float = 0.1) -> list[Record]:
    """Wait until the ledger has not grown for ``quiet`` seconds and none of the ``busy`` processes used more
    than ``cpu_quiet`` CPU seconds meanwhile (an operator that computes and finds nothing to write makes no
    request: its CPU says when its pass is over); return the ledger. The benchmark's ledger reads are not
    recorded."""
    children = list(busy)
    last = await kube.ledger()
    cpu = [c.cpu_seconds() or 0.0 for c in children]
    while True:
        deadline.check("waiting for the operator to settle")
        started = time.monotonic()
        await asyncio.sleep(quiet)
        now = await kube.ledger()
        cpu_now = [c.cpu_seconds() or 0.0 for c in children]
        idle_cpu = all(after - before <= cpu_quiet * (time.monotonic() - started) / quiet
                       for before, after in zip(cpu, cpu_now, strict=True))
        if len(now) == len(last) and idle_cpu:
            return now
        last, cpu = now, cpu_now
