"""``shipway sandbox up``: the emulator, the bootstrap objects and the operator, in the foreground.

Ctrl-C or SIGTERM stops everything within a few seconds: the operator first, then the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipway.adapters.kube.client import KubeClient
from shipway.operator.runner import Operator
from shipway.sandbox.bootstrap import bootstrap
from shipway.sandbox.emulator import ClusterEmulator, EmulatorServer, write_kubeconfig

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    url: str
    kubeconfig: Path
    state_dir: Path


async def run_sandbox(*, state_dir: Path, port: int, on_ready: Callable[[SandboxInfo], None],
                      stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    state_dir.mkdir(parents=True, exist_ok=True)
    async with EmulatorServer(ClusterEmulator(), port=port) as server:
        kubeconfig = write_kubeconfig(state_dir / "kubeconfig", server.url)
        client = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-sandbox", field_manager="shipway-sandbox")
        try:
            await bootstrap(client)
        finally:
            await client.close()
        operator = Operator(kubeconfig=kubeconfig, standalone=True)
        operator_task = asyncio.create_task(operator.run(), name="shipway-operator")
        ready = asyncio.create_task(operator.ready.wait())
        await asyncio.wait({ready, operator_task}, return_when=asyncio.FIRST_COMPLETED)
        if not operator_task.done():
            on_ready(SandboxInfo(url=server.url, kubeconfig=kubeconfig, state_dir=state_dir))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({stopped, operator_task}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        log.info("stopping the sandbox")
        operator.stop.set()
        try:
            await asyncio.wait_for(operator_task, STOP_TIMEOUT)
        except TimeoutError:
            operator_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await operator_task
        ready.cancel()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
