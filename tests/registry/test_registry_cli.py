"""``shipway registry verify`` through typer's CliRunner, against the three real registry set-ups."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.registries import RegistryServer, write_authfile
from typer.testing import CliRunner

from shipway.cli.registry import app


def run(args: list[str], canary: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", *args], input=stdin)
    text = result.stdout + result.stderr
    assert canary not in text, "the password reached the CLI output"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, text


def test_htpasswd_registry_with_the_password_on_stdin(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, canary)
    base = ["--registry", htpasswd_registry.host, "--username", user, "--password-stdin"]
    code, text = run([*base, "--repository", "cli/app", "--json"], canary, stdin=canary + "\n")
    assert code == 0
    document = json.loads(text)
    assert document["valid"] == {"ok": True, "reason": None, "detail": None}
    assert document["can_pull"]["ok"] and document["can_push"]["ok"] and document["username"] == user
    code, text = run(base, canary, stdin="wrong-" + canary + "\n")
    assert code == 1 and "unauthorized" in text and "valid" in text


def test_tls_registry_needs_the_ca_file(
    tls_registry: RegistryServer, canary: str, new_user: Callable[[], str], tmp_path: Path
) -> None:
    user = new_user()
    tls_registry.add_user(user, canary)
    assert tls_registry.ca_file is not None
    config = write_authfile(tmp_path / "config.json", tls_registry.host, user, canary)
    base = ["--registry", tls_registry.host, "--config", str(config), "--json"]
    code, text = run([*base, "--ca-file", str(tls_registry.ca_file)], canary)
    assert code == 0 and json.loads(text)["valid"]["ok"]
    code, text = run(base, canary)
    assert code == 1 and json.loads(text)["valid"]["reason"] == "tls"


def test_token_registry_with_a_docker_config_and_a_pull_only_user(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], tmp_path: Path
) -> None:
    user = new_user()
    token_registry.add_user(user, canary, {"cli/pull-only": "pull"})
    config = write_authfile(tmp_path / "config.json", f"http://{token_registry.host}/v2/", user, canary)
    base = ["--registry", token_registry.host, "--config", str(config), "--repository", "cli/pull-only"]
    code, text = run([*base, "--json"], canary)
    document = json.loads(text)
    assert code == 1 and document["valid"]["ok"] and document["can_pull"]["ok"]
    assert document["can_push"]["reason"] == "denied"
    code, text = run([*base, "--no-push"], canary)  # the rich table for people
    assert code == 0 and "can pull" in text and "not checked" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--registry", "bad host!"], "registry"),
        (["--registry", "127.0.0.1:5000", "--username", "u"], "--password-stdin or --config"),
        (["--registry", "127.0.0.1:5000", "--password-stdin"], "--password-stdin needs --username"),
        (["--registry", "127.0.0.1:5000", "--repository", "Upper/Case"], "repository"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: list[str], message: str, canary: str) -> None:
    code, text = run(args, canary, stdin=canary)
    assert code == 2 and message in text and "Traceback" not in text


def test_a_config_without_an_entry_for_the_registry_is_not_found(canary: str, tmp_path: Path) -> None:
    config = write_authfile(tmp_path / "config.json", "other.example.com", "u", canary)
    code, text = run(["--registry", "127.0.0.1:5000", "--config", str(config)], canary)
    assert code == 3 and "no entry for this registry" in text


def test_plain_http_to_a_non_loopback_name_is_refused(canary: str) -> None:
    code, text = run(["--registry", "http://registry.example.com", "--json"], canary)
    assert code == 1 and json.loads(text)["valid"]["reason"] == "insecure"
