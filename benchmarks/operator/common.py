"""What every part of the benchmark shares: names, constants, progress output, errors and the deadline."""

from __future__ import annotations

import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent.parent
RESULTS = PACKAGE.parent / "results" / "latest.json"
PLOT = PACKAGE.parent / "results" / "scaling.png"

BENCH_AGENT = "shipway-bench/1"  # the benchmark's own requests (setup, watches, checks)
FLOOR_AGENT = "shipway-floor/1"  # the floor client's requests
OPERATOR_AGENT = "shipway-operator/"  # the operator: ``shipway-operator/VERSION (IDENTITY)``
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

SYSTEM_NAMESPACE = "shipway-system"  # the Platform's system namespace; the Lease lives there too
SOURCES_NAMESPACE = "bench-sources"
UNRELATED_SECRET_NAMESPACES = 5
SERVICE_ACCOUNTS_PER_NAMESPACE = 100  # unrelated ServiceAccounts are spread over namespaces of this many
PHASES = ("stage", "production")
PULL_SECRET = "default-registry"  # the platform default pull credential (the one rotated)
PUSH_SECRET = "push-registry"  # the platform push credential
PULL_USER = "platform-pull"
PUSH_USER = "platform-push"
CREDENTIAL_LABEL = "shipway.dev/credential"
PIPELINE_LABEL = "shipway.dev/pipeline"
MANAGED_SELECTOR = "app.kubernetes.io/managed-by=shipway"
CONSENT_ANNOTATION = "shipway.dev/allowed-pipelines"
USAGE_ANNOTATION = "shipway.dev/allowed-usage"
CONCURRENCY = 64  # requests in flight for the benchmark's bulk creation
FLOOR_CONCURRENCY = 4  # the floor's requests in flight: enough to keep the emulator's one event loop busy
PIPELINE_CONCURRENCY = 16  # the benchmark's Pipeline creates in flight
SETTLE_SECONDS = 3.0  # the ledger must stay unchanged this long before a phase's requests are counted
GOAL_RSS_PERCENT = 5.0  # rss_mb_with_unrelated (Secrets) against rss_mb
GOAL_RSS_SA_PERCENT = 10.0  # rss_mb_with_unrelated_service_accounts against rss_mb
GOAL_FLOOR_RATIO = 1.5
GOAL_SCALING_RATIO = 1.2
GOAL_STARTUP_RATIO = 1.2
GOAL_STARTUP_SECONDS_APART = 1.0
GOAL_KB_PER_NAMESPACE = 20.0

_T0 = time.monotonic()


def say(message: str) -> None:
    """Progress, on stderr, with the seconds since the benchmark started."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


class BenchmarkError(RuntimeError):
    pass


class Deadline:
    """The hard overall time limit: every wait checks it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str) -> None:
        if self.remaining() <= 0:
            raise BenchmarkError(f"overall timeout reached while {what}")


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def percent_apart(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(abs(a - b) / min(a, b) * 100, 2)
