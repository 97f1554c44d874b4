"""The ``shipway`` command: one sub-command module per noun, assembled here."""

from __future__ import annotations

import typer

from shipway.cli import dockerconfig, manifests, operator, registry, resolve, sandbox


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="shipway", help="Shipway: a PaaS control plane for Kubernetes with layered registry credentials.",
        no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    )
    app.command("manifests")(manifests.manifests)
    app.command("resolve")(resolve.resolve)
    app.add_typer(dockerconfig.app, name="dockerconfig")
    app.add_typer(registry.app, name="registry")
    app.add_typer(operator.app, name="operator")
    app.add_typer(sandbox.app, name="sandbox")
    return app


def run() -> None:
    build_app()()
