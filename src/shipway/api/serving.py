"""Serving the API with uvicorn, in the foreground or inside another event loop (the sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from shipway.adapters.kube.client import KubeClient
from shipway.api import managed
from shipway.api.admission import create_webhook_app
from shipway.api.app import create_app
from shipway.api.settings import ApiSettings
from shipway.core.errors import ShipwayError

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process that embeds it decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class WebhookListener:
    """Where the admission webhook is served: always TLS (kube-apiserver calls webhooks over HTTPS only)."""

    host: str
    port: int
    cert_file: Path
    key_file: Path


class ApiServer:
    """The API on ``host:port`` (and the admission webhook on its own TLS listener); ``serve`` returns when
    ``stop`` is set."""

    def __init__(self, *, kubeconfig: Path | None, host: str, port: int, settings: ApiSettings,
                 webhook: WebhookListener | None = None) -> None:
        self.kube = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-api", field_manager="shipway-api")
        self.app = create_app(settings=settings, kube=self.kube)
        config = uvicorn.Config(self.app, host=host, port=port, log_config=None, access_log=False,
                                lifespan="off", server_header=False)
        self.server = _EmbeddedServer(config)
        self.webhook_server: _EmbeddedServer | None = None
        if webhook is not None:
            hook = create_webhook_app(self.app.state.shipway)
            self.webhook_server = _EmbeddedServer(uvicorn.Config(
                hook, host=webhook.host, port=webhook.port, log_config=None, access_log=False, lifespan="off",
                server_header=False, ssl_certfile=str(webhook.cert_file), ssl_keyfile=str(webhook.key_file)))
        self.stop = asyncio.Event()

    @property
    def url(self) -> str:
        sockets = [s for server in getattr(self.server, "servers", []) for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def _servers(self) -> list[_EmbeddedServer]:
        return [self.server, *([self.webhook_server] if self.webhook_server is not None else [])]

    async def started(self) -> None:
        while not all(server.started for server in self._servers()):
            await asyncio.sleep(0.02)

    async def repair(self) -> None:
        """Finish what a crash between two writes left: unreferenced managed Secrets (never fatal)."""
        settings = self.app.state.shipway.settings
        try:
            await managed.repair(self.kube, system_namespace=settings.system_namespace,
                                 grace=settings.repair_grace_seconds)
        except ShipwayError as error:
            log.warning("repair of managed Secrets skipped: %s", type(error).__name__)

    async def serve(self) -> None:
        repairing = asyncio.create_task(self.repair(), name="shipway-api-repair")
        tasks = {asyncio.create_task(server.serve(), name="shipway-api") for server in self._servers()}
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({*tasks, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for server in self._servers():
            server.should_exit = True
        await asyncio.gather(*tasks)
        stopping.cancel()
        repairing.cancel()
        await asyncio.gather(repairing, return_exceptions=True)
        await self.kube.close()
