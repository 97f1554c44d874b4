"""``shipway platform init``: create the Platform ``default`` once the install is up (idempotent).

The install manifests cannot hold it: a Platform can be created only once its CRD is established and the
admission webhook that checks it is served, which a single ``kubectl apply`` does not wait for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.client import KubeClient
from shipway.cli.errors import handles_errors
from shipway.core import names
from shipway.core.errors import Conflict, NotFound
from shipway.core.install import SYSTEM_NAMESPACE, default_platform

app = typer.Typer(help="The Platform: the layer every pipeline inherits.", no_args_is_help=True)


async def _init(kubeconfig: Path | None, system_namespace: str) -> str:
    client = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-cli", field_manager="shipway-cli")
    try:
        try:
            existing = await client.get(kinds.PLATFORM, names.PLATFORM_NAME)
        except NotFound:
            try:
                await client.create(kinds.PLATFORM, default_platform(system_namespace))
            except Conflict:  # made meanwhile by someone else: as good
                existing = await client.get(kinds.PLATFORM, names.PLATFORM_NAME)
            else:
                return (f"created Platform {names.PLATFORM_NAME} (systemNamespace: {system_namespace}); add the "
                        "platform credential with `shipway registry set --platform` or `kubectl edit platform "
                        f"{names.PLATFORM_NAME}`")
        actual = (existing.get("spec") or {}).get("systemNamespace", SYSTEM_NAMESPACE)
        note = "" if actual == system_namespace else f"; NOT {system_namespace}: change it with kubectl if meant"
        return f"Platform {names.PLATFORM_NAME} exists (systemNamespace: {actual}): left as it is{note}"
    finally:
        await client.close()


@app.command("init")
@handles_errors
def init(
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: in-cluster, then $KUBECONFIG)")] = None,
    system_namespace: Annotated[str, typer.Option(
        help="Where Shipway keeps the credentials set by value (the install's namespace)")] = SYSTEM_NAMESPACE,
) -> None:
    """Create the Platform `default` if there is none (with no platform credential), and say what was done."""
    typer.echo(asyncio.run(_init(kubeconfig, system_namespace)))
