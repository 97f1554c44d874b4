"""Prometheus metrics of the operator, collected on scrape from its live state (no global registry)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from shipway.operator.runner import Operator


class OperatorCollector(Collector):
    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        op = self.operator
        calls = CounterMetricFamily("shipway_operator_kube_requests", "Kubernetes API requests made by the "
                                    "operator's own client, by verb and kind", labels=["verb", "kind"])
        for (verb, kind), count in sorted(op.client.requests.items()):
            calls.add_metric([verb, kind], count)
        yield calls
        yield CounterMetricFamily("shipway_operator_reconciles", "Reconciles run", value=op.queue.processed)
        yield CounterMetricFamily("shipway_operator_reconcile_errors", "Reconciles that failed and were retried",
                                  value=op.queue.failures_total)
        yield CounterMetricFamily("shipway_operator_writes", "Writes the reconciles made", value=op.reconciler.writes)
        cache = GaugeMetricFamily("shipway_operator_cache_objects", "Objects in the local cache, by kind",
                                  labels=["kind"])
        for kind, count in sorted(op.store.sizes().items()):
            cache.add_metric([kind], count)
        yield cache
        verifier = op.reconciler.verifier
        yield CounterMetricFamily("shipway_operator_registry_checks", "Credential checks against registries",
                                  value=verifier.checks if verifier else 0)


def serve_metrics(operator: Operator, *, host: str, port: int) -> None:
    registry = CollectorRegistry()
    registry.register(OperatorCollector(operator))
    start_http_server(port, addr=host, registry=registry)
