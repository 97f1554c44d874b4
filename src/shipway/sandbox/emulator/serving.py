"""Running the emulator on 127.0.0.1 over plain HTTP.

The aiohttp low-level server is run directly (``web.Server`` + ``ServerRunner`` + ``TCPSite``)
rather than through ``kmock.Server``: kmock's Server patches aiohttp's host resolution for the
whole process while it runs, which would reroute every other aiohttp client of the process
(kopf's included) to the emulator. Here, clients reach it only at its real URL.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Self

import aiohttp.web

from shipway.sandbox.emulator.emulator import ClusterEmulator

SHUTDOWN_GRACE = 0.5  # seconds for in-flight requests once watches are ended


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmulatorServer:
    """An async context manager that serves an emulator (a new one by default) on a TCP port.

    ``port=0`` (the default) picks a free port; read it from :attr:`port` or :attr:`url` once entered.
    """

    def __init__(self, emulator: ClusterEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator if emulator is not None else ClusterEmulator()
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: aiohttp.web.ServerRunner | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator server is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the emulator server is already running")
        await self.emulator.__aenter__()
        server = aiohttp.web.Server(self.emulator, handler_cancellation=True)
        runner = aiohttp.web.ServerRunner(server)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.emulator.close_watches()
        await asyncio.sleep(0)  # let the watch handlers see the end of their streams
        await self._runner.cleanup()
        self._runner = None
        self._port = None
        await self.emulator.__aexit__(None, None, None)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

