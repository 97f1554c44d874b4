"""Prometheus metrics of the operator, collected on scrape from its live state (no global registry), and its
HTTP endpoint (:mod:`.health`): ``/metrics``, ``/healthz`` (its event loop answers) and ``/readyz`` (its cache
is synced).

The HTTP server runs in a thread of its own; the operator's state belongs to its event loop. So a scrape
reads that state ON the loop (``call_soon_threadsafe``) and waits for the snapshot; a liveness probe does the
same with nothing to read: a loop that does not answer within seconds is not alive.

Every family is exposed even when nothing happened yet (labelled ones with each known label at 0), so that
dashboards and alerts see 0, not an absent series. Deliveries and rotations are counted from the operator's
own requests (its client counts each by verb and kind; the operator writes no Secrets but the pull and push
Secrets it delivers); refusals and verification outcomes are what the cache and the verifier hold now.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shipway import __version__
from shipway.adapters.registry import Outcome
from shipway.core.names import Reason
from shipway.operator import health

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from shipway.operator.runner import Operator

T = TypeVar("T")
SCRAPE_TIMEOUT = 5.0  # seconds a scrape waits for the event loop
ALIVE_TIMEOUT = 2.0  # seconds a liveness probe waits for the event loop (the probe's own timeout is 3)
NOT_CHECKABLE = "NotCheckable"  # a glob key: no single registry to check
# What the operator refuses to deliver (isolation and safety rules), as the Ready condition or a phase says.
REFUSALS = (Reason.SOURCE_NOT_USABLE, Reason.USAGE_NOT_GRANTED, Reason.REGISTRY_NOT_ALLOWED,
            Reason.NAMESPACE_PROTECTED, Reason.NAMESPACE_CLAIMED, Reason.NAMESPACE_NOT_ADOPTED,
            Reason.NAMESPACE_OUTSIDE_PREFIX, Reason.PIPELINE_NAME_NOT_MANAGEABLE, Reason.NAME_TAKEN,
            Reason.SECRET_TOO_LARGE)


def on_loop(loop: asyncio.AbstractEventLoop, read: Callable[[], T], *, timeout: float) -> T:
    """``read()`` run on ``loop``'s thread, from any thread; directly when already there."""
    try:
        if asyncio.get_running_loop() is loop:
            return read()
    except RuntimeError:
        pass  # no loop runs in this thread
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(read())
        except BaseException as error:
            future.set_exception(error)

    loop.call_soon_threadsafe(run)
    try:
        return future.result(timeout=timeout)
    finally:
        future.cancel()


def _pipelines(operator: Operator) -> tuple[Counter[str], Counter[str]]:
    """Pipelines by their Ready condition ("true", "false", "unknown"), and by refusal reason (a pipeline
    counts once per reason, whether its Ready condition or one of its phases names it)."""
    ready: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for body in operator.store.list("Pipeline"):
        status = body.get("status") or {}
        condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        ready[str(condition.get("status")).lower() if condition else "unknown"] += 1
        reasons = {condition.get("reason")} if condition else set()
        reasons.update(phase.get("reason") for phase in status.get("phases") or [])
        refused.update(reason for reason in REFUSALS if reason in reasons)
    return ready, refused


class OperatorCollector(Collector):
    """Reads the operator's state on its event loop (``loop``), or directly when ``loop`` is None."""

    def __init__(self, operator: Operator, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.operator = operator
        self.loop = loop

    def collect(self) -> Iterator[Metric]:
        if self.loop is None:
            return iter(self.families())
        return iter(on_loop(self.loop, self.families, timeout=SCRAPE_TIMEOUT))

    def families(self) -> list[Metric]:
        op = self.operator
        info = GaugeMetricFamily("shipway_operator_build_info", "The operator's version (always 1)",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        out: list[Metric] = [
            info,
            GaugeMetricFamily("shipway_operator_ready", "1 once every informer has listed: the cache is synced",
                              value=int(op.ready.is_set())),
            GaugeMetricFamily("shipway_operator_leading", "1 while this replica holds the Lease and reconciles",
                              value=int(op.leading.is_set() and not op.stop.is_set())),
        ]
        calls = CounterMetricFamily("shipway_operator_kube_requests", "Kubernetes API requests made by the "
                                    "operator's own client, by verb and kind", labels=["verb", "kind"])
        requests = dict(op.client.requests)
        for (verb, kind), count in sorted(requests.items()):
            calls.add_metric([verb, kind], count)
        out.append(calls)
        creates, patches = requests.get(("create", "Secret"), 0), requests.get(("patch", "Secret"), 0)
        out += [
            CounterMetricFamily("shipway_operator_deliveries", "Pull and push Secrets written (created, or "
                                "patched because what they should hold changed)", value=creates + patches),
            CounterMetricFamily("shipway_operator_rotations", "Pull and push Secrets patched in place: their "
                                "credentials (or where they come from) changed", value=patches),
            CounterMetricFamily("shipway_operator_reconciles", "Reconciles run", value=op.queue.processed),
            CounterMetricFamily("shipway_operator_reconcile_errors", "Reconciles that failed and were retried",
                                value=op.queue.failures_total),
            CounterMetricFamily("shipway_operator_writes", "Writes the reconciles made", value=op.reconciler.writes),
        ]
        queue = op.queue
        out += [
            GaugeMetricFamily("shipway_operator_queue_depth", "Keys waiting for a worker",
                              value=queue.depth),
            GaugeMetricFamily("shipway_operator_queue_active", "Keys being reconciled", value=queue.active),
            GaugeMetricFamily("shipway_operator_queue_delayed", "Keys waiting out a backoff or a requeue delay",
                              value=queue.delayed),
        ]
        cache = GaugeMetricFamily("shipway_operator_cache_objects", "Objects in the local cache, by kind",
                                  labels=["kind"])
        for kind, count in sorted(op.store.sizes().items()):
            cache.add_metric([kind], count)
        out.append(cache)
        ready, refused = _pipelines(op)
        pipelines = GaugeMetricFamily("shipway_operator_pipelines", "Pipelines by their Ready condition",
                                      labels=["ready"])
        for value in ("true", "false", "unknown"):
            pipelines.add_metric([value], ready[value])
        refusals = GaugeMetricFamily("shipway_operator_pipeline_refusals", "Pipelines the operator refuses "
                                     "something (a credential, a namespace, a registry), by reason",
                                     labels=["reason"])
        for reason in REFUSALS:
            refusals.add_metric([reason], refused[reason])
        out += [pipelines, refusals, *self._verification()]
        return out

    def _verification(self) -> list[Metric]:
        verifier = self.operator.reconciler.verifier
        records = list(verifier.records.values()) if verifier is not None else []
        outcomes: Counter[str] = Counter(
            str(Outcome.VERIFIED) if r.ok else NOT_CHECKABLE if r.ok is None else str(r.reason) for r in records)
        results = GaugeMetricFamily("shipway_operator_credentials", "Credentials in use by the outcome of "
                                    "their last registry check", labels=["outcome"])
        for outcome in (*(str(o) for o in Outcome), NOT_CHECKABLE):
            results.add_metric([outcome], outcomes.pop(outcome, 0))
        for outcome, count in sorted(outcomes.items()):
            results.add_metric([outcome], count)
        checks = CounterMetricFamily("shipway_operator_registry_checks", "Credential checks against registries",
                                     value=verifier.checks if verifier is not None else 0)
        return [results, checks]


def serve_metrics(operator: Operator, *, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (call it on the operator's loop)."""
    loop = asyncio.get_running_loop()
    registry = CollectorRegistry()
    registry.register(OperatorCollector(operator, loop))
    loop_thread = threading.get_ident()

    def alive() -> bool:
        return on_loop(loop, threading.get_ident, timeout=ALIVE_TIMEOUT) == loop_thread

    return health.serve(health.Endpoints(alive=alive, ready=operator.ready.is_set,
                                         metrics=lambda: generate_latest(registry)),
                        host=host, port=port)
