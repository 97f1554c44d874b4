"""``shipway manifests``: the install YAML (CRDs, roles, Deployments), or only the CRDs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import yaml

from shipway.core.crds import custom_resource_definitions
from shipway.core.install import DEFAULT_IMAGE, install_manifests


def manifests(
    crds_only: Annotated[bool, typer.Option("--crds-only", help="Print only the CustomResourceDefinitions")] = False,
    image: Annotated[str, typer.Option(help="The image of the operator and API Deployments")] = DEFAULT_IMAGE,
) -> None:
    """Print the install manifests as YAML: CRDs, namespace, roles, the operator and the API."""
    documents = custom_resource_definitions() if crds_only else install_manifests(image=image)
    sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False))
