"""The operator's probe and metrics endpoint: /healthz (its event loop answers), /readyz (its cache is
synced), /metrics; served by a thread that reads the operator's state on the operator's own loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipway.operator import health
from shipway.operator.metrics import on_loop
from tests.support.cluster import OutputReader, _free_port

from .conftest import Installed


def test_a_synced_leader_is_alive_and_ready_and_serves_its_metrics(installed: Installed) -> None:
    base = installed.metrics_url
    assert (httpx.get(f"{base}/healthz").status_code, httpx.get(f"{base}/readyz").text) == (200, "ok\n")
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "shipway_operator_ready 1.0" in metrics.text
    assert httpx.head(f"{base}/readyz").status_code == 200
    assert httpx.get(f"{base}/nothing-here").status_code == 404


@pytest.fixture
def unsynced(tmp_path: Path) -> Iterator[str]:
    """An operator whose API server does not answer (nothing listens on its port): it never syncs."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{_free_port()}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway", "operator", "run", "--standalone", "--kubeconfig", str(kubeconfig),
         "--metrics-port", str(port), "--metrics-host", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = OutputReader(process.stdout)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        output.join(2)


def test_an_operator_that_cannot_list_is_alive_but_not_ready(unsynced: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            alive = httpx.get(f"{unsynced}/healthz")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert alive.status_code == 200
    ready = httpx.get(f"{unsynced}/readyz")
    assert (ready.status_code, ready.text) == (503, "not ready\n")
    assert "shipway_operator_ready 0.0" in httpx.get(f"{unsynced}/metrics").text


def _serve(endpoints: health.Endpoints) -> Iterator[str]:
    port = _free_port()
    server = health.serve(endpoints, host="127.0.0.1", port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_check_that_fails_or_raises_answers_503_never_a_traceback() -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    for url in _serve(health.Endpoints(alive=lambda: True, ready=lambda: False, metrics=broken)):
        assert httpx.get(f"{url}/readyz").status_code == 503
        assert httpx.get(f"{url}/healthz").status_code == 200
        answer = httpx.get(f"{url}/metrics")
        assert answer.status_code == 503 and "boom" not in answer.text


async def test_state_is_read_on_the_loop_and_a_stuck_loop_is_not_alive() -> None:
    loop = asyncio.get_running_loop()
    here = threading.get_ident()
    assert on_loop(loop, threading.get_ident, timeout=1) == here  # on the loop already: read directly
    assert await asyncio.to_thread(on_loop, loop, threading.get_ident, timeout=5) == here  # from a thread
    answered: list[BaseException] = []

    def probe() -> None:
        try:
            on_loop(loop, lambda: True, timeout=0.3)
        except BaseException as error:
            answered.append(error)

    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(0.6)  # the loop is blocked: the probe gives up
    thread.join(2)
    assert [type(e) for e in answered] == [TimeoutError]
