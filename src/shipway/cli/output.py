"""Output helpers: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from shipway.core.secrets import redact_text


def print_json(value: Any) -> None:
    sys.stdout.write(redact_text(json.dumps(value, indent=2, sort_keys=False)) + "\n")


def console() -> Console:
    return Console(highlight=False, width=max(Console().width, 120))
