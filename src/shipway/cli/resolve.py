"""``shipway resolve``: the effective credentials of each phase, from local YAML files."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.files import read_input
from shipway.cli.output import Format, JsonOption, OutputOption, chosen, console, emit, print_table, table
from shipway.core.documents import Bundle, add_documents
from shipway.core.errors import InvalidInput
from shipway.core.inputs import pipeline_inputs, secrets_read_by
from shipway.core.reports import phase_view
from shipway.core.resources import PhaseName


def resolve_files(files: list[str], *, phase: PhaseName | None) -> list[dict[str, Any]]:
    bundle = Bundle()
    for name in files:
        add_documents(bundle, read_input(name), where=name)
    if not bundle.pipelines:
        raise InvalidInput("no Pipeline found in the files given", field="FILE")
    platform = bundle.platform.spec if bundle.platform else None
    views = []
    for pipeline in bundle.pipelines:
        # The same checks as the operator's; namespaces are taken as not created yet (files hold none).
        inputs = pipeline_inputs(pipeline, platform=platform, namespaces={},
                                 secrets={ref: bundle.secrets.get(ref) for ref in secrets_read_by(pipeline, platform)})
        for resolution in inputs.resolve():
            if phase is None or resolution.phase.name == phase:
                views.append(phase_view(resolution))
    if phase is not None and not views:
        raise InvalidInput(f"no enabled phase {phase.value!r} in the pipelines given", field="--phase")
    return views


def _print_tables(views: list[dict[str, Any]]) -> None:
    out = console()
    for view in views:
        rows = table("use", "registry", "layer", "source", "grants", "fingerprint")
        for entry in view["pull"]:
            rows.add_row("pull", entry["registry"], entry["source"], entry["secretRef"]["namespace"] + "/"
                          + entry["secretRef"]["name"], ",".join(entry["usage"]), entry["fingerprint"])
        push = view["push"]
        if push:
            rows.add_row("push", push["registry"], push["source"], push["secretRef"]["namespace"] + "/"
                          + push["secretRef"]["name"], ",".join(push["usage"]), push["fingerprint"])
        print_table(out, f"{view['pipeline']} / {view['phase']}  (namespace {view['namespace']})", rows)
        out.print(f"push repository: {view['pushRepository'] or '(none)'}; pull set {view['pullFingerprint']}")
        for finding in view["findings"]:
            out.print(f"finding {finding['reason']}: {finding['message']}")
        out.print()


@handles_errors
def resolve(
    files: Annotated[list[str], typer.Argument(
        help="YAML/JSON files holding a Platform, Pipelines and the Secrets they reference; '-' is stdin")],
    phase: Annotated[PhaseName | None, typer.Option(help="Show only this phase")] = None,
    output: OutputOption = Format.TABLE, as_json: JsonOption = False,
) -> None:
    """Resolve the layered credentials of each phase and print them with provenance and fingerprints."""
    fmt = chosen(output, as_json)
    views = resolve_files(files, phase=phase)
    emit(views, fmt, lambda: _print_tables(views))
