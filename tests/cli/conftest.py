"""Fixtures of the CLI tests: the app through typer's CliRunner, and a writer of input files.

Every invocation through the ``cli`` fixture checks that the canary password never appears on stdout or
stderr and that no traceback is printed, whatever the command and whatever its exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import typer.testing
from typer.testing import CliRunner, Result

from shipway.cli.main import build_app
from shipway.core import secrets
from tests.cli.fake_api import fake_api  # noqa: F401 - the fixture, for the tests of commands that use the API
from tests.cli.helpers import REPO, assert_clean

Run = Callable[..., Result]


@pytest.fixture(scope="session")
def app() -> typer.Typer:
    return build_app()


@pytest.fixture(scope="session")
def command(app: typer.Typer) -> Any:
    """The click command typer builds from the app: built once, as it is the costly part of every invoke."""
    return typer.main.get_command(app)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, app: typer.Typer, command: Any) -> Run:
    monkeypatch.chdir(REPO)  # example paths are given relative to the repository, as a user would
    # typer's CliRunner rebuilds the click command of the whole app on every invoke; hand it the one built once.
    monkeypatch.setattr(typer.testing, "_get_command", lambda given: command if given is app else None)

    def run(*args: str, input: str | bytes | None = None) -> Result:
        # Each real invocation is a fresh process: start it with no secret values remembered by other tests.
        monkeypatch.setattr(secrets, "KNOWN_SECRETS", secrets._KnownSecrets())
        result = CliRunner().invoke(app, list(args), input=input)
        assert_clean(result.stdout, result.stderr)
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], str]:
    def write_file(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    return write_file
