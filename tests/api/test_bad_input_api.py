"""Bad input: unknown fields, names that are not DNS labels, hosts that are not hosts, unknown or duplicate
phases, oversized bodies, registries outside the platform's allow-list. Each is refused with the status and
the field named, and each writes nothing: the Pipelines, the Platform and the Secrets of shipway-system are
the same afterwards, read through the Kubernetes API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .helpers import GROUP_PATH, SYSTEM_NAMESPACE, Kube, Sandbox, docker_config, error_of, secret_manifest

LIMIT = 64 * 1024  # ApiSettings.max_body_bytes


@pytest.fixture(scope="module", autouse=True)
def shop(admin: httpx.Client) -> None:
    response = admin.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"},
                                                                                {"name": "production"}]})
    assert response.status_code == 201, response.text


def _snapshot(kube: Kube) -> dict[str, Any]:
    return {
        "pipelines": {p["metadata"]["name"]: (p["metadata"]["generation"], p["spec"]) for p in kube.pipelines()},
        "platform": kube.platform()["spec"],
        "secrets": {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in kube.secrets(SYSTEM_NAMESPACE)},
    }


@pytest.fixture
def unchanged(kube: Kube) -> Iterator[None]:
    """Asserts that the test wrote nothing."""
    before = _snapshot(kube)
    yield
    assert _snapshot(kube) == before


def _refused(response: httpx.Response, field: str, status: int = 422) -> str:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["field"] == field, error
    return str(error["message"])


# Unknown fields


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/v1/pipelines", {"name": "new", "phases": [{"name": "stage"}], "color": "red"}, "color"),
    ("POST", "/api/v1/pipelines", {"name": "new", "phases": [{"name": "stage", "replicas": 2}]},
     "phases[0].replicas"),
    ("POST", "/api/v1/pipelines", {"name": "new", "phases": [{"name": "stage"}],
                                   "push": {"registry": "ghcr.io", "repositoryPrefix": "a", "tag": "x"}}, "push.tag"),
    ("PUT", "/api/v1/pipelines/shop", {"phases": [{"name": "stage"}], "credentials": []}, "credentials"),
    ("PUT", "/api/v1/pipelines/shop/credentials", {"registry": "ghcr.io", "username": "u", "password": "p",
                                                   "email": "a@b.c"}, "email"),
    ("POST", "/api/v1/pipelines/shop/credentials/references",
     {"secretRef": {"namespace": "team-a", "name": "x", "key": ".dockerconfigjson"}}, "secretRef.key"),
    ("PUT", "/api/v1/platform/push", {"push": None, "insecure": True}, "insecure"),
    ("POST", "/api/v1/pipelines/shop/verify", {"registry": "ghcr.io", "timeout": 1}, "timeout"),
])
def test_an_unknown_field_is_refused_naming_it(admin: httpx.Client, method: str, path: str, body: dict[str, Any],
                                               field: str) -> None:
    message = _refused(admin.request(method, path, json=body), field)
    assert "not permitted" in message


# Names and hosts


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("name", ["Shop", "shop_1", "-shop", "shop-", "shop.v2", "a" * 53, ""])
def test_a_pipeline_name_that_is_not_a_dns_label_is_refused(admin: httpx.Client, name: str) -> None:
    _refused(admin.post("/api/v1/pipelines", json={"name": name, "phases": [{"name": "stage"}]}), "name")


@pytest.mark.usefixtures("unchanged")
def test_a_phase_namespace_that_is_not_a_dns_label_is_refused(admin: httpx.Client) -> None:
    _refused(admin.put("/api/v1/pipelines/shop", json={"phases": [{"name": "stage", "namespace": "Team_A"}]}),
             "phases[0].namespace")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("host", ["https://ghcr.io", "ghcr.io/team-a", "ghcr.io:99999", "ghcr.io:0", "ghcr.io:abc",
                                  "ghcr io", "", "user@ghcr.io"])
def test_a_push_registry_that_is_not_a_host_is_refused(admin: httpx.Client, host: str) -> None:
    push = {"registry": host, "repositoryPrefix": "team-a/shop"}
    _refused(admin.post("/api/v1/pipelines", json={"name": "new", "phases": [{"name": "stage"}], "push": push}),
             "push.registry")
    _refused(admin.put("/api/v1/pipelines/shop", json={"phases": [{"name": "stage"}], "push": push}),
             "push.registry")
    _refused(admin.put("/api/v1/platform/push", json={"push": push}), "push.registry")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("registry", ["ghcr.io:99999", "ghcr.io:abc", "ghcr.io?tag=1", "ghcr.io#x", ""])
def test_a_credential_registry_key_that_is_not_a_host_is_refused(
        sandbox: Sandbox, admin: httpx.Client, registry: str) -> None:
    body = {"registry": registry, "username": "u", "password": sandbox.canary("badhost")}
    _refused(admin.put("/api/v1/pipelines/shop/credentials", json=body), "registry")
    _refused(admin.put("/api/v1/platform/credentials", json=body), "registry")
    _refused(admin.delete("/api/v1/pipelines/shop/credentials", params={"registry": registry or "ghcr.io:0"}),
             "registry")


# Phases


@pytest.mark.usefixtures("unchanged")
def test_an_unknown_phase_name_is_refused_in_a_body_and_in_a_path(sandbox: Sandbox, admin: httpx.Client) -> None:
    _refused(admin.post("/api/v1/pipelines", json={"name": "new", "phases": [{"name": "qa"}]}), "phases[0].name")
    _refused(admin.put("/api/v1/pipelines/shop", json={"phases": [{"name": "stage"}, {"name": "canary"}]}),
             "phases[1].name")
    body = {"registry": "ghcr.io", "username": "u", "password": sandbox.canary("badphase")}
    _refused(admin.put("/api/v1/pipelines/shop/phases/qa/credentials", json=body), "phase")
    _refused(admin.get("/api/v1/pipelines/shop/phases/qa/explain", params={"image": "nginx"}), "phase")
    _refused(admin.post("/api/v1/pipelines/shop/verify", json={"registry": "ghcr.io", "phase": "qa"}), "phase")


@pytest.mark.usefixtures("unchanged")
def test_a_known_phase_the_pipeline_does_not_have_is_not_found(sandbox: Sandbox, admin: httpx.Client) -> None:
    body = {"registry": "ghcr.io", "username": "u", "password": sandbox.canary("nophase")}
    response = admin.put("/api/v1/pipelines/shop/phases/review/credentials", json=body)
    assert response.status_code == 404, response.text
    assert "review" in error_of(response)["message"]


@pytest.mark.usefixtures("unchanged")
def test_duplicate_phases_are_refused_naming_the_phase_listed_twice(admin: httpx.Client) -> None:
    # The message names phases[1].name; the ``field`` says "body.spec" (see the report), so only the status
    # and the message are asserted here.
    for response in (admin.post("/api/v1/pipelines", json={"name": "new", "phases": [{"name": "stage"},
                                                                                      {"name": "stage"}]}),
                     admin.put("/api/v1/pipelines/shop", json={"phases": [{"name": "production"},
                                                                           {"name": "production"}]})):
        assert response.status_code == 422, response.text
        assert "phases[1].name" in error_of(response)["message"]
        assert "listed twice" in error_of(response)["message"]


@pytest.mark.usefixtures("unchanged")
def test_no_phases_or_too_many_are_refused(admin: httpx.Client) -> None:
    _refused(admin.post("/api/v1/pipelines", json={"name": "new", "phases": []}), "phases")
    five = [{"name": n} for n in ("review", "test", "stage", "production", "stage")]
    _refused(admin.post("/api/v1/pipelines", json={"name": "new", "phases": five}), "phases")


# Credential bodies


@pytest.mark.usefixtures("unchanged")
def test_credential_bodies_that_do_not_make_one_credential_are_refused_naming_the_field(
        sandbox: Sandbox, admin: httpx.Client) -> None:
    password = sandbox.canary("badbody")
    path = "/api/v1/pipelines/shop/credentials"
    _refused(admin.put(path, json={"registry": "ghcr.io", "username": "u"}), "password")
    _refused(admin.put(path, json={"registry": "ghcr.io", "password": password}), "username")
    _refused(admin.put(path, json={"registry": "ghcr.io", "username": "a:b", "password": password}), "username")
    _refused(admin.put(path, json={"registry": "ghcr.io", "username": "u", "password": password,
                                   "dockerconfig": docker_config("ghcr.io", "u", password)}), "dockerconfig")
    _refused(admin.put(path, json={"registry": "ghcr.io", "dockerconfig": docker_config("quay.io", "u", password)}),
             "dockerconfig")
    _refused(admin.put(path, json={"registry": "ghcr.io", "dockerconfig": "{not json"}), "dockerconfig")
    _refused(admin.put(path, json={"registry": "ghcr.io", "username": "u", "password": password,
                                   "usage": ["pull", "build"]}), "usage[1]")
    _refused(admin.put(path, json={"registry": "ghcr.io", "username": "u", "password": password, "usage": []}),
             "usage")
    _refused(admin.delete(path, params={"registry": "ghcr.io", "secretNamespace": "team-a", "secretName": "x"}),
             "registry")
    _refused(admin.delete(path), "registry")


@pytest.mark.usefixtures("unchanged")
def test_references_to_secrets_that_cannot_be_sources_are_refused(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube) -> None:
    kube.create_secret(secret_manifest("team-a", "unlabelled", registry="quay.io", username="u",
                                       password=sandbox.canary("unlabelled"), labelled=False, consent="shop"))
    path = "/api/v1/pipelines/shop/credentials/references"
    missing = _refused(admin.post(path, json={"secretRef": {"namespace": "team-a", "name": "nope"}}), "secretRef")
    assert "does not exist" in missing
    unlabelled = _refused(admin.post(path, json={"secretRef": {"namespace": "team-a", "name": "unlabelled"}}),
                          "secretRef", status=403)
    assert "shipway.dev/credential" in unlabelled
    _refused(admin.post(path, json={"secretRef": {"namespace": "Team_A", "name": "x"}}), "secretRef.namespace")
    _refused(admin.post(path, json={"secretRef": {"namespace": "team-a", "name": "Bad_Name"}}), "secretRef.name")


def test_a_reference_to_a_secret_the_operator_writes_is_refused(admin: httpx.Client, kube: Kube) -> None:
    kube.wait_for("the operator's pull Secret in shop-stage", lambda: kube.secret("shop-stage", "shipway-pull"))
    before = _snapshot(kube)
    response = admin.post("/api/v1/pipelines/shop/credentials/references",
                          json={"secretRef": {"namespace": "shop-stage", "name": "shipway-pull"}})
    assert "cannot be used by this pipeline" in _refused(response, "secretRef", status=403)
    assert _snapshot(kube)["pipelines"]["shop"] == before["pipelines"]["shop"]


@pytest.mark.usefixtures("unchanged")
def test_an_image_that_is_not_a_reference_is_refused_naming_the_field(admin: httpx.Client) -> None:
    _refused(admin.get("/api/v1/pipelines/shop/phases/stage/explain", params={"image": "UPPER//x::"}), "image")
    _refused(admin.get("/api/v1/pipelines/shop/phases/stage/explain"), "image")


# Oversized bodies


@pytest.mark.usefixtures("unchanged")
def test_an_oversized_body_is_413_before_anything_is_read(sandbox: Sandbox, admin: httpx.Client) -> None:
    password = sandbox.canary("oversized")
    body = json.dumps({"registry": "ghcr.io", "username": "u", "password": password,
                       "padding": "x" * (LIMIT + 1)}).encode()
    response = admin.put("/api/v1/pipelines/shop/credentials", content=body,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert error_of(response)["type"] == "PayloadTooLarge"
    big_pipeline = json.dumps({"name": "big", "phases": [{"name": "stage"}], "x": "y" * LIMIT}).encode()
    assert admin.post("/api/v1/pipelines", content=big_pipeline,
                      headers={"Content-Type": "application/json"}).status_code == 413


@pytest.mark.usefixtures("unchanged")
def test_an_oversized_chunked_body_without_a_length_is_413_too(admin: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "chunked", "phases": [{"name": "stage"}], "x": "'
        for _ in range(20):
            yield b"z" * 4096
        yield b'"}'

    response = admin.post("/api/v1/pipelines", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text


def test_a_body_just_under_the_limit_is_read_and_judged_on_its_content(admin: httpx.Client, kube: Kube) -> None:
    body = json.dumps({"name": "fits", "phases": [{"name": "stage"}], "x": ""}).encode()
    body = body.replace(b'"x": ""', b'"x": "' + b"y" * (LIMIT - len(body)) + b'"')
    assert len(body) == LIMIT
    response = admin.post("/api/v1/pipelines", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422  # the unknown field x, not the size
    assert error_of(response)["field"] == "x"
    assert kube.pipeline("fits") is None


# The platform's allow-list


@pytest.fixture
def allow_list(kube: Kube, sandbox: Sandbox) -> Iterator[list[str]]:
    allowed = ["ghcr.io", sandbox.registry]
    kube.merge_patch(f"{GROUP_PATH}/platforms/default", {"spec": {"registry": {"allowedRegistries": allowed}}})
    yield allowed
    kube.merge_patch(f"{GROUP_PATH}/platforms/default", {"spec": {"registry": {"allowedRegistries": None}}})


@pytest.mark.usefixtures("allow_list")
def test_the_platform_shows_its_allow_list(admin: httpx.Client, sandbox: Sandbox) -> None:
    assert admin.get("/api/v1/platform").json()["allowedRegistries"] == ["ghcr.io", sandbox.registry]


def test_a_credential_for_a_registry_outside_the_allow_list_is_refused_at_every_layer(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube, allow_list: list[str]) -> None:
    before = _snapshot(kube)
    for registry in ("quay.io", "ghcr.io:5000", "docker.io"):
        body = {"registry": registry, "username": "u", "password": sandbox.canary("outside")}
        for path in ("/api/v1/platform/credentials", "/api/v1/pipelines/shop/credentials",
                     "/api/v1/pipelines/shop/phases/stage/credentials"):
            message = _refused(admin.put(path, json=body), "registry", status=403)
            assert "allowed registries" in message
    assert _snapshot(kube) == before
    inside = admin.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "ghcr.io/team-a", "username": "u", "password": sandbox.canary("inside")})
    assert inside.status_code == 200, inside.text


def test_a_reference_to_a_secret_for_a_registry_outside_the_allow_list_is_refused(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube, allow_list: list[str]) -> None:
    kube.create_secret(secret_manifest("team-a", "quay-consents", registry="quay.io", username="u",
                                       password=sandbox.canary("quayref"), consent="shop"))
    before = _snapshot(kube)
    response = admin.post("/api/v1/pipelines/shop/credentials/references",
                          json={"secretRef": {"namespace": "team-a", "name": "quay-consents"}})
    assert "allowed registries" in _refused(response, "secretRef", status=403)
    assert _snapshot(kube) == before
