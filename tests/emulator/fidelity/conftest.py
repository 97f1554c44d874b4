"""Fixtures of the fidelity tests that use the real kubectl: the sandbox's setup, in process.

The emulator has users (an admin in ``system:masters``, the sandbox's teams) and so serves HTTPS with a CA of
its own, as ``shipway sandbox`` and ``tests/support/cluster.py`` run it: kubectl sends its bearer token only
over TLS. kubectl runs as a subprocess without blocking the event loop the emulator serves on; so does the
official Python client (in a thread).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
from collections.abc import AsyncIterator

import httpx
import pytest

from shipway.core.crds import custom_resource_definitions
from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer
from shipway_sandbox.emulator import users as emulator_users

from ..helpers import Completed
from .support import CRDS, Kubectl


@pytest.fixture
async def secure() -> AsyncIterator[EmulatorServer]:
    """The emulator with users, over HTTPS (RBAC enforced: the admin may do anything)."""
    emulator = ClusterEmulator(users=emulator_users.generate(), service_account_delay=0.05, bookmark_interval=0.2)
    async with EmulatorServer(emulator) as server:
        yield server


@pytest.fixture
def admin_kubeconfig(secure: EmulatorServer, tmp_path: pathlib.Path) -> pathlib.Path:
    return secure.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
async def admin(secure: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the admin (its token, the run's CA)."""
    headers = {"Authorization": f"Bearer {secure.emulator.kubeconfig_token}", "User-Agent": "fidelity-tests"}
    async with httpx.AsyncClient(base_url=secure.url, headers=headers, verify=secure.client_ssl_context(),
                                 timeout=10) as client:
        yield client


@pytest.fixture
async def shipway_crds(admin: httpx.AsyncClient) -> None:
    for crd in custom_resource_definitions():
        response = await admin.post(CRDS, json=crd)
        assert response.status_code == 201, response.text
    for name in ("team-a", "shipway-system", "shop-stage", "shop-production"):
        response = await admin.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert response.status_code == 201, response.text


@pytest.fixture
def kube(admin_kubeconfig: pathlib.Path, tmp_path: pathlib.Path) -> Kubectl:
    """The real kubectl as the admin; ``env`` adds variables (``KUBE_EDITOR``), ``timeout`` bounds the run."""

    async def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                  timeout: float = 30) -> Completed:
        process = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(admin_kubeconfig), "--cache-dir", str(tmp_path / "kubecache"), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=timeout)
        assert process.returncode is not None
        return Completed(process.returncode, out.decode(), err.decode())

    return run
