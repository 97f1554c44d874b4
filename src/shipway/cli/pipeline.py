"""``shipway pipeline``: create, update, list, get, delete pipelines through the API.

``--phase`` takes ``NAME`` or ``NAME=NAMESPACE`` (a namespace of the phase's own instead of
``<pipeline>-<phase>``), the same in ``create`` and ``update``. ``update`` reads the pipeline, changes only
what was given, and sends the whole body back, so the API's validation and admission apply to it as a
whole. Errors about a body field the CLI sent name the option the user typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import typer

from shipway.cli.errors import field_renamer, handles_errors, option_names
from shipway.cli.output import Format, JsonOption, OutputOption, chosen, console, emit, table
from shipway.cli.profiles import api_client
from shipway.core.errors import InvalidInput
from shipway.core.resources import PhaseName, ReclaimPolicy

app = typer.Typer(help="Pipelines: create, update, list, get, delete.", no_args_is_help=True)
Profile = Annotated[str | None, typer.Option(help="The login profile to use")]
_PHASE_NAMES = ", ".join(p.value for p in PhaseName)
PHASE_HELP = (f"A phase, NAME or NAME=NAMESPACE (NAME one of {_PHASE_NAMES}; the namespace defaults to "
              "PIPELINE-NAME); repeat for several")
PushRegistry = Annotated[str | None, typer.Option(
    "--push-registry", help="Where builds push: registry host[:port]")]
PushPrefix = Annotated[str | None, typer.Option("--push-prefix", help="Repository prefix under the push registry")]
Reclaim = Annotated[ReclaimPolicy | None, typer.Option(
    "--reclaim-policy", case_sensitive=False, metavar="Retain|Delete",
    help="What happens to a phase's namespace when the phase or the pipeline goes: Retain keeps it, Delete "
         "deletes it if Shipway made it (unset: the Platform's default)")]

# The fields of the API's request bodies, as the options that set them.
_OPTIONS = {"name": "NAME", "metadata.name": "NAME", "inherit": "--inherit", "push": "--push-registry",
            "push.registry": "--push-registry", "push.repositoryPrefix": "--push-prefix",
            "reclaimPolicy": "--reclaim-policy", "phases": "--phase"}
_PHASE_FIELD = re.compile(r"^(?:spec\.)?phases\[(\d+)\]")


def parse_phase(text: str) -> tuple[PhaseName, str | None]:
    """``NAME`` or ``NAME=NAMESPACE``; the namespace itself is checked by the API."""
    name, sep, namespace = text.partition("=")
    try:
        phase = PhaseName(name.strip())
    except ValueError:
        raise InvalidInput(f"{name!r} is not a phase: one of {_PHASE_NAMES}, as NAME or NAME=NAMESPACE",
                           field="--phase") from None
    if sep and not namespace:
        raise InvalidInput(f"{text!r} has no namespace after '='", field="--phase")
    return phase, (namespace if sep else None)


def _parse_phases(given: list[str]) -> list[tuple[PhaseName, str | None]]:
    return [parse_phase(text) for text in given]


def _renamer(phase_labels: list[str]) -> Callable[[str], str | None]:
    """API body fields to options; a field of phase ``i`` names that phase as the user gave it."""
    by_body = field_renamer(_OPTIONS)

    def rename(field: str) -> str | None:
        match = _PHASE_FIELD.match(field)
        if match and int(match[1]) < len(phase_labels):
            return phase_labels[int(match[1])]
        return by_body(field.removeprefix("spec.").replace("registry.push", "push"))

    return rename


def _ready(pipeline: dict[str, Any]) -> str:
    ready = next((c for c in pipeline.get("conditions") or [] if c["type"] == "Ready"), None)
    return f"{ready['status']} ({ready['reason']})" if ready else "unknown"


def _push(pipeline: dict[str, Any]) -> str:
    push = pipeline.get("push")
    return f"{push['registry']}/{push['repositoryPrefix']}" if push else "-"


def _print_written(pipeline: dict[str, Any], verb: str, output: Format) -> None:
    emit(pipeline, output, lambda: typer.echo(f"pipeline {pipeline['name']} {verb}"))


@app.command("create")
@handles_errors
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Pipeline name (a DNS label)")],
    phase: Annotated[list[str], typer.Option("--phase", metavar="NAME[=NAMESPACE]", help=PHASE_HELP)],
    inherit: Annotated[bool, typer.Option(
        "--inherit/--no-inherit", help="Inherit the platform's default credentials")] = True,
    push_registry: PushRegistry = None,
    push_prefix: PushPrefix = None,
    reclaim_policy: Reclaim = None,
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """Create a pipeline with its phases (-o json|yaml prints the pipeline created)."""
    fmt = chosen(output, as_json)
    phases = _parse_phases(phase)
    body: dict[str, Any] = {"name": name, "phases": [_phase_body(p, ns) for p, ns in phases], "inherit": inherit}
    if push_registry or push_prefix:
        body["push"] = _push_body(push_registry, push_prefix)
    if reclaim_policy is not None:
        body["reclaimPolicy"] = reclaim_policy.value
    with api_client(profile) as api, option_names(_renamer([f"--phase {text}" for text in phase])):
        created = api.request("POST", "/api/v1/pipelines", json=body)
    _print_written(created, "created", fmt)


def _phase_body(phase: PhaseName, namespace: str | None, *, enabled: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"name": phase.value, "enabled": enabled}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def _push_body(registry: str | None, prefix: str | None) -> dict[str, Any]:
    """The push target; a part left out stays out, and the API says which is missing."""
    out: dict[str, Any] = {}
    if registry is not None:
        out["registry"] = registry
    if prefix is not None:
        out["repositoryPrefix"] = prefix
    return out


def _kept_phase(pipeline: str, phase: dict[str, Any]) -> dict[str, Any]:
    """A phase as it is: its namespace sent only when it is one of its own (not ``<pipeline>-<phase>``)."""
    own = phase["namespace"] if phase["namespace"] != f"{pipeline}-{phase['name']}" else None
    return _phase_body(PhaseName(phase["name"]), own, enabled=bool(phase.get("enabled", True)))


def update_body(current: dict[str, Any], *, phases: list[tuple[PhaseName, str | None]] | None,
                inherit: bool | None, push_registry: str | None, push_prefix: str | None, no_push: bool,
                reclaim_policy: ReclaimPolicy | None) -> dict[str, Any]:
    """The whole PUT body: what was given, and the rest as ``current`` (the API's view of the pipeline) has it."""
    name = current["name"]
    existing = {p["name"]: p for p in current["phases"]}
    if phases is None:
        phase_bodies = [_kept_phase(name, p) for p in current["phases"]]
    else:
        phase_bodies = []
        for phase, namespace in phases:
            kept = existing.get(phase.value)
            if kept is None:
                phase_bodies.append(_phase_body(phase, namespace))
            else:
                kept_body = _kept_phase(name, kept)
                if namespace is not None:
                    kept_body["namespace"] = namespace
                phase_bodies.append(kept_body)
    if no_push:
        push: dict[str, Any] | None = None
    elif push_registry is not None or push_prefix is not None:
        now = current.get("push") or {}
        push = _push_body(push_registry if push_registry is not None else now.get("registry"),
                          push_prefix if push_prefix is not None else now.get("repositoryPrefix"))
    else:
        push = current.get("push")
    reclaim = reclaim_policy.value if reclaim_policy is not None else current.get("reclaimPolicy")
    body: dict[str, Any] = {"phases": phase_bodies,
                            "inherit": current["inherit"] if inherit is None else inherit, "push": push}
    if reclaim is not None:
        body["reclaimPolicy"] = reclaim
    return body


@app.command("update")
@handles_errors
def update(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The pipeline to change")],
    phase: Annotated[list[str] | None, typer.Option(
        "--phase", metavar="NAME[=NAMESPACE]",
        help=PHASE_HELP + ": the new list of phases, in order (a phase kept keeps its namespace unless given)")
    ] = None,
    inherit: Annotated[bool | None, typer.Option(
        "--inherit/--no-inherit", help="Inherit the platform's default credentials, or not (unset: unchanged)",
        show_default=False)] = None,
    push_registry: PushRegistry = None,
    push_prefix: PushPrefix = None,
    no_push: Annotated[bool, typer.Option("--no-push", help="Remove the push target")] = False,
    reclaim_policy: Reclaim = None,
    output: OutputOption = Format.TABLE, profile: Profile = None,
) -> None:
    """Change a pipeline: only what is given changes (phases, inherit, push target, reclaim policy); the API
    checks the whole result as it checks a create (-o json|yaml prints the pipeline updated)."""
    if no_push and (push_registry is not None or push_prefix is not None):
        raise InvalidInput("goes without --push-registry and --push-prefix", field="--no-push")
    phases = _parse_phases(phase) if phase else None
    if phases is None and inherit is None and not no_push and push_registry is None and push_prefix is None \
            and reclaim_policy is None:
        raise InvalidInput("nothing to change: give --phase, --inherit or --no-inherit, --push-registry, "
                           "--push-prefix, --no-push or --reclaim-policy", field="NAME")
    with api_client(profile) as api:
        with option_names(field_renamer({"name": "NAME"})):
            current = api.request("GET", f"/api/v1/pipelines/{name}")
        body = update_body(current, phases=phases, inherit=inherit, push_registry=push_registry,
                           push_prefix=push_prefix, no_push=no_push, reclaim_policy=reclaim_policy)
        labels = ([f"--phase {text}" for text in phase] if phase
                  else [f"phase {p['name']}" for p in body["phases"]])
        with option_names(_renamer(labels)):
            updated = api.request("PUT", f"/api/v1/pipelines/{name}", json=body)
    _print_written(updated, "updated", output)


def _list_table(pipelines: list[dict[str, Any]]) -> None:
    out = table("name", "phases", "inherit", "push", "reclaim", "ready")
    for p in pipelines:
        out.add_row(p["name"], ",".join(ph["name"] for ph in p["phases"]), str(p["inherit"]).lower(), _push(p),
                    p.get("reclaimPolicy") or "-", _ready(p))
    console().print(out)


@app.command("list")
@handles_errors
def list_(output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None) -> None:
    """List the pipelines you may see."""
    fmt = chosen(output, as_json)
    with api_client(profile) as api:
        pipelines = api.request("GET", "/api/v1/pipelines")
    emit(pipelines, fmt, lambda: _list_table(pipelines))


def _describe(pipeline: dict[str, Any]) -> None:
    out = console()
    reclaim = f"  reclaimPolicy={pipeline['reclaimPolicy']}" if pipeline.get("reclaimPolicy") else ""
    line = (f"pipeline {pipeline['name']}  inherit={str(pipeline['inherit']).lower()}  ready={_ready(pipeline)}"
            f"{reclaim}")
    out.print(line)
    if pipeline.get("push"):
        out.print(f"  push: {_push(pipeline)}")
    for ref in pipeline["credentials"]:
        out.print(f"  pipeline layer: {ref['secretRef']['namespace']}/{ref['secretRef']['name']} "
                  f"usage={','.join(ref['usage'])}{' (managed)' if ref['managed'] else ''}")
    for phase in pipeline["phases"]:
        disabled = "" if phase.get("enabled", True) else " (disabled)"
        out.print(f"  phase {phase['name']} → namespace {phase['namespace']}{disabled}")
        for ref in phase["credentials"]:
            out.print(f"    phase layer: {ref['secretRef']['namespace']}/{ref['secretRef']['name']} "
                      f"usage={','.join(ref['usage'])}")
    for condition in pipeline["conditions"]:
        out.print(f"  {condition['type']}={condition['status']} {condition['reason']}: {condition['message']}")


@app.command("get")
@handles_errors
def get(name: Annotated[str, typer.Argument(metavar="NAME", help="The pipeline")],
        output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None) -> None:
    """Show one pipeline: phases, layers' credential references, conditions."""
    fmt = chosen(output, as_json)
    with api_client(profile) as api:
        pipeline = api.request("GET", f"/api/v1/pipelines/{name}")
    emit(pipeline, fmt, lambda: _describe(pipeline))


@app.command("delete")
@handles_errors
def delete(name: Annotated[str, typer.Argument(metavar="NAME", help="The pipeline")], profile: Profile = None) -> None:
    """Delete a pipeline; its namespaces and secrets go with it."""
    with api_client(profile) as api:
        api.request("DELETE", f"/api/v1/pipelines/{name}")
    typer.echo(f"pipeline {name} deleted")

