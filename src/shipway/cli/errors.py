"""The one place where errors become exit codes and one-line messages on stderr."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
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

    return wrapper
