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
    webhook_port: Annotated[int | None, typer.Option(
        min=0, max=65535, help="Serve the admission webhook over TLS on this port (needs the two TLS files)")] = None,
    webhook_host: Annotated[str, typer.Option(help="Address of the webhook listener")] = "0.0.0.0",  # noqa: S104
    tls_cert_file: Annotated[Path | None, typer.Option(help="The webhook's certificate chain (PEM)")] = None,
    tls_key_file: Annotated[Path | None, typer.Option(help="The webhook's private key (PEM)")] = None,
    repair_grace: Annotated[float, typer.Option(
        min=0, max=86400, help="At start-up, delete managed Secrets nobody references that are older than this "
                               "(left by a crash between two writes)")] = 300.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the API in the foreground until SIGINT/SIGTERM (OpenAPI at /openapi.json)."""
    from shipway.api.serving import ApiServer, WebhookListener  # the web stack is not needed by other commands
    from shipway.api.settings import ApiSettings
    from shipway.core.errors import InvalidInput

    configure_logging(verbose=verbose)
    webhook = None
    if webhook_port is not None:
        if tls_cert_file is None or tls_key_file is None:
            raise InvalidInput("the webhook is served over TLS only: give --tls-cert-file and --tls-key-file",
                               field="--webhook-port")
        webhook = WebhookListener(host=webhook_host, port=webhook_port, cert_file=tls_cert_file,
                                  key_file=tls_key_file)
    server = ApiServer(kubeconfig=kubeconfig, host=host, port=port,
                       settings=ApiSettings(system_namespace=system_namespace, repair_grace_seconds=repair_grace),
                       webhook=webhook)
    asyncio.run(_serve(server))
