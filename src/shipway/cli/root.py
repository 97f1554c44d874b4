"""The root of the ``shipway`` command: ``--version``, and help that shows flags as flags."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.core

from shipway import __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"shipway {__version__}")
        raise typer.Exit(0)


def root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit")] = False,
) -> None:
    """Shipway: a PaaS control plane for Kubernetes with layered registry credentials."""


def show_flags_as_flags() -> None:
    """No ``<bool>`` metavar in help: a flag (``--json``, ``--inherit/--no-inherit``, ``--help``) takes no
    value, so the rich help shows no type for it, as the plain help already does. Typer's rich help
    prints the type of every option, flags included; this leaves the others as they are."""
    option = typer.core.TyperOption
    if getattr(option.display_type_rich, "shipway_flags", False):
        return
    original = option.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        result: str | None = original(self, ctx)
        return result

    display_type_rich.shipway_flags = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich  # type: ignore[method-assign]
