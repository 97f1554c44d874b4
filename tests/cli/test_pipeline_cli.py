"""``shipway pipeline create|update`` against a fake API: the bodies sent, and the API's errors as one line
naming the option the user typed, with the exit code of their class."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml
from typer.testing import Result

from tests.cli.conftest import Run
from tests.cli.fake_api import FakeApi, error


def _one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_create_sends_phases_namespaces_and_reclaim_policy(cli: Run, fake_api: FakeApi) -> None:
    result = cli("pipeline", "create", "cart", "--phase", "stage", "--phase", "production=prod-cart",
                 "--no-inherit", "--push-registry", "ghcr.io", "--push-prefix", "team-a/cart",
                 "--reclaim-policy", "Delete")
    assert (result.exit_code, result.stdout) == (0, "pipeline cart created\n"), result.stderr
    assert fake_api.bodies("POST") == [{
        "name": "cart", "inherit": False, "reclaimPolicy": "Delete",
        "phases": [{"name": "stage", "enabled": True}, {"name": "production", "enabled": True,
                                                        "namespace": "prod-cart"}],
        "push": {"registry": "ghcr.io", "repositoryPrefix": "team-a/cart"}}]


def test_create_without_a_reclaim_policy_leaves_it_to_the_platform(cli: Run, fake_api: FakeApi) -> None:
    result = cli("pipeline", "create", "cart", "--phase", "stage", "-o", "json")
    assert result.exit_code == 0, result.stderr
    (body,) = fake_api.bodies("POST")
    assert "reclaimPolicy" not in body and body["inherit"] is True and "push" not in body
    assert json.loads(result.stdout)["name"] == "cart"


def test_update_changes_only_what_is_given_and_sends_the_whole_body(cli: Run, fake_api: FakeApi) -> None:
    result = cli("pipeline", "update", "shop", "--reclaim-policy", "delete")
    assert (result.exit_code, result.stdout) == (0, "pipeline shop updated\n"), result.stderr
    assert [m for m, _, _ in fake_api.requests] == ["GET", "PUT"]
    assert fake_api.bodies("PUT") == [{
        # the phase with a namespace of its own keeps it; the default one is left to the API
        "phases": [{"name": "stage", "enabled": True}, {"name": "production", "enabled": True,
                                                        "namespace": "prod-shop"}],
        "inherit": True, "push": {"registry": "ghcr.io", "repositoryPrefix": "team-a/shop"},
        "reclaimPolicy": "Delete"}]


def test_update_phases_keep_the_namespaces_they_had_and_new_ones_take_theirs(cli: Run, fake_api: FakeApi) -> None:
    result = cli("pipeline", "update", "shop", "--phase", "review=shop-preview", "--phase", "production",
                 "--no-inherit")
    assert result.exit_code == 0, result.stderr
    (body,) = fake_api.bodies("PUT")
    assert body["phases"] == [{"name": "review", "enabled": True, "namespace": "shop-preview"},
                              {"name": "production", "enabled": True, "namespace": "prod-shop"}]
    assert body["inherit"] is False
    assert body["reclaimPolicy"] == "Retain"  # as it was


@pytest.mark.parametrize(("args", "push"), [
    pytest.param(["--push-prefix", "team-a/other"], {"registry": "ghcr.io", "repositoryPrefix": "team-a/other"},
                 id="a new prefix keeps the registry"),
    pytest.param(["--push-registry", "quay.io"], {"registry": "quay.io", "repositoryPrefix": "team-a/shop"},
                 id="a new registry keeps the prefix"),
    pytest.param(["--no-push"], None, id="no push target"),
])
def test_update_the_push_target(cli: Run, fake_api: FakeApi, args: list[str], push: object) -> None:
    result = cli("pipeline", "update", "shop", *args)
    assert result.exit_code == 0, result.stderr
    assert fake_api.bodies("PUT")[0]["push"] == push


@pytest.mark.parametrize(("args", "field"), [
    pytest.param([], "NAME: nothing to change", id="nothing given"),
    pytest.param(["--no-push", "--push-registry", "quay.io"], "--no-push: goes without", id="no-push and a push"),
    pytest.param(["--phase", "qa"], "--phase: 'qa' is not a phase", id="an unknown phase"),
    pytest.param(["--phase", "stage="], "--phase: 'stage=' has no namespace", id="an empty namespace"),
])
def test_update_refuses_bad_input_before_asking_the_api(cli: Run, fake_api: FakeApi, args: list[str],
                                                        field: str) -> None:
    line = _one_line(cli("pipeline", "update", "shop", *args), 2)
    assert line.startswith(f"error: {field}"), line
    assert fake_api.bodies("PUT") == []


@pytest.mark.parametrize(("response", "code", "expected"), [
    pytest.param(error(422, "InvalidInput", "not a DNS label", "phases[1].namespace"), 2,
                 "error: --phase production=Bad_NS: not a DNS label", id="a field of a phase, as typed"),
    pytest.param(error(422, "InvalidInput", "phases[1].name: phase 'stage' is listed twice", "phases"), 2,
                 "error: --phase production=Bad_NS: phase 'stage' is listed twice", id="a phase named in the message"),
    pytest.param(error(422, "InvalidInput", "Input should be 'Retain' or 'Delete'", "reclaimPolicy"), 2,
                 "error: --reclaim-policy: Input should be 'Retain' or 'Delete'", id="reclaimPolicy"),
    pytest.param(error(403, "Forbidden", "not a registry the platform allows (RegistryNotAllowed)", "push.registry"),
                 5, "error: --push-registry: not a registry the platform allows", id="push.registry"),
    pytest.param(error(409, "Conflict", "the object changed concurrently"), 4,
                 "error: the object changed concurrently", id="a conflict"),
    pytest.param(error(429, "TooManyRequests", "too many writes: try again later"), 7,
                 "error: too many writes", id="too many requests"),
    pytest.param(error(502, "KubernetesError", "the Kubernetes API failed"), 6,
                 "error: the Kubernetes API failed", id="upstream"),
    pytest.param(error(500, "InternalError", "internal error"), 6, "error: internal error", id="an internal error"),
])
def test_the_apis_errors_name_the_option_typed_with_the_exit_code_of_their_class(
        cli: Run, fake_api: FakeApi, response: httpx.Response, code: int, expected: str) -> None:
    fake_api.answer("PUT", "/api/v1/pipelines/shop", response)
    line = _one_line(cli("pipeline", "update", "shop", "--phase", "stage", "--phase", "production=Bad_NS"), code)
    assert line.startswith(expected), line


def test_errors_about_phases_the_user_did_not_give_name_the_phase(cli: Run, fake_api: FakeApi) -> None:
    fake_api.answer("PUT", "/api/v1/pipelines/shop",
                    error(403, "Forbidden", "the namespace is claimed by another pipeline", "phases[1].namespace"))
    line = _one_line(cli("pipeline", "update", "shop", "--no-inherit"), 5)
    assert line == "error: phase production: the namespace is claimed by another pipeline"


def test_a_pipeline_one_may_not_read_is_exit_5_and_nothing_is_written(cli: Run, fake_api: FakeApi) -> None:
    line = _one_line(cli("pipeline", "update", "blog", "--no-inherit"), 5)
    assert "may not get" in line and "'blog'" in line
    assert fake_api.bodies("PUT") == []


def test_a_create_refusal_prints_the_apis_own_message(cli: Run, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/pipelines", error(
        403, "Forbidden", "user 'team-a' may not create pipelines.shipway.dev"))
    line = _one_line(cli("pipeline", "create", "cart", "--phase", "stage"), 5)
    assert line == "error: user 'team-a' may not create pipelines.shipway.dev"
    fake_api.answer("POST", "/api/v1/pipelines", error(
        403, "Forbidden", "whoever creates a pipeline must be able to get, update and delete it: the requester may "
        "not get a pipeline of this name (PipelineNameNotManageable)", "name"))
    line = _one_line(cli("pipeline", "create", "cart", "--phase", "stage"), 5)
    assert line.startswith("error: NAME: whoever creates a pipeline must be able to get, update and delete it: the "
                           "requester may not get")


def test_update_prints_the_updated_pipeline_as_json_or_yaml(cli: Run, fake_api: FakeApi) -> None:
    as_json = json.loads(cli("pipeline", "update", "shop", "--reclaim-policy", "Delete", "-o", "json").stdout)
    as_yaml = yaml.safe_load(cli("pipeline", "update", "shop", "--reclaim-policy", "Delete", "-o", "yaml").stdout)
    assert as_json == as_yaml
    assert as_json["reclaimPolicy"] == "Delete"


def test_registry_errors_name_the_cli_options(cli: Run, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/pipelines/shop/credentials/references", error(
        403, "Forbidden", "Secret a/b cannot be used by this pipeline (SourceNotUsable)", "secretRef"))
    line = _one_line(cli("registry", "use-secret", "--pipeline", "shop", "--secret", "a/b"), 5)
    assert line.startswith("error: --secret: Secret a/b cannot be used")
    fake_api.answer("PUT", "/api/v1/pipelines/shop/credentials", error(
        422, "InvalidInput", "not a registry host", "registry"))
    line = _one_line(cli("registry", "set", "--pipeline", "shop", "--registry", "x y", "--username", "u",
                         "--password-stdin", input="a-password\n"), 2)
    assert line == "error: --registry: not a registry host"
    line = _one_line(cli("registry", "remove", "--pipeline", "shop"), 2)
    assert line == "error: --registry: give exactly one of --registry or --secret"
    line = _one_line(cli("registry", "use-secret", "--pipeline", "shop", "--secret", "no-slash"), 2)
    assert line == "error: --secret: must be NAMESPACE/NAME"
