"""``shipway sandbox``: Shipway on one machine with no cluster."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.logs import configure_logging
from shipway.cli.profiles import save_profile
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.secrets import Secret
from shipway.reconcile.verifying import DEFAULT_VERIFY_INTERVAL

if TYPE_CHECKING:
    from shipway.sandbox.running import SandboxInfo

app = typer.Typer(help="Run Shipway locally: a Kubernetes API emulator, the operator and the API.",
                  no_args_is_help=True)
PROFILE = "sandbox"


def _announce(info: SandboxInfo) -> None:
    profile = save_profile(name=PROFILE, url=info.api_url, token=info.admin_token)
    kubectl = f"kubectl --kubeconfig {info.kubeconfig}"
    lines = [
        f"Shipway sandbox is up. Kubernetes API emulator: {info.url}   Shipway API: {info.api_url}",
        f"  kubeconfig (admin): {info.kubeconfig}",
        f"  users and their tokens: {info.users_file} ({', '.join(info.user_names)})",
        f"  CLI profile {PROFILE!r} for the admin written to {profile}",
        f"  operator metrics: {info.operator_metrics_url}   API metrics: {info.api_url}/metrics",
        "Try, in another shell (the emulator publishes no OpenAPI, so apply needs --validate=false):",
        f"  {kubectl} apply --validate=false -f examples/sandbox/",
        f"  {kubectl} get pipelines",
        f"  {kubectl} get namespaces,secrets,serviceaccounts -A -l shipway.dev/pipeline=shop",
        "  shipway pipeline list",
        "  shipway registry show --pipeline shop",
        "Ctrl-C stops it.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@app.command("login")
@handles_errors
def login(
    user: Annotated[str, typer.Argument(help="A sandbox user: admin, team-a or team-b")],
    state_dir: Annotated[Path, typer.Option(help="The running sandbox's state directory")] = Path(".shipway/sandbox"),
) -> None:
    """Log the CLI in as a sandbox user (a profile named after the user; the token is not printed)."""
    from shipway.sandbox.emulator import users as sandbox_users

    api_url_file = state_dir / "api-url"
    if not api_url_file.exists():
        raise NotFound(f"no running sandbox in {state_dir} (start it with 'make run')")
    try:
        users = sandbox_users.load(state_dir / "users.yaml")
        token = users.by_name(user).token
    except (KeyError, ValueError, LookupError):
        raise InvalidInput(f"no sandbox user {user!r} in {state_dir / 'users.yaml'}", field="USER") from None
    path = save_profile(name=user, url=api_url_file.read_text().strip(), token=Secret(token))
    typer.echo(f"profile {user!r} written to {path}; use it with --profile {user} or SHIPWAY_PROFILE={user}")


@app.command("up")
@handles_errors
def up(
    state_dir: Annotated[Path, typer.Option(help="Where the kubeconfig, users.yaml and api-url go")] = Path(
        ".shipway/sandbox"),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the API emulator (0: a free one)")] = 0,
    api_port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the Shipway API (0: a free one)")] = 0,
    verify_interval: Annotated[float, typer.Option(min=0, help="Registry re-check interval; 0: no checks")] = (
        DEFAULT_VERIFY_INTERVAL),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging")] = False,
) -> None:
    """Start the sandbox in the foreground: emulator, CRDs, users, a demo Platform, the operator and the API."""
    from shipway.sandbox.running import run_sandbox  # imported here: the emulator and web stack load slowly

    configure_logging(verbose=verbose)
    asyncio.run(run_sandbox(state_dir=state_dir, port=port, api_port=api_port, on_ready=_announce,
                            verify_interval=verify_interval))
