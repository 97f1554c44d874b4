"""``shipway registry set|use-secret|remove|show|explain``: credentials per layer through the API."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from shipway.cli.errors import handles_errors
from shipway.cli.login import read_secret_input
from shipway.cli.output import console, print_json
from shipway.cli.profiles import api_client
from shipway.core.errors import InvalidInput
from shipway.core.resources import PhaseName, Usage

Pipeline = Annotated[str | None, typer.Option(help="The pipeline (omit with --platform)")]
Phase = Annotated[PhaseName | None, typer.Option(help="The phase, for the phase layer")]
Platform = Annotated[bool, typer.Option("--platform", help="The platform layer (admins)")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]
Profile = Annotated[str | None, typer.Option(help="The login profile to use")]
UsageOption = Annotated[list[Usage], typer.Option("--usage", help="pull and/or push; repeat for both")]


def layer_path(*, pipeline: str | None, phase: PhaseName | None, platform: bool) -> str:
    if platform:
        if pipeline or phase:
            raise InvalidInput("--platform goes without --pipeline and --phase", field="--platform")
        return "/api/v1/platform/credentials"
    if not pipeline:
        raise InvalidInput("give --pipeline (or --platform)", field="--pipeline")
    if phase:
        return f"/api/v1/pipelines/{pipeline}/phases/{phase.value}/credentials"
    return f"/api/v1/pipelines/{pipeline}/credentials"


def _print_change(change: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(change)
        return
    ref = change["secretRef"]
    typer.echo(f"{change['layer']} layer: Secret {ref['namespace']}/{ref['name']}"
               f"{' for ' + change['registry'] if change.get('registry') else ''}: "
               f"{change.get('oldFingerprint') or 'none'} -> {change.get('newFingerprint') or 'none'}")


@handles_errors
def set_(
    registry: Annotated[str, typer.Option(help="The registry key, e.g. ghcr.io or ghcr.io/team-a")],
    username: Annotated[str, typer.Option(help="The registry user name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    usage: UsageOption = [Usage.PULL],  # noqa: B006 - typer needs a literal default
    as_json: Json = False, profile: Profile = None,
) -> None:
    """Set a credential by value (stored in a Shipway-managed Secret; the value is never shown again)."""
    path = layer_path(pipeline=pipeline, phase=phase, platform=platform)
    if not password_stdin and not sys.stdin.isatty():
        raise InvalidInput("pass --password-stdin to read the password from a pipe", field="--password-stdin")
    password = read_secret_input(prompt="Password", field="password")
    with api_client(profile) as api:
        change = api.request("PUT", path, json={"registry": registry, "username": username,
                                                "password": password.reveal(), "usage": [u.value for u in usage]})
    _print_change(change, as_json)


@handles_errors
def use_secret(
    secret: Annotated[str, typer.Option(help="The Secret to reference, as NAMESPACE/NAME")],
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    usage: UsageOption = [Usage.PULL],  # noqa: B006
    as_json: Json = False, profile: Profile = None,
) -> None:
    """Reference an existing Secret (you must be allowed to read it; outside the pipeline's namespaces it needs
    the annotation shipway.dev/allowed-pipelines naming the pipeline)."""
    namespace, sep, name = secret.partition("/")
    if not sep or not namespace or not name:
        raise InvalidInput("must be NAMESPACE/NAME", field="--secret")
    path = layer_path(pipeline=pipeline, phase=phase, platform=platform) + "/references"
    with api_client(profile) as api:
        change = api.request("POST", path, json={"secretRef": {"namespace": namespace, "name": name},
                                                 "usage": [u.value for u in usage]})
    _print_change(change, as_json)


@handles_errors
def remove(
    registry: Annotated[str | None, typer.Option(help="Remove the credential set by value for this registry")] = None,
    secret: Annotated[str | None, typer.Option(help="Remove the reference to NAMESPACE/NAME")] = None,
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    as_json: Json = False, profile: Profile = None,
) -> None:
    """Remove a credential from a layer."""
    params: dict[str, Any] = {}
    if registry:
        params["registry"] = registry
    if secret:
        namespace, _, name = secret.partition("/")
        params.update({"secretNamespace": namespace, "secretName": name})
    with api_client(profile) as api:
        change = api.request("DELETE", layer_path(pipeline=pipeline, phase=phase, platform=platform), params=params)
    _print_change(change, as_json)


@handles_errors
def show(
    pipeline: Annotated[str, typer.Option(help="The pipeline")],
    as_json: Json = False, profile: Profile = None,
) -> None:
    """The effective credentials of each phase: registry key, layer, source, usage, fingerprint."""
    with api_client(profile) as api:
        view = api.request("GET", f"/api/v1/pipelines/{pipeline}/effective")
    if as_json:
        print_json(view)
        return
    out = console()
    for phase in view["phases"]:
        table = Table("use", "registry", "layer", "source", "usage", "fingerprint", "verified",
                      title=f"{view['pipeline']} / {phase['phase']} (namespace {phase['namespace']})",
                      title_justify="left")
        rows = [("pull", e) for e in phase["pull"]] + ([("push", phase["push"])] if phase["push"] else [])
        for use, e in rows:
            verified = e.get("verified") or {}
            outcome = f"{verified['status']} ({verified['reason']})" if verified else "-"
            table.add_row(use, e["registry"], e["source"], f"{e['secretRef']['namespace']}/{e['secretRef']['name']}",
                          ",".join(e["usage"]), e["fingerprint"], outcome)
        out.print(table)
        for finding in phase["findings"]:
            out.print(f"finding {finding['reason']}: {finding['message']}")


@handles_errors
def explain(
    image: Annotated[str, typer.Argument(help="The image, e.g. ghcr.io/team-a/shop:1.2")],
    pipeline: Annotated[str, typer.Option(help="The pipeline")],
    phase: Annotated[PhaseName, typer.Option(help="The phase")],
    as_json: Json = False, profile: Profile = None,
) -> None:
    """Which credentials the kubelet will try for IMAGE in a phase, in order, and why."""
    with api_client(profile) as api:
        answer = api.request("GET", f"/api/v1/pipelines/{pipeline}/phases/{phase.value}/explain",
                             params={"image": image})
    if as_json:
        print_json(answer)
        return
    out = console()
    out.print(f"{answer['image']} → {answer['normalized']}")
    for t in answer["tries"]:
        out.print(f"  {t['order']}. {t['key']}  ({t['layer']} layer, {t['secretRef']['namespace']}/"
                  f"{t['secretRef']['name']}, {t['fingerprint']}): {t['reason']}")
    out.print(answer["note"])
