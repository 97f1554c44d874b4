"""The ``shipway`` command: one sub-command module per noun, assembled here."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

from shipway.cli import api, credentials, dockerconfig, login, manifests, operator, pipeline, registry, resolve
from shipway.cli import kubero as import_cli
from shipway.cli import migration as migration_cli
from shipway.cli import platform as platform_cli
from shipway.cli.root import root, show_flags_as_flags

PLUGIN_GROUP = "shipway.commands"


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="shipway", help="Shipway: a PaaS control plane for Kubernetes with layered registry credentials.",
        no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    )
    show_flags_as_flags()
    app.callback()(root)  # --version
    app.command("manifests")(manifests.manifests)
    app.command("resolve")(resolve.resolve)
    app.add_typer(dockerconfig.app, name="dockerconfig")
    registry.app.command("set")(credentials.set_)
    registry.app.command("use-secret")(credentials.use_secret)
    registry.app.command("remove")(credentials.remove)
    registry.app.command("show")(credentials.show)
    registry.app.command("explain")(credentials.explain)
    app.add_typer(registry.app, name="registry")
    app.add_typer(pipeline.app, name="pipeline")
    app.command("login")(login.login)
    app.add_typer(operator.app, name="operator")
    app.add_typer(api.app, name="api")
    app.add_typer(platform_cli.app, name="platform")
    app.add_typer(import_cli.app, name="import")
    app.add_typer(migration_cli.app, name="migration")
    for plugin in entry_points(group=PLUGIN_GROUP):  # e.g. `shipway sandbox` from the shipway-sandbox distribution
        try:
            commands = plugin.load()
        except ImportError as error:  # a broken plug-in must not take the product's commands down with it
            print(f"shipway: the command {plugin.name!r} is unavailable: {type(error).__name__}: {error.name}",
                  file=sys.stderr)
            continue
        app.add_typer(commands, name=plugin.name)
    return app


def run() -> None:
    build_app()()
