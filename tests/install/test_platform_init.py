"""`shipway platform init`: the step after the first apply (the Platform cannot be in the same apply as its
CRD). It creates the Platform `default` once, says what it did, and leaves an existing one alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import API_USER, Cluster, start_cluster


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The CRDs and the shipped RBAC, no Platform yet (what the manifests leave)."""
    clusters = start_cluster(tmp_path_factory.mktemp("platform-init"))
    cluster = next(clusters)
    try:
        yield cluster
    finally:
        clusters.close()


def init(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipway", "platform", "init", "--kubeconfig", str(kubeconfig),
                           *args], capture_output=True, text=True, timeout=60, check=False)


def test_init_creates_the_platform_once_and_then_leaves_it_alone(empty: Cluster) -> None:
    assert empty.api.get("shipway.dev/v1alpha1", "platforms", "default") is None
    first = init(empty.admin_kubeconfig)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.startswith("created Platform default (systemNamespace: shipway-system);")
    platform = empty.api.get("shipway.dev/v1alpha1", "platforms", "default")
    assert platform is not None and platform["spec"]["systemNamespace"] == "shipway-system"
    assert platform["spec"]["registry"]["credentials"] == []  # defaulted by the CRD's schema: no credential yet
    again = init(empty.admin_kubeconfig)
    assert (again.returncode, again.stdout) == (
        0, "Platform default exists (systemNamespace: shipway-system): left as it is\n")
    other = init(empty.admin_kubeconfig, "--system-namespace", "elsewhere")
    assert other.returncode == 0 and other.stdout.endswith(
        "left as it is; NOT elsewhere: change it with kubectl if meant\n")
    after = empty.api.get("shipway.dev/v1alpha1", "platforms", "default")
    assert after is not None and after["metadata"]["resourceVersion"] == platform["metadata"]["resourceVersion"]


def test_init_without_the_right_to_create_platforms_fails_in_one_line(empty: Cluster, tmp_path: Path) -> None:
    if empty.api.get("shipway.dev/v1alpha1", "platforms", "default") is not None:
        empty.api.delete("shipway.dev/v1alpha1", "platforms", "default")
    # The API's ServiceAccount may read and update the Platform, not create it.
    kubeconfig = empty.emulator.write_kubeconfig(tmp_path / "api.kubeconfig", API_USER)
    refused = init(kubeconfig)
    assert refused.returncode == 5 and refused.stdout == ""
    assert refused.stderr.startswith("error: Platform default: ") and len(refused.stderr.splitlines()) == 1
