"""``shipway registry set|use-secret|remove|show|explain``: credentials per layer through the API."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from shipway.cli.errors import field_renamer, handles_errors, option_names
from shipway.cli.login import read_secret_input
from shipway.cli.output import Format, JsonOption, OutputOption, chosen, console, emit, print_table, table
from shipway.cli.profiles import api_client
from shipway.core.errors import InvalidInput
from shipway.core.resources import PhaseName, Usage

Pipeline = Annotated[str | None, typer.Option(help="The pipeline (omit with --platform)")]
Phase = Annotated[PhaseName | None, typer.Option(help="The phase, for the phase layer")]
Platform = Annotated[bool, typer.Option("--platform", help="The platform layer (admins)")]
Profile = Annotated[str | None, typer.Option(help="The login profile to use")]
UsageOption = Annotated[list[Usage], typer.Option("--usage", help="pull and/or push; repeat for both")]

# The API's names (body fields, query and path parameters) as the options that set them.
_LAYER = {"name": "--pipeline", "phase": "--phase"}
_SET = field_renamer({**_LAYER, "registry": "--registry", "username": "--username", "password": "--password-stdin",
                      "usage": "--usage"})
_USE_SECRET = field_renamer({**_LAYER, "secretRef": "--secret", "usage": "--usage"})
_REMOVE = field_renamer({**_LAYER, "registry": "--registry", "secretRef": "--secret", "secretNamespace": "--secret",
                         "secretName": "--secret"})
_READ = field_renamer({**_LAYER, "image": "IMAGE"})


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


def _print_change(change: dict[str, Any], output: Format) -> None:
    ref = change["secretRef"]
    line = (f"{change['layer']} layer: Secret {ref['namespace']}/{ref['name']}"
            f"{' for ' + change['registry'] if change.get('registry') else ''}: "
            f"{change.get('oldFingerprint') or 'none'} -> {change.get('newFingerprint') or 'none'}")
    emit(change, output, lambda: typer.echo(line))


def _secret_ref(secret: str) -> tuple[str, str]:
    namespace, sep, name = secret.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise InvalidInput("must be NAMESPACE/NAME", field="--secret")
    return namespace, name


@handles_errors
def set_(
    registry: Annotated[str, typer.Option(help="The registry key, e.g. ghcr.io or ghcr.io/team-a")],
    username: Annotated[str, typer.Option(help="The registry user name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    usage: UsageOption = [Usage.PULL],  # noqa: B006 - typer needs a literal default
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """Set a credential by value (stored in a Shipway-managed Secret; the value is never shown again)."""
    fmt = chosen(output, as_json)
    path = layer_path(pipeline=pipeline, phase=phase, platform=platform)
    if not password_stdin and not sys.stdin.isatty():
        raise InvalidInput("pass --password-stdin to read the password from a pipe", field="--password-stdin")
    password = read_secret_input(prompt="Password", field="--password-stdin" if password_stdin else "password")
    with api_client(profile) as api, option_names(_SET):
        change = api.request("PUT", path, json={"registry": registry, "username": username,
                                                "password": password.reveal(), "usage": [u.value for u in usage]})
    _print_change(change, fmt)


@handles_errors
def use_secret(
    secret: Annotated[str, typer.Option(help="The Secret to reference, as NAMESPACE/NAME")],
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    usage: UsageOption = [Usage.PULL],  # noqa: B006
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """Reference an existing Secret (you must be allowed to read it; outside the pipeline's namespaces it needs
    the annotation shipway.dev/allowed-pipelines naming the pipeline)."""
    fmt = chosen(output, as_json)
    namespace, name = _secret_ref(secret)
    path = layer_path(pipeline=pipeline, phase=phase, platform=platform) + "/references"
    with api_client(profile) as api, option_names(_USE_SECRET):
        change = api.request("POST", path, json={"secretRef": {"namespace": namespace, "name": name},
                                                 "usage": [u.value for u in usage]})
    _print_change(change, fmt)


@handles_errors
def remove(
    registry: Annotated[str | None, typer.Option(help="Remove the credential set by value for this registry")] = None,
    secret: Annotated[str | None, typer.Option(help="Remove the reference to NAMESPACE/NAME")] = None,
    pipeline: Pipeline = None, phase: Phase = None, platform: Platform = False,
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """Remove a credential from a layer: the one set by value for --registry, or the reference to --secret."""
    fmt = chosen(output, as_json)
    if (registry is None) == (secret is None):
        raise InvalidInput("give exactly one of --registry or --secret", field="--registry")
    path = layer_path(pipeline=pipeline, phase=phase, platform=platform)
    params: dict[str, Any] = {}
    if registry is not None:
        params["registry"] = registry
    if secret is not None:
        namespace, name = _secret_ref(secret)
        params.update({"secretNamespace": namespace, "secretName": name})
    with api_client(profile) as api, option_names(_REMOVE):
        change = api.request("DELETE", path, params=params)
    _print_change(change, fmt)


def _verified(entry: dict[str, Any]) -> str:
    verified = entry.get("verified") or {}
    return f"{verified['status']} ({verified['reason']})" if verified else "-"


def _show_tables(view: dict[str, Any]) -> None:
    """One table per phase, one row per registry key and use: ``pull`` rows are the keys of the pull secret,
    the ``push`` row the push secret's; ``grants`` is what the source Secret allows."""
    out = console()
    for phase in view["phases"]:
        rows = table("use", "registry", "layer", "source", "grants", "fingerprint", "verified")
        entries = [("pull", e) for e in phase["pull"]] + ([("push", phase["push"])] if phase["push"] else [])
        for use, e in entries:
            rows.add_row(use, e["registry"], e["source"], f"{e['secretRef']['namespace']}/{e['secretRef']['name']}",
                         ",".join(e["usage"]), e["fingerprint"], _verified(e))
        print_table(out, f"{view['pipeline']} / {phase['phase']} (namespace {phase['namespace']})", rows)
        if not entries:
            out.print("(no credential in this phase)")
        out.print(f"push repository: {phase.get('pushRepository') or '(none)'}; "
                  f"pull set {phase.get('pullFingerprint') or '(none)'}")
        for finding in phase["findings"]:
            out.print(f"finding {finding['reason']}: {finding['message']}")


@handles_errors
def show(
    pipeline: Annotated[str, typer.Option(help="The pipeline")],
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """The effective credentials of each phase, one row per registry key and use (pull or push): layer,
    source, what it grants, fingerprint, Verified."""
    fmt = chosen(output, as_json)
    with api_client(profile) as api, option_names(_READ):
        view = api.request("GET", f"/api/v1/pipelines/{pipeline}/effective")
    emit(view, fmt, lambda: _show_tables(view))


def _explain_lines(answer: dict[str, Any]) -> None:
    out = console()
    out.print(f"{answer['image']} → {answer['normalized']}")
    for t in answer["tries"]:
        out.print(f"  {t['order']}. {t['key']}  ({t['layer']} layer, {t['secretRef']['namespace']}/"
                  f"{t['secretRef']['name']}, {t['fingerprint']}): {t['reason']}")
    out.print(answer["note"])


@handles_errors
def explain(
    image: Annotated[str, typer.Argument(help="The image, e.g. ghcr.io/team-a/shop:1.2")],
    pipeline: Annotated[str, typer.Option(help="The pipeline")],
    phase: Annotated[PhaseName, typer.Option(help="The phase")],
    output: OutputOption = Format.TABLE, as_json: JsonOption = False, profile: Profile = None,
) -> None:
    """Which credentials the kubelet will try for IMAGE in a phase, in order, and why."""
    fmt = chosen(output, as_json)
    with api_client(profile) as api, option_names(_READ):
        answer = api.request("GET", f"/api/v1/pipelines/{pipeline}/phases/{phase.value}/explain",
                             params={"image": image})
    emit(answer, fmt, lambda: _explain_lines(answer))
