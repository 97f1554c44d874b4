"""Fixtures for the end-to-end tests: real registries, and the emulator with the operator running.

Everything is started once per module: two registries (``docker-registry``: htpasswd over HTTP, and
token auth with per-user repository scopes), the emulator with the CRDs, the operator in its own process,
the Platform ``default`` and the namespaces the source Secrets live in. The operator runs as its
ServiceAccount under the shipped RBAC (see tests/support/cluster.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.core import names
from tests.support import registries
from tests.support.cluster import Cluster, namespace, start_cluster

from .helpers import CREDENTIALS_NAMESPACE, SYSTEM_NAMESPACE, Tools


@pytest.fixture(scope="module")
def htpasswd_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    directory = tmp_path_factory.mktemp("e2e-registry-htpasswd")
    yield from registries.running(lambda: registries.start_htpasswd_registry(directory))


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    directory = tmp_path_factory.mktemp("e2e-registry-token")
    yield from registries.running(lambda: registries.start_token_registry(directory))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The emulator with the CRDs, the Platform ``default`` and the source namespaces; the operator running."""
    for running in start_cluster(tmp_path_factory.mktemp("e2e-cluster")):
        api = running.api
        assert api.get("v1", "namespaces", SYSTEM_NAMESPACE) is not None  # made by the harness, with the RBAC
        api.create(namespace(CREDENTIALS_NAMESPACE), "namespaces")
        api.create({"apiVersion": names.API_VERSION, "kind": "Platform", "metadata": {"name": names.PLATFORM_NAME},
                    "spec": {"systemNamespace": SYSTEM_NAMESPACE}}, "platforms")
        running.start_operator()
        try:
            yield running
        finally:
            assert running.operator is not None
            running.operator.stop()


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return Tools(tmp_path / "home")

