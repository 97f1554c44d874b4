"""The installed processes as a cluster runs them: the emulator (the CRDs and the shipped RBAC installed), the
operator with its metrics port (``--metrics-port``, as the Deployment runs it) and the API over HTTPS with
the admission webhook (``--serve-tls``, as the Deployment runs it), each as its ServiceAccount."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.operator.helpers import PLATFORM, example_platform
from tests.support.cluster import API_USER, Cluster, OutputReader, _free_port, start_cluster
from tests.support.tls import TlsFiles, make_server_tls


@dataclass
class ApiProcess:
    process: subprocess.Popen[bytes]
    output: OutputReader
    url: str
    tls: TlsFiles

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=self.tls.ca_file), timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_api(cluster: Cluster, workdir: Path) -> ApiProcess:
    """``shipway api run --serve-tls`` with the webhook, as the API's ServiceAccount; once /healthz answers."""
    tls = make_server_tls(workdir / "api-tls")
    kubeconfig = cluster.emulator.write_kubeconfig(workdir / "api.kubeconfig", API_USER)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway", "api", "run", "--kubeconfig", str(kubeconfig), "--host", "127.0.0.1",
         "--port", str(port), "--serve-tls", "--webhook-port", str(_free_port()), "--webhook-host", "127.0.0.1",
         "--tls-cert-file", str(tls.cert_file), "--tls-key-file", str(tls.key_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    api = ApiProcess(process, OutputReader(process.stdout), f"https://127.0.0.1:{port}", tls)
    deadline = time.monotonic() + 30
    with api.client() as client:
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    return api
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                api.stop()
                raise AssertionError(f"the API did not start:\n{api.output.text[-3000:]}")
            time.sleep(0.1)


@dataclass
class Installed:
    cluster: Cluster
    api: ApiProcess
    metrics_url: str


@pytest.fixture(scope="package")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    workdir = tmp_path_factory.mktemp("installed")
    clusters = start_cluster(workdir)
    cluster = next(clusters)
    api: ApiProcess | None = None
    try:
        cluster.api.create(PLATFORM.manifest(), "secrets")
        cluster.api.create(example_platform(), "platforms")
        metrics_port = _free_port()
        cluster.start_operator(extra_args=("--metrics-port", str(metrics_port), "--metrics-host", "127.0.0.1"))
        api = start_api(cluster, workdir)
        yield Installed(cluster=cluster, api=api, metrics_url=f"http://127.0.0.1:{metrics_port}")
    finally:
        if api is not None:
            api.stop()
        clusters.close()
