"""Fixtures: the emulator over real HTTP, in this process (for options its command line lacks) or in its own
process (HTTPS, users and tokens, as tests/support/cluster.py runs it), and httpx clients of the adapters."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shipway.adapters.kube.connecting import connect
from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, write_kubeconfig
from tests.support.cluster import Api, EmulatorProcess, namespace

NAMESPACE = "adapters"


@contextlib.asynccontextmanager
async def serving(tmp_path: pathlib.Path, **options: object) -> AsyncIterator[tuple[EmulatorServer, pathlib.Path]]:
    """An in-process emulator (``ClusterEmulator(**options)``) on a free port, with the namespace
    ``adapters``, and a kubeconfig for it."""
    emulator = ClusterEmulator(service_account_delay=0.05, **options)  # type: ignore[arg-type]
    async with EmulatorServer(emulator) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
            assert response.status_code == 201, response.text
        yield server, write_kubeconfig(tmp_path / "kubeconfig", server.url)


@pytest.fixture
async def server(tmp_path: pathlib.Path) -> AsyncIterator[EmulatorServer]:
    async with serving(tmp_path, bookmark_interval=0.2) as (srv, _kubeconfig):
        yield srv


@pytest.fixture
async def kube(server: EmulatorServer, tmp_path: pathlib.Path) -> AsyncIterator[httpx.AsyncClient]:
    """The adapters' client (made by ``connect`` from a kubeconfig) of the in-process emulator."""
    client = connect(kubeconfig=tmp_path / "kubeconfig", user_agent="shipway-informer")
    async with client:
        yield client


@pytest.fixture
async def http(server: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """The tests' own client of the in-process emulator (changes the cluster under the informer)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        yield client


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """``python -m shipway_sandbox.emulator`` in its own process, over HTTPS with users (the admin's kubeconfig
    at ``.kubeconfig``), with the namespace ``adapters``."""
    process = EmulatorProcess(tmp_path_factory.mktemp("adapters-emulator"))
    api = Api.connect(process.admin)
    try:
        api.create(namespace(NAMESPACE), "namespaces")
        yield process
    finally:
        api.client.close()
        process.stop()


@pytest.fixture
def admin(emulator_process: EmulatorProcess) -> Iterator[Api]:
    api = Api.connect(emulator_process.admin)
    try:
        yield api
    finally:
        api.client.close()
