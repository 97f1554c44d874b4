"""``shipway login URL``: store the API URL and a token in the user's config file (0600)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipway.adapters.shipway_api import ShipwayApi
from shipway.cli.errors import handles_errors
from shipway.cli.profiles import DEFAULT_PROFILE, save_profile
from shipway.core.errors import InvalidInput
from shipway.core.secrets import Secret


def read_secret_input(*, prompt: str, field: str) -> Secret:
    """A secret from stdin (one line) when piped, else from a hidden prompt. Never from a flag."""
    value = typer.prompt(prompt, hide_input=True) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise InvalidInput("is empty", field=field)
    return Secret(value)


@handles_errors
def login(
    url: Annotated[str, typer.Argument(help="The Shipway API's base URL, e.g. http://127.0.0.1:8080")],
    profile: Annotated[str, typer.Option(help="Profile name")] = DEFAULT_PROFILE,
) -> None:
    """Log in: the token is read from stdin or a hidden prompt, checked against the API, and stored."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("must start with http:// or https://", field="URL")
    token = read_secret_input(prompt="Token", field="token")
    with ShipwayApi(url=url, token=token) as api:
        api.request("GET", "/api/v1/pipelines")  # proves the URL and the token
    path = save_profile(name=profile, url=url, token=token)
    typer.echo(f"logged in to {url} as profile {profile!r} ({path})")
