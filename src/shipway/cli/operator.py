"""``shipway operator``: run the operator against a cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.logs import configure_logging
from shipway.reconcile.verifying import DEFAULT_VERIFY_INTERVAL

app = typer.Typer(help="The Shipway operator.", no_args_is_help=True)


async def _run(*, kubeconfig: Path | None, standalone: bool, workers: int, verify_interval: float,
               registry_ca_file: Path | None, metrics_port: int, metrics_host: str) -> None:
    from shipway.operator.metrics import serve_metrics  # imported here: kopf is not needed by other commands
    from shipway.operator.runner import Operator

    operator = Operator(kubeconfig=kubeconfig, standalone=standalone, workers=workers,
                        verify_interval=verify_interval, registry_ca_file=registry_ca_file)
    if metrics_port:
        serve_metrics(operator, host=metrics_host, port=metrics_port)
    await operator.run(handle_signals=True)


@app.command("run")
@handles_errors
def run(
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: in-cluster, then $KUBECONFIG)")] = None,
    standalone: Annotated[bool, typer.Option(help="No peering: for a single replica (peering needs its CRD)")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Concurrent reconciles")] = 4,
    verify_interval: Annotated[float, typer.Option(
        min=0, help="Seconds between registry re-checks of a credential (±10% jitter); 0 disables checks")
    ] = DEFAULT_VERIFY_INTERVAL,
    registry_ca_file: Annotated[Path | None, typer.Option(help="CA bundle for registries with private CAs")] = None,
    metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Serve Prometheus /metrics here; 0: off")] = 0,
    metrics_host: Annotated[str, typer.Option(help="Address for /metrics (in a pod: its IP, 0.0.0.0)")] = "0.0.0.0",  # noqa: S104
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the operator in the foreground until SIGINT/SIGTERM."""
    configure_logging(verbose=verbose)
    asyncio.run(_run(kubeconfig=kubeconfig, standalone=standalone, workers=workers, verify_interval=verify_interval,
                     registry_ca_file=registry_ca_file, metrics_port=metrics_port,
                     metrics_host=metrics_host))
