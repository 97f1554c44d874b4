"""Fixtures: the emulator and the real operator, each in its own process, talking over real HTTPS.

Before the operator starts, the cluster gets what an installation has: the CRDs, the system namespace and
Shipway's RBAC (installed by the harness: the operator runs as its ServiceAccount, under the shipped roles),
the platform's labelled credential Secret (the example's keys and usernames, canary passwords) and the
Platform ``default`` of examples/platform.yaml. ``cluster`` is fresh for each test (tests that count writes
caused by the shared Platform need the whole cluster to themselves); ``shared_cluster`` is one per module,
for tests that only touch pipelines of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, start_cluster

from .helpers import PLATFORM, SYSTEM_NAMESPACE, Shipway, assert_no_canary, example_platform


def _booted(workdir: Path, *, emulator_args: tuple[str, ...] = ()) -> Iterator[Cluster]:
    clusters = start_cluster(workdir, emulator_args=emulator_args)
    cluster = next(clusters)
    try:
        api = cluster.api
        assert api.get("v1", "namespaces", SYSTEM_NAMESPACE) is not None  # made by the harness, with the RBAC
        api.create(PLATFORM.manifest(), "secrets")
        api.create(example_platform(), "platforms")
        cluster.start_operator()
        yield cluster
        assert_no_canary(cluster)
    finally:
        if cluster.operator is not None and cluster.operator.process.poll() is None:
            cluster.operator.kill()
        clusters.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from _booted(tmp_path)


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _booted(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def slow_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose ServiceAccount controller makes a namespace's ``default`` seconds late, as a loaded
    control plane does."""
    yield from _booted(tmp_path, emulator_args=("--service-account-delay", "2.0"))


@pytest.fixture
def shipway(cluster: Cluster) -> Shipway:
    return Shipway(cluster)


@pytest.fixture
def shared(shared_cluster: Cluster) -> Shipway:
    return Shipway(shared_cluster)
