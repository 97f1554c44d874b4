"""The one place where errors become exit codes and one-line messages on stderr.

Exit codes, one per class of error (README, "Command line"): 2 bad input, 3 not found, 4 conflict,
5 forbidden or unauthenticated, 6 upstream failure, 7 too many requests. 1 is kept for a check that ran and
failed (``registry verify``, ``dockerconfig match``) and for an operating-system error (a file that cannot
be read or written).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer

from shipway.core import errors
from shipway.core.secrets import redact_text

P = ParamSpec("P")
R = TypeVar("R")

# Most specific first: the first isinstance match wins.
EXIT_CODES: tuple[tuple[type[errors.ShipwayError], int], ...] = (
    (errors.InvalidInput, 2),
    (errors.NotFound, 3),
    (errors.Conflict, 4),
    (errors.Unauthenticated, 5),
    (errors.Forbidden, 5),
    (errors.TooManyRequests, 7),
    (errors.UpstreamError, 6),
    (errors.ShipwayError, 1),
)


def exit_code_for(error: errors.ShipwayError) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


def fail(message: str, *, code: int) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    sys.stderr.write(f"error: {redact_text(message)}\n")
    return typer.Exit(code)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ShipwayError (and stray OS errors) into one line on stderr and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.ShipwayError as error:
            raise fail(str(error), code=exit_code_for(error)) from None
        except OSError as error:
            raise fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "), code=1) from None

    wrapper.handles_errors = True  # type: ignore[attr-defined]  # checked by the tests, for every command
    return wrapper


_LEADING_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z][A-Za-z0-9_]*)*): (.+)$", re.S)


@contextmanager
def option_names(rename: Callable[[str], str | None]) -> Iterator[None]:
    """Name the option the user typed in an error about a field the CLI sent for it.

    The API names the fields of its request bodies (``secretRef``, ``push.registry``,
    ``phases[1].namespace``); ``rename`` maps such a field to the option the user typed (``--secret``,
    ``--push-registry``, ``--phase production=ns``), or returns None to keep it as it is.
    """
    try:
        yield
    except errors.ShipwayError as error:
        inner = _LEADING_FIELD.match(error.message)  # "phases[1].name: listed twice", from a list's validator
        if inner and rename(inner[1]):
            error.field, error.message = rename(inner[1]), inner[2]
        elif error.field:
            error.field = rename(error.field) or error.field
        error.args = (str(error),)
        raise


def field_renamer(options: dict[str, str]) -> Callable[[str], str | None]:
    """A ``rename`` for :func:`option_names`: a body field, or anything below it (``field.x``,
    ``field[0]``), becomes its option; the longest field that fits wins."""
    ordered = sorted(options.items(), key=lambda item: -len(item[0]))

    def rename(field: str) -> str | None:
        for name, option in ordered:
            if field == name or field.startswith((name + ".", name + "[")):
                return option
        return None

    return rename
