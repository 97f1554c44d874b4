"""``shipway dockerconfig``: docker configs as the kubelet reads them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.files import read_input
from shipway.cli.output import Format, JsonOption, OutputOption, chosen, emit
from shipway.core.documents import docker_configs_of_document
from shipway.core.images import parse_image
from shipway.core.keyring import Keyring

app = typer.Typer(help="Inspect docker configs the way the kubelet reads them.", no_args_is_help=True)


@app.command("match")
@handles_errors
def match(
    image: Annotated[str, typer.Argument(help="The image reference, e.g. nginx:1.27 or quay.io/org/app")],
    config_files: Annotated[list[str], typer.Argument(
        help="Docker configs or Secret manifests, taken together as one pod's pull secrets; '-' is stdin")],
    output: OutputOption = Format.TABLE, as_json: JsonOption = False,
) -> None:
    """Print every auths key that matches IMAGE, in the kubelet's try order (one a line with -o table);
    exit 1 when none matches."""
    fmt = chosen(output, as_json)
    ref = parse_image(image)
    configs = [c for name in config_files for c in docker_configs_of_document(read_input(name), where=name)]
    matches = Keyring(config.entries for config in configs).lookup(ref)
    document = {
        "image": ref.name,
        "matches": [{"key": m.entry.key, "indexKey": m.index_key, "fallback": m.fallback} for m in matches],
    }
    emit(document, fmt, lambda: typer.echo("".join(m.entry.key + "\n" for m in matches), nl=False))
    if not matches:
        if fmt is Format.TABLE:
            sys.stderr.write(f"no auths key matches {ref.name}\n")
        raise typer.Exit(1)  # README: exit 1, a check that ran and failed (here: no key matches)
