"""Serving the API with uvicorn, in the foreground or inside another event loop (the sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from shipway.adapters.kube.client import KubeClient
from shipway.api.app import create_app
from shipway.api.settings import ApiSettings


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process that embeds it decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """The API on ``host:port``; ``serve`` returns when ``stop`` is set."""

    def __init__(self, *, kubeconfig: Path | None, host: str, port: int, settings: ApiSettings) -> None:
        self.kube = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-api", field_manager="shipway-api")
        self.app = create_app(settings=settings, kube=self.kube)
        config = uvicorn.Config(self.app, host=host, port=port, log_config=None, access_log=False,
                                lifespan="off", server_header=False)
        self.server = _EmbeddedServer(config)
        self.stop = asyncio.Event()

    @property
    def url(self) -> str:
        sockets = [s for server in getattr(self.server, "servers", []) for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def started(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.02)

    async def serve(self) -> None:
        task = asyncio.create_task(self.server.serve(), name="shipway-api")
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        self.server.should_exit = True
        await task
        stopping.cancel()
        await self.kube.close()
