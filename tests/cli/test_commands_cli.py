"""Every command of the ``shipway`` tree: ``--version``, help that shows flags as flags (no ``<bool>``), and
errors turned into exit codes in one place (``handles_errors``) whatever the command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway import __version__
from tests.cli.conftest import Run

SCRIPT = Path(sys.executable).parent / "shipway"


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, click command) for the root, every group and every command below it."""
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from commands(sub, (*path, name))


def test_version_prints_the_package_version_and_exits_0(cli: Run) -> None:
    result = cli("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"shipway {__version__}\n", "")


def test_version_from_the_installed_script() -> None:
    result = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"shipway {__version__}\n", "")


def test_the_tree_holds_the_commands_of_the_readme(command: Any) -> None:
    paths = {" ".join(path) for path, _ in commands(command)}
    assert {"pipeline create", "pipeline update", "pipeline list", "pipeline get", "pipeline delete",
            "registry show", "registry explain", "registry verify", "resolve", "dockerconfig match"} <= paths


def test_no_help_shows_a_bool_metavar_and_flags_take_no_value(cli: Run, command: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    seen = 0
    for path, _ in commands(command):
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        assert "<bool>" not in result.stdout, (path, [line for line in result.stdout.splitlines() if "<bool>" in line])
        assert "bool" not in result.stdout.lower().replace("boolean", ""), path
        seen += 1
    assert seen > 20


def test_every_boolean_option_is_a_flag(command: Any) -> None:
    for path, cmd in commands(command):
        for param in getattr(cmd, "params", []):
            if param.type_descriptor.annotation is bool:
                assert param.is_flag, (path, param.name)


def test_every_command_turns_errors_into_exit_codes_in_one_place(command: Any) -> None:
    leaves = [(path, cmd) for path, cmd in commands(command) if not getattr(cmd, "commands", None)]
    assert leaves
    for path, cmd in leaves:
        assert getattr(cmd.callback, "handles_errors", False), f"shipway {' '.join(path)} lacks @handles_errors"


def test_pipeline_update_help_names_every_option(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli("pipeline", "update", "--help")
    assert result.exit_code == 0
    for option in ("--phase", "NAME[=NAMESPACE]", "--inherit", "--no-inherit", "--reclaim-policy", "Retain|Delete",
                   "--push-registry", "--push-prefix", "--no-push", "--output", "-o", "table|json|yaml"):
        assert option in result.stdout, option
    create = cli("pipeline", "create", "--help")
    assert "--reclaim-policy" in create.stdout and "NAME[=NAMESPACE]" in create.stdout


def test_every_command_with_json_output_takes_o_too(command: Any) -> None:
    read = {"pipeline list", "pipeline get", "registry show", "registry explain", "registry verify", "resolve",
            "dockerconfig match"}
    with_output = set()
    for path, cmd in commands(command):
        options = {opt for param in getattr(cmd, "params", []) for opt in getattr(param, "opts", [])}
        if "--output" in options:
            assert "-o" in options, path
            with_output.add(" ".join(path))
        if "--json" in options:
            assert "--output" in options, f"shipway {' '.join(path)} has --json but no -o"
    assert read <= with_output
