"""Several replicas elect one leader on a coordination.k8s.io Lease (nothing to create by hand first): the
leader reconciles, the follower keeps its cache warm and writes nothing; when the leader stops (cleanly, or
killed), the follower takes over. (The sandbox and the other tests run one replica with ``--standalone``.)"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import OPERATOR_AGENTS, WRITE_VERBS, Cluster, OutputReader, start_cluster

API = "shipway.dev/v1alpha1"
LEASE = ("coordination.k8s.io/v1", "leases", "shipway-operator")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    clusters = start_cluster(tmp_path)
    running = next(clusters)
    api = running.api
    assert api.get("v1", "namespaces", "shipway-system") is not None  # made by the harness, with the RBAC
    api.create({"apiVersion": API, "kind": "Platform", "metadata": {"name": "default"}, "spec": {}}, "platforms")
    yield running
    clusters.close()


def _replica(cluster: Cluster, identity: str) -> tuple[subprocess.Popen[bytes], OutputReader]:
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway", "operator", "run", "--kubeconfig", str(cluster.kubeconfig),
         "--verify-interval", "0", "--lease-duration", "3", "--identity", identity],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, OutputReader(process.stdout)


def _pipeline(cluster: Cluster, name: str) -> None:
    cluster.api.create({"apiVersion": API, "kind": "Pipeline", "metadata": {"name": name},
                        "spec": {"phases": [{"name": "stage"}]}}, "pipelines")
    cluster.api.eventually(lambda: (cluster.api.get(API, "pipelines", name) or {}).get("status"), timeout=30)


def _holder(cluster: Cluster) -> str:
    lease = cluster.api.get(LEASE[0], LEASE[1], LEASE[2], namespace="shipway-system")
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


def _writes_by(cluster: Cluster, identity: str) -> list[str]:
    """Write requests of one replica (its User-Agent names it), its Lease apart."""
    return [f"{r['verb']} {r['plural']}" for r in cluster.api.ledger()
            if r["user_agent"].startswith(OPERATOR_AGENTS) and f"({identity})" in r["user_agent"]
            and r["verb"] in WRITE_VERBS and r["plural"] != "leases"]


def test_one_replica_leads_the_other_writes_nothing_and_takes_over_when_the_leader_stops(cluster: Cluster) -> None:
    replicas = {name: _replica(cluster, name) for name in ("replica-a", "replica-b")}
    try:
        cluster.api.eventually(lambda: _holder(cluster) in replicas, timeout=20)
        leader = _holder(cluster)
        follower = next(name for name in replicas if name != leader)
        replicas[follower][1].wait_for("cache synced", timeout=20)
        cluster.api.reset_ledger()
        _pipeline(cluster, "first")
        replicas[leader][1].wait_for("pipeline first reconciled", timeout=20)
        assert "reconciled" not in replicas[follower][1].text
        assert "leading" not in replicas[follower][1].text
        # The follower wrote nothing at all (not even an Event); the leader did the work.
        assert _writes_by(cluster, follower) == []
        assert "create namespaces" in _writes_by(cluster, leader)
        assert _holder(cluster) == leader

        process = replicas[leader][0]
        process.terminate()  # a clean stop releases the Lease: the follower takes over at once
        assert process.wait(timeout=15) == 0
        cluster.api.eventually(lambda: _holder(cluster) == follower, timeout=15)
        _pipeline(cluster, "second")
        replicas[follower][1].wait_for("pipeline second reconciled", timeout=30)
    finally:
        for process, _ in replicas.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


def test_a_killed_leader_is_replaced_once_its_lease_expires(cluster: Cluster) -> None:
    replicas = {name: _replica(cluster, name) for name in ("replica-c", "replica-d")}
    try:
        cluster.api.eventually(lambda: _holder(cluster) in replicas, timeout=20)
        leader = _holder(cluster)
        follower = next(name for name in replicas if name != leader)
        replicas[leader][0].kill()  # no release: the follower waits out the lease duration
        replicas[leader][0].wait(timeout=10)
        cluster.api.eventually(lambda: _holder(cluster) == follower, timeout=20)
        _pipeline(cluster, "after-kill")
        replicas[follower][1].wait_for("pipeline after-kill reconciled", timeout=30)
    finally:
        for process, _ in replicas.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
