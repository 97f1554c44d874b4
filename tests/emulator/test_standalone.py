"""``python -m shipway_sandbox.emulator`` in its own process, as a benchmark runs it."""

from __future__ import annotations

import asyncio
import pathlib
import signal
import sys
import time

import httpx
import pytest
import yaml

from shipway_sandbox.emulator import free_port


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_standalone_process_serves_writes_kubeconfig_and_stops_fast(
    tmp_path: pathlib.Path, signum: signal.Signals,
) -> None:
    port = free_port()
    config_path = tmp_path / "kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipway_sandbox.emulator", "--port", str(port), "--kubeconfig", str(config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        assert line.decode().strip() == f"emulator listening on http://127.0.0.1:{port}"
        config = yaml.safe_load(config_path.read_text())
        assert config["clusters"][0]["cluster"]["server"] == f"http://127.0.0.1:{port}"
        assert config["users"][0]["user"]["token"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await http.post("/api/v1/namespaces", json={"metadata": {"name": "from-outside"}})
            ledger = (await http.get("/_emulator/requests")).json()
            assert ledger["counts"] == {"create namespaces": 1}
            async with http.stream("GET", "/api/v1/namespaces", params={"watch": "1"}) as watch:
                assert watch.status_code == 200
                started = time.monotonic()
                process.send_signal(signum)
                code = await asyncio.wait_for(process.wait(), timeout=5)
        assert time.monotonic() - started < 1.0
        assert code == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
