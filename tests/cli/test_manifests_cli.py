"""``shipway manifests``, and the installed console script run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from shipway.core.crds import custom_resource_definitions
from tests.cli.conftest import Run
from tests.cli.helpers import CANARY, REPO, assert_clean, auths

SCRIPT = Path(sys.executable).parent / "shipway"


def test_manifests_crds_only_prints_the_two_crds_as_yaml(cli: Run) -> None:
    result = cli("manifests", "--crds-only")
    assert result.exit_code == 0 and result.stderr == ""
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["metadata"]["name"] for d in documents] == ["platforms.shipway.dev", "pipelines.shipway.dev"]
    assert all(d["kind"] == "CustomResourceDefinition" for d in documents)
    assert documents == custom_resource_definitions()


def test_the_full_install_manifests_parse_and_hold_the_two_crds(cli: Run) -> None:
    result = cli("manifests")
    assert result.exit_code == 0 and result.stderr == ""
    documents = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    assert all(isinstance(d, dict) and d.get("kind") and d.get("metadata") for d in documents)
    shipway_crds = [d for d in documents
                    if d["kind"] == "CustomResourceDefinition" and d["spec"]["group"] == "shipway.dev"]
    assert shipway_crds == custom_resource_definitions()


def test_no_arguments_prints_help(cli: Run) -> None:
    result = cli()
    assert "manifests" in result.stdout + result.stderr
    assert "dockerconfig" in result.stdout + result.stderr


def run_script(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([str(SCRIPT), *args], input=input.decode() if input else None, capture_output=True,
                               text=True, cwd=REPO, timeout=60, check=False)
    assert_clean(completed.stdout, completed.stderr)
    return completed


def test_the_console_script_matches_reads_stdin_and_reports_errors_in_one_line(tmp_path: Path) -> None:
    assert SCRIPT.is_file()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(auths("quay.io", "quay.io/org")))
    matched = run_script("dockerconfig", "match", "quay.io/org/app", str(config), "-",
                         input=json.dumps(auths("https://quay.io/")).encode())
    assert (matched.returncode, matched.stdout, matched.stderr) == (0, "quay.io/org\nquay.io\nhttps://quay.io/\n", "")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"auths": {"quay.io": {"identitytoken": CANARY}}}))
    failed = run_script("dockerconfig", "match", "quay.io/app", str(bad))
    assert (failed.returncode, failed.stdout) == (2, "")
    assert failed.stderr == (f"error: {bad}.auths[quay.io].identitytoken: identitytoken is ignored by the kubelet: "
                             "the pull would fail silently; use username and password\n")


