"""Output helpers: ``-o table|json|yaml`` on every read command; JSON and YAML for scripts, tables for people.

Tables never lose a character: every column folds instead of cutting with an ellipsis, and when stdout is
not a terminal (a pipe, a file) nothing is folded or wrapped at all, so a fingerprint is always whole on one
line for ``grep`` and friends. Titles are printed as lines of their own, never wrapped to a table's width.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from shipway.core.errors import InvalidInput

# When stdout is not a terminal: wide enough that no table or line is ever folded.
_PIPED_WIDTH = 100_000


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


OutputOption = Annotated[Format, typer.Option(
    "--output", "-o", case_sensitive=False,
    help="table (for people), json or yaml (for scripts; the two hold the same document)")]
JsonOption = Annotated[bool, typer.Option("--json", help="The same as -o json (kept for existing scripts)")]


def chosen(output: Format, as_json: bool = False) -> Format:
    """The format asked for by ``-o`` and the older ``--json`` flag together."""
    if as_json:
        if output is Format.YAML:
            raise InvalidInput("asks for JSON while -o asks for yaml: give one of them", field="--json")
        return Format.JSON
    return output


def print_json(value: Any) -> None:
    """Shipway's own JSON output: built from secret-free views, so printed as is (masking values here
    would corrupt keys and hosts that happen to equal a password)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


def print_yaml(value: Any) -> None:
    """The same document as :func:`print_json`, as YAML (block style, keys in the API's order)."""
    sys.stdout.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False))


def emit(value: Any, output: Format, table: Callable[[], None]) -> None:
    """Print ``value`` as JSON or YAML, or call ``table`` to print it for people."""
    if output is Format.JSON:
        print_json(value)
    elif output is Format.YAML:
        print_yaml(value)
    else:
        table()


def is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: not a terminal
        return False


def console() -> Console:
    """A console on stdout: the terminal's width when it is one (tables fold there), unbounded otherwise.
    No markup: what is printed (keys, messages, registry answers) is shown as it is, brackets included."""
    if is_terminal():
        return Console(highlight=False, markup=False)
    return Console(highlight=False, markup=False, width=_PIPED_WIDTH, soft_wrap=True)


def table(*columns: str) -> Table:
    """A table whose cells fold rather than being cut: no character is ever replaced by an ellipsis."""
    out = Table()
    for column in columns:
        out.add_column(column, overflow="fold")
    return out


def print_table(out: Console, title: str | None, body: Table) -> None:
    """A title on a line of its own (never wrapped to the table's width), then the table."""
    if title is not None:
        out.print(title, soft_wrap=True)
    out.print(body)
