"""Regression tests for bugs the API suite found: each input once reached Kubernetes unchecked, wrote half of
a change, or reported the wrong field. Each is now refused before anything is written."""

from __future__ import annotations

import httpx
import pytest

from .helpers import Kube, Sandbox

SYSTEM_NAMESPACE = "shipway-system"


@pytest.fixture(scope="module")
def victim(admin: httpx.Client) -> str:
    response = admin.post("/api/v1/pipelines", json={"name": "victim", "phases": [{"name": "stage"}]})
    assert response.status_code == 201, response.text
    return "victim"


@pytest.mark.parametrize("path", [
    "/api/v1/pipelines/victim%3Fx=1", "/api/v1/pipelines/victim%23x", "/api/v1/pipelines/%01",
    "/api/v1/pipelines/Victim", "/api/v1/pipelines/victim%2Fstatus",
])
def test_a_pipeline_name_that_is_not_a_dns_label_is_refused_and_touches_nothing(
        admin: httpx.Client, kube: Kube, victim: str, path: str) -> None:
    for method in ("GET", "DELETE"):
        response = admin.request(method, path)
        assert response.status_code in (404, 422), (method, path, response.text)
    assert kube.get(f"/apis/shipway.dev/v1alpha1/pipelines/{victim}") is not None


def test_a_duplicated_usage_is_refused_before_any_secret_is_written(
        team_b: httpx.Client, kube: Kube, sandbox: Sandbox) -> None:
    team_b.post("/api/v1/pipelines", json={"name": "blog", "phases": [{"name": "stage"}]})
    before = {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)}
    response = team_b.put("/api/v1/pipelines/blog/credentials", json={
        "registry": "dup.example", "username": "u", "password": sandbox.canary("dup"), "usage": ["push", "push"]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "usage"
    assert {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)} == before


def test_a_full_layer_refuses_one_more_credential_before_writing_its_secret(
        admin: httpx.Client, kube: Kube, sandbox: Sandbox) -> None:
    response = admin.post("/api/v1/pipelines", json={"name": "full", "phases": [{"name": "stage"}]})
    assert response.status_code == 201, response.text
    for i in range(64):
        response = admin.put("/api/v1/pipelines/full/credentials", json={
            "registry": f"r{i}.example", "username": "u", "password": sandbox.canary(f"full{i}")})
        assert response.status_code == 200, response.text
    before = {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)}
    response = admin.put("/api/v1/pipelines/full/credentials", json={
        "registry": "r64.example", "username": "u", "password": sandbox.canary("full64")})
    assert response.status_code == 422, response.text
    assert "64" in response.json()["error"]["message"]
    assert {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)} == before
    # Replacing an existing credential of a full layer still works, and the pipeline stays readable.
    response = admin.put("/api/v1/pipelines/full/credentials", json={
        "registry": "r0.example", "username": "u2", "password": sandbox.canary("full0b")})
    assert response.status_code == 200, response.text
    assert admin.get("/api/v1/pipelines/full").status_code == 200


def test_duplicate_phases_name_the_phases_field(admin: httpx.Client) -> None:
    response = admin.post("/api/v1/pipelines", json={"name": "twice", "phases": [{"name": "stage"},
                                                                                 {"name": "stage"}]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "phases"
    assert "listed twice" in response.json()["error"]["message"]


def test_openapi_documents_the_error_body_instead_of_fastapis_default(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/pipelines/{name}"]["get"]["responses"]
    for status in ("401", "403", "404", "422"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "HTTPValidationError" not in spec.get("components", {}).get("schemas", {})
