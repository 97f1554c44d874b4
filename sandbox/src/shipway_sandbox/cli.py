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
    from shipway_sandbox.running import SandboxInfo

app = typer.Typer(help="Run Shipway locally: a Kubernetes API emulator, the operator and the API.",
                  no_args_is_help=True)
PROFILE = "sandbox"


CLI_CONFIG = "cli-config.yaml"  # the sandbox's CLI profiles live in its state directory, not in ~/.config


def _shown(path: Path) -> str:
    """A path as the user can type it from here: relative when below the working directory."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _announce(info: SandboxInfo) -> None:
    config = info.state_dir / CLI_CONFIG
    save_profile(name=PROFILE, url=info.api_url, token=info.admin_token, path=config)
    shipway = _shown(Path(sys.executable).parent / "shipway")
    kubectl = f"kubectl --kubeconfig {_shown(info.kubeconfig)}"
    lines = [
        f"Shipway sandbox is up. Kubernetes API emulator: {info.url}   Shipway API: {info.api_url}",
        f"  kubeconfig (admin): {_shown(info.kubeconfig)}; "
        f"per user: {_shown(info.state_dir / 'users')}/NAME.kubeconfig",
        f"  users and their tokens: {_shown(info.users_file)} ({', '.join(info.user_names)})",
        f"  a real registry: {info.registry_url} (apps/hello:1.0; its user is the Platform's default credential)",
        f"  CLI profile {PROFILE!r} (the admin) in {_shown(config)}: nothing outside the state directory changed",
        f"  operator metrics: {info.operator_metrics_url}   API metrics: {info.api_url}/metrics",
        "Try, in another shell:",
        f"  {kubectl} apply -f examples/sandbox/",
        f"  {kubectl} get pipelines",
        f"  export SHIPWAY_CONFIG={_shown(config)}",
        f"  {shipway} pipeline list",
        f"  {shipway} registry show --pipeline shop",
        "Ctrl-C stops it.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@app.command("login")
@handles_errors
def login(
    user: Annotated[str, typer.Argument(help="A sandbox user: admin, team-a or team-b")],
    state_dir: Annotated[Path, typer.Option(help="The running sandbox's state directory")] = Path(".shipway/sandbox"),
    global_config: Annotated[bool, typer.Option(
        "--global", help="Write the profile to your own CLI config ($SHIPWAY_CONFIG or ~/.config/shipway) instead "
                         "of the sandbox's")] = False,
) -> None:
    """Log the CLI in as a sandbox user: a profile named after the user, made current, in the sandbox's
    state directory (its cli-config.yaml) unless --global; the token is not printed."""
    from shipway_sandbox.emulator import users as sandbox_users

    api_url_file = state_dir / "api-url"
    if not api_url_file.exists():
        raise NotFound(f"no running sandbox in {state_dir} (start it with 'make run')")
    try:
        users = sandbox_users.load(state_dir / "users.yaml")
        token = users.by_name(user).token
    except (KeyError, ValueError, LookupError):
        raise InvalidInput(f"no sandbox user {user!r} in {state_dir / 'users.yaml'}", field="USER") from None
    path = save_profile(name=user, url=api_url_file.read_text().strip(), token=Secret(token),
                        path=None if global_config else state_dir / CLI_CONFIG)
    hint = "" if global_config else f"; use that file with: export SHIPWAY_CONFIG={_shown(path)}"
    typer.echo(f"profile {user!r} written to {_shown(path)} and made its current profile{hint}")


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
    from shipway_sandbox.running import run_sandbox  # imported here: the emulator and web stack load slowly

    configure_logging(verbose=verbose)
    try:
        asyncio.run(run_sandbox(state_dir=state_dir, port=port, api_port=api_port, on_ready=_announce,
                                verify_interval=verify_interval))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place: stop quietly
        raise typer.Exit(130) from None
