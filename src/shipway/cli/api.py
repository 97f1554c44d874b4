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
from shipway.core import names

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
    system_namespace: Annotated[str, typer.Option(
        help="Where API-managed credential Secrets live")] = names.SYSTEM_NAMESPACE,
    webhook_port: Annotated[int | None, typer.Option(
        min=0, max=65535, help="Serve the admission webhook over TLS on this port (needs the two TLS files)")] = None,
    webhook_host: Annotated[str, typer.Option(help="Address of the webhook listener")] = "0.0.0.0",  # noqa: S104
    serve_tls: Annotated[bool, typer.Option(
        "--serve-tls", help="Serve the REST API over HTTPS too, with the same two TLS files")] = False,
    tls_cert_file: Annotated[Path | None, typer.Option(
        help="The serving certificate chain (PEM) of the webhook (and of the REST API with --serve-tls); "
             "reloaded when it changes")] = None,
    tls_key_file: Annotated[Path | None, typer.Option(help="Its private key (PEM)")] = None,
    repair_grace: Annotated[float, typer.Option(
        min=0, max=86400, help="At start-up, delete managed Secrets nobody references that are older than this "
                               "(left by a crash between two writes)")] = 300.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the API in the foreground until SIGINT/SIGTERM (OpenAPI at /openapi.json). Missing TLS files are
    an error at start (exit 2), never a plain-HTTP fallback."""
    from shipway.api.serving import ApiServer, TlsFiles, WebhookListener  # the web stack: only needed here
    from shipway.api.settings import ApiSettings
    from shipway.core.errors import InvalidInput

    configure_logging(verbose=verbose)
    webhook = tls = None
    if webhook_port is not None or serve_tls:
        if tls_cert_file is None or tls_key_file is None:
            raise InvalidInput("the webhook (and the REST API with --serve-tls) is served over TLS: give "
                               "--tls-cert-file and --tls-key-file", field="--webhook-port" if webhook_port
                               is not None else "--serve-tls")
        tls = TlsFiles(cert_file=tls_cert_file, key_file=tls_key_file)
    if webhook_port is not None:
        assert tls is not None
        webhook = WebhookListener(host=webhook_host, port=webhook_port, cert_file=tls.cert_file, key_file=tls.key_file)
    server = ApiServer(kubeconfig=kubeconfig, host=host, port=port,
                       settings=ApiSettings(system_namespace=system_namespace, repair_grace_seconds=repair_grace),
                       webhook=webhook, tls=tls if serve_tls else None)
    asyncio.run(_serve(server))
