"""Fixtures: an emulator served over real HTTP on 127.0.0.1, and clients of it."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, write_kubeconfig

from .helpers import WIDGETS, WIDGETS_CRD, Completed
from .webhook_server import WebhookServer


@pytest.fixture
async def server() -> AsyncIterator[EmulatorServer]:
    # the controllers' lags made short (each has its own test with the defaults: test_controllers.py)
    async with EmulatorServer(ClusterEmulator(service_account_delay=0.05, bookmark_interval=0.2, gc_delay=0.02,
                                              namespace_deletion_delay=0.05)) as srv:
        yield srv


@pytest.fixture
def emulator(server: EmulatorServer) -> ClusterEmulator:
    return server.emulator


@pytest.fixture
async def http(server: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        yield client


@pytest.fixture
def kubeconfig(server: EmulatorServer, tmp_path: pathlib.Path) -> pathlib.Path:
    return write_kubeconfig(tmp_path / "kubeconfig", server.url)


@pytest.fixture
async def widgets(http: httpx.AsyncClient) -> str:
    """The Widget CRD registered; returns the collection path template (``{ns}``)."""
    response = await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    assert response.status_code == 201, response.text
    return WIDGETS


@pytest.fixture
def kubectl(kubeconfig: pathlib.Path, tmp_path: pathlib.Path) -> Any:
    """Run kubectl against the emulator without blocking the event loop the emulator runs on."""

    async def run(*args: str, stdin: str | None = None) -> Completed:
        process = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kubecache"),
            "--request-timeout", "10s", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=30)
        assert process.returncode is not None
        return Completed(process.returncode, out.decode(), err.decode())

    return run


@pytest.fixture
async def webhook(tmp_path: pathlib.Path) -> AsyncIterator[WebhookServer]:
    """A real HTTPS admission webhook on 127.0.0.1 (see :mod:`webhook_server`)."""
    server = WebhookServer(tmp_path / "webhook-tls")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
