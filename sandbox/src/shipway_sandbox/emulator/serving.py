"""Running the emulator on 127.0.0.1 over plain HTTP.

The aiohttp low-level server is run directly (``web.Server`` + ``ServerRunner`` + ``TCPSite``)
rather than through ``kmock.Server``: kmock's Server patches aiohttp's host resolution for the
whole process while it runs, which would reroute every other aiohttp client of the process
(kopf's included) to the emulator. Here, clients reach it only at its real URL.

With ``tls=True`` (the default when the emulator has users: kubectl sends tokens only over TLS) it serves
HTTPS with a certificate of a CA made for this run; :meth:`EmulatorServer.write_kubeconfig` writes a
kubeconfig with that CA and the right token, :attr:`EmulatorServer.ca_pem` gives the CA to other clients.
"""

from __future__ import annotations

import asyncio
import pathlib
import socket
import ssl
from types import TracebackType
from typing import Self

import aiohttp.web

from shipway_sandbox.emulator import kubeconfig, limits
from shipway_sandbox.emulator import tls as certificates
from shipway_sandbox.emulator.emulator import ClusterEmulator

SHUTDOWN_GRACE = 0.5  # seconds for in-flight requests once watches are ended


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmulatorServer:
    """An async context manager that serves an emulator (a new one by default) on a TCP port.

    ``port=0`` (the default) picks a free port; read it from :attr:`port` or :attr:`url` once entered.
    ``tls=None`` (the default) serves HTTPS exactly when the emulator has users.
    """

    def __init__(self, emulator: ClusterEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 tls: bool | None = None) -> None:
        self.emulator = emulator if emulator is not None else ClusterEmulator()
        self.host = host
        self.tls = tls if tls is not None else self.emulator.users is not None
        self._requested_port = port
        self._port: int | None = None
        self._runner: aiohttp.web.ServerRunner | None = None
        self._certificate: certificates.ServerCertificate | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator server is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        """The PEM of the CA that signed the server's certificate (None over plain HTTP)."""
        return self._certificate.ca_pem if self._certificate is not None else None

    def client_ssl_context(self) -> ssl.SSLContext | bool:
        """What to pass as httpx's ``verify=``: a context trusting the CA of this run, or True over HTTP."""
        return self._certificate.client_context() if self._certificate is not None else True

    def write_kubeconfig(self, path: pathlib.Path) -> pathlib.Path:
        """A kubeconfig for this server: its URL, CA, and the token its emulator admits (the admin's)."""
        return kubeconfig.write(path, self.url, token=self.emulator.kubeconfig_token, ca_pem=self.ca_pem)

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the emulator server is already running")
        await self.emulator.__aenter__()
        server = aiohttp.web.Server(self.emulator, handler_cancellation=True, request_factory=limits.make_request)
        runner = aiohttp.web.ServerRunner(server)
        await runner.setup()
        context = None
        if self.tls:
            self._certificate = self._certificate or certificates.make_server_certificate(self.host)
            context = self._certificate.server_context()
        site = aiohttp.web.TCPSite(runner, self.host, self._requested_port, ssl_context=context)
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

