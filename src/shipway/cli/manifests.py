"""``shipway manifests``: the install YAML (CRDs, and what later parts of Shipway add)."""

from __future__ import annotations

import sys

import yaml

from shipway.core.crds import custom_resource_definitions


def manifests() -> None:
    """Print the install manifests (the CustomResourceDefinitions) as YAML."""
    sys.stdout.write(yaml.safe_dump_all(custom_resource_definitions(), sort_keys=False))
