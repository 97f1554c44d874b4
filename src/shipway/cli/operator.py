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
               registry_ca_file: Path | None, metrics_port: int, metrics_host: str, lease_duration: float,
               identity: str | None) -> int:
    from shipway.operator.metrics import serve_metrics  # imported here: not needed by other commands
    from shipway.operator.runner import Operator

    operator = Operator(kubeconfig=kubeconfig, standalone=standalone, workers=workers,
                        verify_interval=verify_interval, registry_ca_file=registry_ca_file,
                        lease_duration=lease_duration, identity=identity)
    if metrics_port:
        serve_metrics(operator, host=metrics_host, port=metrics_port)
    await operator.run(handle_signals=True)
    return 1 if operator.lost_leadership else 0


@app.command("run")
@handles_errors
def run(
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: in-cluster, then $KUBECONFIG)")] = None,
    standalone: Annotated[bool, typer.Option(
        help="No leader election: for a single replica (replicas elect one leader on a Lease otherwise)")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Concurrent reconciles")] = 4,
    verify_interval: Annotated[float, typer.Option(
        min=0, help="Seconds between registry re-checks of a credential (plus up to 10% jitter); 0 disables checks")
    ] = DEFAULT_VERIFY_INTERVAL,
    registry_ca_file: Annotated[Path | None, typer.Option(help="CA bundle for registries with private CAs")] = None,
    metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Serve Prometheus /metrics here; 0: off")] = 0,
    metrics_host: Annotated[str, typer.Option(help="Address for /metrics (in a pod: its IP, 0.0.0.0)")] = "0.0.0.0",  # noqa: S104
    lease_duration: Annotated[float, typer.Option(
        min=1, max=300, help="Seconds a leader's Lease lasts without renewal (take-over time after a crash)")] = 15.0,
    identity: Annotated[str | None, typer.Option(help="This replica's name in the Lease (default: host + random)",
                                                 )] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the operator in the foreground until SIGINT/SIGTERM (exit 1 when it lost its leadership)."""
    configure_logging(verbose=verbose)
    code = asyncio.run(_run(kubeconfig=kubeconfig, standalone=standalone, workers=workers,
                            verify_interval=verify_interval, registry_ca_file=registry_ca_file,
                            metrics_port=metrics_port, metrics_host=metrics_host, lease_duration=lease_duration,
                            identity=identity))
    if code:
        raise typer.Exit(code)
