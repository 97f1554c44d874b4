"""``shipway dockerconfig``: docker configs as the kubelet reads them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipway.cli.errors import handles_errors
from shipway.cli.files import read_input
from shipway.cli.output import print_json
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Print every auths key that matches IMAGE, in the kubelet's try order; exit 1 when none matches."""
    ref = parse_image(image)
    configs = [c for name in config_files for c in docker_configs_of_document(read_input(name), where=name)]
    matches = Keyring(config.entries for config in configs).lookup(ref)
    if as_json:
        print_json({
            "image": ref.name,
            "matches": [{"key": m.entry.key, "indexKey": m.index_key, "fallback": m.fallback} for m in matches],
        })
    else:
        for m in matches:
            sys.stdout.write(m.entry.key + "\n")
    if not matches:
        if not as_json:
            sys.stderr.write(f"no auths key matches {ref.name}\n")
        raise typer.Exit(1)
