"""``shipway pipeline``: create, list, get, delete pipelines through the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shipway.cli.errors import handles_errors
from shipway.cli.output import console, print_json
from shipway.cli.profiles import api_client
from shipway.core.resources import PhaseName

app = typer.Typer(help="Pipelines: create, list, get, delete.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]
Profile = Annotated[str | None, typer.Option(help="The login profile to use")]


def _ready(pipeline: dict[str, Any]) -> str:
    ready = next((c for c in pipeline.get("conditions") or [] if c["type"] == "Ready"), None)
    return f"{ready['status']} ({ready['reason']})" if ready else "unknown"


@app.command("create")
@handles_errors
def create(
    name: Annotated[str, typer.Argument(help="Pipeline name (a DNS label)")],
    phase: Annotated[list[PhaseName], typer.Option("--phase", help="A phase; repeat for several")],
    inherit: Annotated[bool, typer.Option(help="Inherit the platform's default credentials")] = True,
    push_registry: Annotated[str | None, typer.Option(help="Where builds push: registry host[:port]")] = None,
    push_prefix: Annotated[str | None, typer.Option(help="Repository prefix under the push registry")] = None,
    as_json: Json = False, profile: Profile = None,
) -> None:
    """Create a pipeline with its phases."""
    body: dict[str, Any] = {"name": name, "phases": [{"name": p.value} for p in phase], "inherit": inherit}
    if push_registry or push_prefix:
        body["push"] = {"registry": push_registry, "repositoryPrefix": push_prefix}
    with api_client(profile) as api:
        created = api.request("POST", "/api/v1/pipelines", json=body)
    print_json(created) if as_json else typer.echo(f"pipeline {created['name']} created")


@app.command("list")
@handles_errors
def list_(as_json: Json = False, profile: Profile = None) -> None:
    """List the pipelines you may see."""
    with api_client(profile) as api:
        pipelines = api.request("GET", "/api/v1/pipelines")
    if as_json:
        print_json(pipelines)
        return
    table = Table("name", "phases", "inherit", "push", "ready")
    for p in pipelines:
        push = p.get("push")
        table.add_row(p["name"], ",".join(ph["name"] for ph in p["phases"]), str(p["inherit"]).lower(),
                      f"{push['registry']}/{push['repositoryPrefix']}" if push else "-", _ready(p))
    console().print(table)


@app.command("get")
@handles_errors
def get(name: str, as_json: Json = False, profile: Profile = None) -> None:
    """Show one pipeline: phases, layers' credential references, conditions."""
    with api_client(profile) as api:
        pipeline = api.request("GET", f"/api/v1/pipelines/{name}")
    if as_json:
        print_json(pipeline)
        return
    out = console()
    out.print(f"pipeline {pipeline['name']}  inherit={str(pipeline['inherit']).lower()}  ready={_ready(pipeline)}")
    for ref in pipeline["credentials"]:
        out.print(f"  pipeline layer: {ref['secretRef']['namespace']}/{ref['secretRef']['name']} "
                  f"usage={','.join(ref['usage'])}{' (managed)' if ref['managed'] else ''}")
    for phase in pipeline["phases"]:
        out.print(f"  phase {phase['name']} → namespace {phase['namespace']}")
        for ref in phase["credentials"]:
            out.print(f"    phase layer: {ref['secretRef']['namespace']}/{ref['secretRef']['name']} "
                      f"usage={','.join(ref['usage'])}")
    for condition in pipeline["conditions"]:
        out.print(f"  {condition['type']}={condition['status']} {condition['reason']}: {condition['message']}")


@app.command("delete")
@handles_errors
def delete(name: str, profile: Profile = None) -> None:
    """Delete a pipeline; its namespaces and secrets go with it."""
    with api_client(profile) as api:
        api.request("DELETE", f"/api/v1/pipelines/{name}")
    typer.echo(f"pipeline {name} deleted")
