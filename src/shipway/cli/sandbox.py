"""``shipway sandbox``: Shipway on one machine with no cluster."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.logs import configure_logging
from shipway.sandbox.running import SandboxInfo, run_sandbox

app = typer.Typer(help="Run Shipway locally: a Kubernetes API emulator with the operator.", no_args_is_help=True)


def _announce(info: SandboxInfo) -> None:
    kubectl = f"kubectl --kubeconfig {info.kubeconfig}"
    lines = [
        f"Shipway sandbox is up: Kubernetes API emulator at {info.url}",
        f"kubeconfig: {info.kubeconfig}",
        "Try, in another shell (the emulator publishes no OpenAPI, so apply needs --validate=false):",
        f"  {kubectl} apply --validate=false -f examples/sandbox/",
        f"  {kubectl} get pipelines",
        f"  {kubectl} get pipeline shop -o yaml",
        f"  {kubectl} get namespaces,secrets,serviceaccounts -A -l shipway.dev/pipeline=shop",
        "Ctrl-C stops it.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@app.command("up")
@handles_errors
def up(
    state_dir: Annotated[Path, typer.Option(help="Where the kubeconfig and state go")] = Path(".shipway/sandbox"),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the API emulator (0: a free one)")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging")] = False,
) -> None:
    """Start the sandbox in the foreground: emulator, CRDs, a demo Platform, and the operator."""
    configure_logging(verbose=verbose)
    asyncio.run(run_sandbox(state_dir=state_dir, port=port, on_ready=_announce))
