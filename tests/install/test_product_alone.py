"""The product runs without the sandbox distribution: the operator, the API and the manifests import neither
kmock nor aiohttp nor anything of shipway_sandbox (they are made unimportable in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCKED = ("shipway_sandbox", "kmock", "aiohttp", "celpy", "jsonpatch")

RUNNER = textwrap.dedent('''
    import importlib.abc, sys
    BLOCKED = {blocked!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked: {{name}}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    sys.argv = ["shipway", *{args!r}]
    from shipway.cli.main import build_app
    try:
        build_app()(standalone_mode=False)
    finally:
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        print("LOADED:", loaded, file=sys.stderr)
''')


def run_blocked(*args: str) -> subprocess.CompletedProcess[str]:
    code = RUNNER.format(blocked=BLOCKED, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("args", [("operator", "run", "--help"), ("api", "run", "--help"), ("manifests",),
                                  ("resolve", "--help")])
def test_the_product_commands_work_without_the_sandbox(args: tuple[str, ...]) -> None:
    result = run_blocked(*args)
    assert result.returncode == 0, result.stderr
    assert "LOADED: []" in result.stderr
    assert "Usage" in result.stdout or "CustomResourceDefinition" in result.stdout


def test_without_the_sandbox_its_command_is_reported_unavailable_and_the_rest_works() -> None:
    result = run_blocked("--help")
    assert result.returncode == 0, result.stderr
    assert "the command 'sandbox' is unavailable: ImportError" in result.stderr
    assert "operator" in result.stdout and "sandbox" not in result.stdout.split("Commands", 1)[-1]


def test_with_the_sandbox_installed_its_command_is_there() -> None:
    shipway = Path(sys.executable).parent / "shipway"  # the console script of the installed distribution
    result = subprocess.run([str(shipway), "sandbox", "--help"], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "up" in result.stdout
