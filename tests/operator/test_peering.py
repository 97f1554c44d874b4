"""Several replicas: kopf peering elects one active operator; the others pause. When the active one stops,
another takes over. (The sandbox and the other tests run one replica with ``--standalone``.)"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.core.install import peering_crd
from tests.support.cluster import Cluster, OutputReader, namespace, start_cluster

API = "shipway.dev/v1alpha1"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    clusters = start_cluster(tmp_path)
    running = next(clusters)
    api = running.api
    api.create(peering_crd(), "customresourcedefinitions")
    api.eventually(lambda: api.client.get("/apis/kopf.dev/v1/clusterkopfpeerings").status_code == 200)
    api.create({"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "shipway"}},
               "clusterkopfpeerings")
    api.create(namespace("shipway-system"), "namespaces")
    api.create({"apiVersion": API, "kind": "Platform", "metadata": {"name": "default"}, "spec": {}}, "platforms")
    yield running
    clusters.close()


def _replica(cluster: Cluster) -> tuple[subprocess.Popen[bytes], OutputReader]:
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway", "operator", "run", "--kubeconfig", str(cluster.kubeconfig),
         "--verify-interval", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, OutputReader(process.stdout)


def _pipeline(cluster: Cluster, name: str) -> None:
    cluster.api.create({"apiVersion": API, "kind": "Pipeline", "metadata": {"name": name},
                        "spec": {"phases": [{"name": "stage"}]}}, "pipelines")
    cluster.api.eventually(lambda: (cluster.api.get(API, "pipelines", name) or {}).get("status"), timeout=30)


def test_one_of_two_replicas_reconciles_and_the_other_takes_over_when_it_stops(cluster: Cluster) -> None:
    replicas = [_replica(cluster), _replica(cluster)]
    try:
        time.sleep(3)  # both register as peers; the one with the higher priority leads
        _pipeline(cluster, "first")
        time.sleep(1)
        leaders = [i for i, (_, out) in enumerate(replicas) if "pipeline first reconciled" in out.text]
        assert len(leaders) == 1, [out.text[-2000:] for _, out in replicas]
        leader, (process, _) = leaders[0], replicas[leaders[0]]
        process.terminate()
        assert process.wait(timeout=10) == 0
        _pipeline(cluster, "second")
        survivor = replicas[1 - leader][1]
        survivor.wait_for("pipeline second reconciled", timeout=30)
    finally:
        for process, _ in replicas:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
