"""Output helpers: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def print_json(value: Any) -> None:
    """Shipway's own JSON output: built from secret-free views, so printed as is (masking values here
    would corrupt keys and hosts that happen to equal a password)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


def console() -> Console:
    return Console(highlight=False, width=max(Console().width, 120))
