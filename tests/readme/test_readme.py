"""The README's walkthroughs, run as written: every shell block marked ``<!-- README test: NAME -->`` runs
with bash (``set -euo pipefail``) in a fresh directory holding ``examples/``, ``.venv`` and a sandbox
started as ``make run`` starts it (state in ``.shipway/sandbox``), so the README cannot drift from the
product. Also: one sandbox per state directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPWAY = str(Path(sys.executable).parent / "shipway")
MARKER = re.compile(r"<!-- README test: (?P<name>[^>]+?) -->\s*```sh\n(?P<body>.*?)```", re.S)


def blocks() -> dict[str, str]:
    return {m["name"]: m["body"] for m in MARKER.finditer((REPO / "README.md").read_text())}


def _wait_up(process: subprocess.Popen[bytes], state: Path, log: Path) -> None:
    deadline = time.monotonic() + 90
    while not (state / "api-url").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the sandbox did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new user's checkout: examples/ and .venv, and ``shipway sandbox up`` running in it."""
    work = tmp_path_factory.mktemp("readme")
    (work / "examples").symlink_to(REPO / "examples")
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    log = work / "sandbox.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    with log.open("wb") as out:
        process = subprocess.Popen([SHIPWAY, "sandbox", "up"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_up(process, work / ".shipway" / "sandbox", log)
        yield work
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_block(workdir: Path, name: str) -> subprocess.CompletedProcess[str]:
    body = blocks()[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + body], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_readme_marks_its_walkthroughs() -> None:
    assert set(blocks()) == {"kubectl walkthrough", "pull with the delivered secret", "CLI walkthrough"}


def test_the_kubectl_walkthrough_runs_as_written(workdir: Path) -> None:
    result = run_block(workdir, "kubectl walkthrough")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipeline.shipway.dev/shop created" in result.stdout
    assert "shop-stage shop-production" in result.stdout


def test_the_delivered_secret_pulls_the_demo_image_and_the_platform_credential_is_verified(workdir: Path) -> None:
    result = run_block(workdir, "pull with the delivered secret")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"Digest"' in result.stdout or '"digest"' in result.stdout.lower()
    assert result.stdout.strip().endswith("True")


def test_the_cli_walkthrough_runs_as_written(workdir: Path) -> None:
    result = run_block(workdir, "CLI walkthrough")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipeline cart created" in result.stdout
    assert "may not get" in result.stderr  # the last line: team-a may not see team-b's pipeline


def test_a_second_sandbox_on_the_same_state_directory_refuses_and_leaves_the_first_alone(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    before = (workdir / ".shipway" / "sandbox" / "api-url").read_text()
    second = subprocess.run([SHIPWAY, "sandbox", "up"], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert second.returncode == 4, second.stdout + second.stderr
    assert "already running in .shipway/sandbox" in second.stderr
    assert (workdir / ".shipway" / "sandbox" / "api-url").read_text() == before
    assert run_block(workdir, "kubectl walkthrough").returncode == 0  # the first one still answers
