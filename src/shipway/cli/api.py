"""``shipway api``: run the REST API against a cluster."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from shipway.api.serving import ApiServer

from shipway.cli.errors import handles_errors
from shipway.cli.logs import configure_logging

app = typer.Typer(help="The Shipway REST API.", no_args_is_help=True)


async def _serve(server: ApiServer) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.stop.set)
    await server.serve()


@app.command("run")
@handles_errors
def run(
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: in-cluster, then $KUBECONFIG)")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8080,
    system_namespace: Annotated[str, typer.Option(help="Where API-managed credential Secrets live")] = "shipway-system",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the API in the foreground until SIGINT/SIGTERM (OpenAPI at /openapi.json)."""
    from shipway.api.serving import ApiServer  # imported here: the web stack is not needed by other commands
    from shipway.api.settings import ApiSettings

    configure_logging(verbose=verbose)
    server = ApiServer(kubeconfig=kubeconfig, host=host, port=port,
                       settings=ApiSettings(system_namespace=system_namespace))
    asyncio.run(_serve(server))
