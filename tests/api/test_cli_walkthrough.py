"""The CLI as a new user runs it against the sandbox: ``.venv/bin/shipway`` in a subprocess, with a config
file of its own (``SHIPWAY_CONFIG``). team-a logs in with a token on stdin, creates its pipeline, sets a
credential with the password on stdin, looks at the effective view, explains an image, lists, gets and
deletes. Every invocation's output is kept for the module's canary scan and must hold no traceback.

The tests share the module's sandbox and run in file order, each building on the state the ones before
left, as a user's session would."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shipway import __version__

from .helpers import SHIPWAY, SYSTEM_NAMESPACE, UNREACHABLE_REGISTRY, Kube, Sandbox

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("new-user")


@pytest.fixture(scope="module")
def config(home: Path) -> Path:
    return home / "shipway" / "config.yaml"


@pytest.fixture(scope="module")
def shipway(sandbox: Sandbox, home: Path, config: Path) -> Run:
    def run(*args: str, stdin: str = "", config_file: Path | None = None, profile: str | None = None,
            columns: int = 200) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
        env.update({"SHIPWAY_CONFIG": str(config_file or config), "HOME": str(home), "COLUMNS": str(columns),
                    "NO_COLOR": "1"})
        if profile:
            env["SHIPWAY_PROFILE"] = profile
        result = subprocess.run([SHIPWAY, *args], input=stdin, capture_output=True, text=True, env=env, cwd=home,
                                timeout=60)
        sandbox.record_text(f"shipway {' '.join(args)} (stdout)", result.stdout)
        sandbox.record_text(f"shipway {' '.join(args)} (stderr)", result.stderr)
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    return run


@pytest.fixture(scope="module", autouse=True)
def blog(team_b: httpx.Client) -> None:
    """team-b's pipeline, which team-a must not see."""
    response = team_b.post("/api/v1/pipelines", json={"name": "blog", "phases": [{"name": "stage"}]})
    assert response.status_code == 201, response.text


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


def test_a_bad_token_is_refused_in_one_line_and_no_config_is_written(
        sandbox: Sandbox, shipway: Run, home: Path) -> None:
    elsewhere = home / "elsewhere" / "config.yaml"
    result = shipway("login", sandbox.api_url, stdin="not-a-token\n", config_file=elsewhere)
    assert "not accepted" in _one_line_error(result, 5)
    assert not elsewhere.exists()


def test_login_reads_the_token_from_stdin_and_stores_it_in_a_file_only_the_user_may_read(
        sandbox: Sandbox, shipway: Run, config: Path) -> None:
    token = sandbox.tokens["team-a"]
    result = shipway("login", sandbox.api_url, stdin=token + "\n")
    assert result.returncode == 0, result.stderr
    assert "logged in" in result.stdout
    assert token not in result.stdout + result.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    stored = yaml.safe_load(config.read_text())
    assert stored["current"] == "default"
    assert stored["profiles"]["default"] == {"url": sandbox.api_url, "token": token}


def test_pipeline_create_makes_the_pipeline_with_its_phases_and_push_target(shipway: Run, kube: Kube) -> None:
    result = shipway("pipeline", "create", "shop", "--phase", "stage", "--phase", "production",
                     "--push-registry", "ghcr.io", "--push-prefix", "team-a/shop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pipeline shop created"
    stored = kube.pipeline("shop")
    assert stored is not None
    assert [p["name"] for p in stored["spec"]["phases"]] == ["stage", "production"]
    assert stored["spec"]["registry"]["push"] == {"registry": "ghcr.io", "repositoryPrefix": "team-a/shop"}


def test_a_password_is_never_accepted_as_a_flag_value(sandbox: Sandbox, shipway: Run, kube: Kube) -> None:
    password = sandbox.canary("flag")
    result = shipway("registry", "set", "--pipeline", "shop", "--registry", "ghcr.io/team-a", "--username", "bot",
                     "--password", password)
    assert result.returncode == 2
    assert "--password" in result.stderr
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    assert not pipeline["spec"]["registry"].get("credentials")


def test_registry_set_without_password_stdin_refuses_a_piped_password(
        sandbox: Sandbox, shipway: Run, kube: Kube) -> None:
    result = shipway("registry", "set", "--pipeline", "shop", "--registry", "ghcr.io/team-a", "--username", "bot",
                     stdin=sandbox.canary("piped") + "\n")
    assert "--password-stdin" in _one_line_error(result, 2)
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    assert not pipeline["spec"]["registry"].get("credentials")


@pytest.fixture(scope="module")
def set_output(sandbox: Sandbox, shipway: Run) -> dict[str, Any]:
    password = sandbox.canary("cli")
    result = shipway("registry", "set", "--pipeline", "shop", "--registry", "ghcr.io/team-a", "--username", "bot",
                     "--password-stdin", "--usage", "pull", "--usage", "push", stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"pipeline layer: Secret (\S+)/(\S+) for ghcr\.io/team-a: none -> (sha256:[0-9a-f]{16})",
                         result.stdout.strip())
    assert match, result.stdout
    return {"password": password, "namespace": match[1], "name": match[2], "fingerprint": match[3]}


def test_registry_set_reads_the_password_from_stdin_into_a_managed_secret(
        set_output: dict[str, Any], kube: Kube) -> None:
    assert set_output["namespace"] == SYSTEM_NAMESPACE
    secret = kube.secret(set_output["namespace"], set_output["name"])
    assert secret is not None
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "shipway-api"
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    assert pipeline["spec"]["registry"]["credentials"] == [{
        "secretRef": {"namespace": set_output["namespace"], "name": set_output["name"]}, "usage": ["pull", "push"]}]


def test_registry_show_prints_the_effective_view_per_phase(set_output: dict[str, Any], shipway: Run) -> None:
    result = shipway("registry", "show", "--pipeline", "shop")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "shop / stage (namespace shop-stage)" in out
    assert "shop / production (namespace shop-production)" in out
    rows = [line for line in out.splitlines() if "ghcr.io/team-a" in line and line.startswith("│")]
    assert len(rows) == 4  # pull and push, in each of the two phases
    assert sum(line.lstrip("│ ").startswith("push") for line in rows) == 2
    for row in rows:
        assert "pipeline" in row
        assert set_output["fingerprint"] in row
        assert f"{set_output['namespace']}/{set_output['name']}" in row


def test_registry_explain_shows_the_kubelet_try_order(set_output: dict[str, Any], shipway: Run) -> None:
    result = shipway("registry", "explain", "ghcr.io/team-a/shop:1.0", "--pipeline", "shop", "--phase", "production")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ghcr.io/team-a/shop:1.0 → ghcr.io/team-a/shop"
    assert lines[1].startswith(f"  1. ghcr.io/team-a  (pipeline layer, {set_output['namespace']}/"
                               f"{set_output['name']}, {set_output['fingerprint']}): key 'ghcr.io/team-a' matches")
    assert "in order" in lines[-1]


def test_registry_verify_through_the_api_reports_an_unreachable_registry_and_exits_1(
        sandbox: Sandbox, shipway: Run) -> None:
    set_ = shipway("registry", "set", "--pipeline", "shop", "--phase", "stage", "--registry", UNREACHABLE_REGISTRY,
                   "--username", "checker", "--password-stdin", stdin=sandbox.canary("cliverify") + "\n")
    assert set_.returncode == 0, set_.stderr
    assert set_.stdout.startswith("phase layer: Secret shipway-system/shipway-phase-shop-stage-")
    result = shipway("registry", "verify", "--pipeline", "shop", "--phase", "stage", "--registry",
                     UNREACHABLE_REGISTRY, "--no-push", "-o", "json")
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert answer["valid"] == {"ok": False, "outcome": "Unreachable"}
    assert (answer["pipeline"], answer["phase"], answer["source"]) == ("shop", "stage", "phase")


def test_pipeline_list_shows_only_the_teams_pipelines(shipway: Run) -> None:
    table = shipway("pipeline", "list")
    assert table.returncode == 0, table.stderr
    assert re.search(r"\bshop\b.*stage,production.*ghcr\.io/team-a/shop", table.stdout)
    assert "blog" not in table.stdout


def test_the_sandbox_profile_is_the_admin_who_sees_every_pipeline(sandbox: Sandbox, shipway: Run) -> None:
    listed = shipway("pipeline", "list", "--json", config_file=sandbox.state_dir / "cli-config.yaml",
                     profile="sandbox")
    assert listed.returncode == 0, listed.stderr
    assert {p["name"] for p in json.loads(listed.stdout)} == {"shop", "blog"}


def test_pipeline_get_shows_phases_and_the_layers_references(set_output: dict[str, Any], shipway: Run) -> None:
    result = shipway("pipeline", "get", "shop")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("pipeline shop  inherit=true")
    assert (f"  pipeline layer: {set_output['namespace']}/{set_output['name']} usage=pull,push (managed)"
            in out.splitlines())
    assert "  phase stage → namespace shop-stage" in out
    assert "  phase production → namespace shop-production" in out


def test_another_teams_pipeline_is_a_one_line_error_with_exit_5(shipway: Run) -> None:
    line = _one_line_error(shipway("pipeline", "get", "blog"), 5)
    assert "team-a" in line
    assert "blog" in line


def test_bad_input_is_a_one_line_error_with_exit_2_naming_the_field(shipway: Run, kube: Kube) -> None:
    line = _one_line_error(shipway("pipeline", "create", "Bad_Name", "--phase", "stage"), 2)
    assert line.startswith("error: NAME: ")  # the argument as the help names it, not the API's body field
    assert kube.pipeline("Bad_Name") is None


def test_pipeline_delete_deletes_it_and_its_managed_secrets(
        set_output: dict[str, Any], shipway: Run, kube: Kube) -> None:
    result = shipway("pipeline", "delete", "shop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pipeline shop deleted"
    assert kube.pipeline("shop") is None
    kube.wait_for("the managed Secret to be collected",
                  lambda: kube.secret(set_output["namespace"], set_output["name"]) is None)


# Issue 12: --version, pipeline update, -o json|yaml, whole fingerprints when piped. On team-a's other
# pipeline (the sandbox lets it manage shop and cart only), after shop is gone.


def test_version_prints_the_package_version(shipway: Run) -> None:
    result = shipway("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"shipway {__version__}\n", "")


def test_pipeline_update_help_lists_its_options(shipway: Run) -> None:
    result = shipway("pipeline", "update", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--phase", "--inherit", "--no-inherit", "--reclaim-policy", "--push-registry", "--push-prefix",
                   "--no-push", "--output"):
        assert option in result.stdout, option
    assert "<bool>" not in result.stdout


@pytest.fixture(scope="module")
def cart(shipway: Run, kube: Kube) -> str:
    result = shipway("pipeline", "create", "cart", "--phase", "stage", "--phase", "production",
                     "--reclaim-policy", "Retain")
    assert (result.returncode, result.stdout) == (0, "pipeline cart created\n"), result.stderr
    stored = kube.pipeline("cart")
    assert stored is not None and stored["spec"]["reclaimPolicy"] == "Retain"
    return "cart"


def test_pipeline_update_changes_phases_inherit_and_reclaim_policy(cart: str, shipway: Run, kube: Kube) -> None:
    result = shipway("pipeline", "update", cart, "--phase", "review", "--phase", "stage", "--phase", "production",
                     "--no-inherit", "--reclaim-policy", "Delete")
    assert (result.returncode, result.stdout) == (0, "pipeline cart updated\n"), result.stderr
    stored = kube.pipeline(cart)
    assert stored is not None
    assert [p["name"] for p in stored["spec"]["phases"]] == ["review", "stage", "production"]
    assert stored["spec"]["registry"]["inherit"] is False
    assert stored["spec"]["reclaimPolicy"] == "Delete"
    # only what is given changes: inherit back, the phases and the reclaim policy stay
    again = shipway("pipeline", "update", cart, "--inherit", "-o", "json")
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert (answer["inherit"], answer["reclaimPolicy"]) == (True, "Delete")
    assert [p["name"] for p in answer["phases"]] == ["review", "stage", "production"]
    got = json.loads(shipway("pipeline", "get", cart, "-o", "json").stdout)
    assert got == {**answer, "conditions": got["conditions"]}


def test_pipeline_update_errors_come_from_the_api_as_one_line_naming_the_option(
        cart: str, shipway: Run, kube: Kube) -> None:
    before = kube.pipeline(cart)
    assert before is not None
    line = _one_line_error(shipway("pipeline", "update", cart, "--phase", "stage=Bad_NS"), 2)
    assert line.startswith("error: --phase stage=Bad_NS: "), line
    line = _one_line_error(shipway("pipeline", "update", cart, "--phase", "stage=blog-stage"), 5)
    assert line.startswith("error: --phase stage=blog-stage: "), line  # team-b's namespace
    line = _one_line_error(shipway("pipeline", "update", cart, "--phase", "stage", "--phase", "stage"), 2)
    assert line == "error: --phase stage: phase 'stage' is listed twice"
    line = _one_line_error(shipway("pipeline", "update", cart, "--push-registry", "https://ghcr.io",
                                   "--push-prefix", "x"), 2)
    assert line.startswith("error: --push-registry: "), line
    line = _one_line_error(shipway("pipeline", "update", "blog", "--no-inherit"), 5)
    assert "may not get" in line and "'blog'" in line
    line = _one_line_error(shipway("pipeline", "create", cart, "--phase", "stage"), 4)
    assert "already exists" in line
    after = kube.pipeline(cart)
    assert after is not None and after["spec"] == before["spec"]
    blog = kube.pipeline("blog")
    assert blog is not None and blog["spec"]["registry"].get("inherit", True) is True


@pytest.fixture(scope="module")
def cart_credential(sandbox: Sandbox, cart: str, shipway: Run) -> str:
    result = shipway("registry", "set", "--pipeline", cart, "--registry", "ghcr.io/team-a", "--username", "bot",
                     "--password-stdin", "--usage", "pull", "--usage", "push", stdin=sandbox.canary("cart") + "\n")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]


def test_piped_registry_show_keeps_every_fingerprint_whole(
        cart: str, cart_credential: str, shipway: Run, team_a: httpx.Client) -> None:
    effective = team_a.get(f"/api/v1/pipelines/{cart}/effective")
    assert effective.status_code == 200, effective.text
    expected = {e["fingerprint"] for phase in effective.json()["phases"]
                for e in [*phase["pull"], *([phase["push"]] if phase["push"] else [])]}
    assert cart_credential in expected and len(expected) >= 2  # the team's and the platform's
    for columns in (40, 200):
        out = shipway("registry", "show", "--pipeline", cart, columns=columns).stdout
        assert "…" not in out
        assert out.count("sha256:") == len(re.findall(r"sha256:[0-9a-f]{16}(?![0-9a-f])", out))
        assert set(re.findall(r"sha256:[0-9a-f]{16}", out)) >= expected
        rows = [line for line in out.splitlines() if line.startswith("│")]
        assert {line.strip("│ ").split()[0] for line in rows} == {"pull", "push"}


def _untimed(document: Any) -> Any:
    """A document without the time a registry check ran (two checks differ there only)."""
    if isinstance(document, dict):
        return {k: _untimed(v) for k, v in document.items() if k != "checkedAt"}
    return document


def _registry_url(sandbox: Sandbox) -> str:
    return (sandbox.state_dir / "registry-url").read_text().strip()


@pytest.mark.parametrize("command", ["pipeline list", "pipeline get", "registry show", "registry explain",
                                     "registry verify"])
def test_every_read_command_prints_the_same_document_as_json_and_yaml(
        sandbox: Sandbox, cart: str, cart_credential: str, shipway: Run, command: str) -> None:
    args = {"pipeline list": ["pipeline", "list"], "pipeline get": ["pipeline", "get", cart],
            "registry show": ["registry", "show", "--pipeline", cart],
            "registry explain": ["registry", "explain", "ghcr.io/team-a/cart:1.0", "--pipeline", cart, "--phase",
                                 "stage"],
            "registry verify": ["registry", "verify", "--pipeline", cart, "--phase", "stage", "--registry",
                                _registry_url(sandbox), "--repository", "apps/hello", "--no-push"]}[command]
    for _ in range(10):  # the operator may change a pipeline's conditions between two reads: read again
        as_json = shipway(*args, "-o", "json")
        as_yaml = shipway(*args, "-o", "yaml")
        assert as_json.returncode == as_yaml.returncode == 0, as_json.stderr + as_yaml.stderr
        document = json.loads(as_json.stdout)
        if _untimed(document) == _untimed(yaml.safe_load(as_yaml.stdout)):
            break
        time.sleep(0.5)
    assert document and _untimed(document) == _untimed(yaml.safe_load(as_yaml.stdout))
    assert _untimed(json.loads(shipway(*args, "--json").stdout)) == _untimed(document)
    table = shipway(*args)
    assert table.returncode == 0 and table.stdout.strip()
