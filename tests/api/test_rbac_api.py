"""Who may do what, decided by Kubernetes: real TokenReviews and SubjectAccessReviews answered by the sandbox
from the RBAC objects it stores. team-a may manage pipeline ``shop`` and read and write Secrets in namespace
``team-a``; team-b the same for ``blog`` and ``team-b``; admin is in system:masters. Every denial is a 403
(or 401) and writes nothing, which is checked through the Kubernetes API.

The tests share the module's sandbox and run in file order, each building on the state the ones before
left, as a user's session would."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from .helpers import Kube, Sandbox, error_of, secret_manifest


@pytest.fixture(scope="module", autouse=True)
def pipelines_and_secrets(sandbox: Sandbox, team_a: httpx.Client, team_b: httpx.Client, kube: Kube) -> None:
    for client, name in ((team_a, "shop"), (team_b, "blog")):
        response = client.post("/api/v1/pipelines", json={"name": name, "phases": [{"name": "stage"}]})
        assert response.status_code == 201, response.text
    secrets = [
        ("team-a", "a-no-consent", "quay.io", None),
        ("team-a", "a-consents-shop", "quay.io", "shop"),
        ("team-a", "a-consents-blog", "quay.io", "blog"),
        ("team-b", "b-consents-shop", "docker.io", "shop"),
        ("team-b", "b-no-consent", "docker.io", None),
    ]
    for namespace, name, registry, consent in secrets:
        kube.create_secret(secret_manifest(namespace, name, registry=registry, username="u",
                                           password=sandbox.canary(name.replace("-", "")), consent=consent))
    blog_set = team_b.put("/api/v1/pipelines/blog/credentials",
                          json={"registry": "ghcr.io", "username": "b", "password": sandbox.canary("blog")})
    assert blog_set.status_code == 200, blog_set.text


def _spec(kube: Kube, name: str) -> dict[str, Any]:
    pipeline = kube.pipeline(name)
    assert pipeline is not None
    return copy.deepcopy(pipeline["spec"])


def _forbidden(response: httpx.Response, user: str) -> None:
    assert response.status_code == 403, response.text
    error = error_of(response)
    assert error["type"] == "Forbidden"
    assert user in error["message"]


# Another team's pipeline


def test_a_team_cannot_get_another_teams_pipeline_or_its_views(team_a: httpx.Client) -> None:
    _forbidden(team_a.get("/api/v1/pipelines/blog"), "team-a")
    _forbidden(team_a.get("/api/v1/pipelines/blog/effective"), "team-a")
    _forbidden(team_a.get("/api/v1/pipelines/blog/phases/stage/explain", params={"image": "ghcr.io/x:1"}), "team-a")
    _forbidden(team_a.post("/api/v1/pipelines/blog/verify", json={"registry": "ghcr.io"}), "team-a")


def test_a_team_cannot_update_another_teams_pipeline_and_nothing_changes(team_a: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "blog")
    _forbidden(team_a.put("/api/v1/pipelines/blog", json={"phases": [{"name": "production"}], "inherit": False}),
               "team-a")
    assert _spec(kube, "blog") == before


def test_a_team_cannot_change_another_teams_credentials_and_nothing_changes(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "blog")
    secrets_before = {s["metadata"]["name"] for s in kube.secrets("shipway-system")}
    body = {"registry": "ghcr.io", "username": "intruder", "password": sandbox.canary("intruder")}
    _forbidden(team_a.put("/api/v1/pipelines/blog/credentials", json=body), "team-a")
    _forbidden(team_a.put("/api/v1/pipelines/blog/phases/stage/credentials", json=body), "team-a")
    _forbidden(team_a.delete("/api/v1/pipelines/blog/credentials", params={"registry": "ghcr.io"}), "team-a")
    _forbidden(team_a.post("/api/v1/pipelines/blog/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "a-consents-blog"}}), "team-a")
    assert _spec(kube, "blog") == before
    assert {s["metadata"]["name"] for s in kube.secrets("shipway-system")} == secrets_before


def test_a_team_cannot_delete_another_teams_pipeline(team_a: httpx.Client, kube: Kube) -> None:
    _forbidden(team_a.delete("/api/v1/pipelines/blog"), "team-a")
    assert kube.pipeline("blog") is not None


def test_the_list_shows_a_team_only_the_pipelines_it_may_get(
        admin: httpx.Client, team_a: httpx.Client, team_b: httpx.Client) -> None:
    assert [p["name"] for p in team_a.get("/api/v1/pipelines").json()] == ["shop"]
    assert [p["name"] for p in team_b.get("/api/v1/pipelines").json()] == ["blog"]
    assert {p["name"] for p in admin.get("/api/v1/pipelines").json()} >= {"shop", "blog"}


def test_a_team_cannot_create_a_pipeline_under_a_name_it_could_not_manage(team_a: httpx.Client, kube: Kube) -> None:
    response = team_a.post("/api/v1/pipelines", json={"name": "news", "phases": [{"name": "stage"}]})
    _forbidden(response, "PipelineNameNotManageable")
    assert error_of(response)["field"] == "name"
    assert kube.pipeline("news") is None
    assert [p["metadata"]["name"] for p in kube.pipelines()].count("news") == 0


def test_the_platform_layer_is_for_admins_only(sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    before = kube.platform()["spec"]
    _forbidden(team_a.put("/api/v1/platform/credentials", json={
        "registry": "ghcr.io", "username": "u", "password": sandbox.canary("platformdenied")}), "team-a")
    _forbidden(team_a.post("/api/v1/platform/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "a-no-consent"}}), "team-a")
    _forbidden(team_a.delete("/api/v1/platform/credentials", params={
        "secretNamespace": "shipway-system", "secretName": "default-registry"}), "team-a")
    _forbidden(team_a.put("/api/v1/platform/push", json={"push": None}), "team-a")
    assert kube.platform()["spec"] == before


# Referencing Secrets: the confused deputy


def test_a_team_cannot_reference_a_secret_it_may_not_get_and_nothing_is_written(
        team_a: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "shop")
    # The Secret even consents to shop: what decides is that team-a may not read team-b's Secrets.
    response = team_a.post("/api/v1/pipelines/shop/credentials/references",
                           json={"secretRef": {"namespace": "team-b", "name": "b-consents-shop"}})
    _forbidden(response, "SourceNotUsable")
    assert "Secret team-b/b-consents-shop cannot be used by this pipeline" in error_of(response)["message"]
    phase = team_a.post("/api/v1/pipelines/shop/phases/stage/credentials/references",
                        json={"secretRef": {"namespace": "team-b", "name": "b-consents-shop"}})
    _forbidden(phase, "SourceNotUsable")
    assert _spec(kube, "shop") == before


def test_a_secret_the_team_may_not_get_is_refused_whether_or_not_it_exists(team_a: httpx.Client) -> None:
    missing = team_a.post("/api/v1/pipelines/shop/credentials/references",
                          json={"secretRef": {"namespace": "team-b", "name": "does-not-exist"}})
    existing = team_a.post("/api/v1/pipelines/shop/credentials/references",
                           json={"secretRef": {"namespace": "team-b", "name": "b-consents-shop"}})
    _forbidden(missing, "SourceNotUsable")
    # One answer for both: nothing tells an existing Secret of another team from a wrong guess.
    assert (missing.status_code, error_of(missing)["message"].replace("does-not-exist", "X")) == \
        (existing.status_code, error_of(existing)["message"].replace("b-consents-shop", "X"))


def test_a_team_cannot_use_a_secret_it_can_read_in_another_namespace_without_consent(
        team_a: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "shop")
    response = team_a.post("/api/v1/pipelines/shop/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "a-no-consent"}})
    assert response.status_code == 403, response.text
    message = error_of(response)["message"]
    assert "shipway.dev/allowed-pipelines" in message
    assert "SourceNotUsable" in message
    assert _spec(kube, "shop") == before


def test_consent_naming_another_pipeline_is_no_consent(team_a: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "shop")
    response = team_a.post("/api/v1/pipelines/shop/phases/stage/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "a-consents-blog"}})
    assert response.status_code == 403, response.text
    assert _spec(kube, "shop") == before


def test_with_the_consent_annotation_the_team_may_use_its_secret(team_a: httpx.Client, kube: Kube) -> None:
    response = team_a.post("/api/v1/pipelines/shop/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "a-consents-shop"}})
    assert response.status_code == 200, response.text
    assert {"secretRef": {"namespace": "team-a", "name": "a-consents-shop"}, "usage": ["pull"]} \
        in _spec(kube, "shop")["registry"]["credentials"]


def test_consent_is_required_of_an_admin_too(admin: httpx.Client, kube: Kube) -> None:
    before = _spec(kube, "shop")
    response = admin.post("/api/v1/pipelines/shop/credentials/references",
                          json={"secretRef": {"namespace": "team-b", "name": "b-no-consent"}})
    assert response.status_code == 403, response.text
    assert _spec(kube, "shop") == before


# What an admin may do


def test_an_admin_may_reference_another_teams_secret_that_consents(admin: httpx.Client, kube: Kube) -> None:
    response = admin.post("/api/v1/pipelines/shop/phases/stage/credentials/references",
                          json={"secretRef": {"namespace": "team-b", "name": "b-consents-shop"}})
    assert response.status_code == 200, response.text
    stage = _spec(kube, "shop")["phases"][0]
    assert stage["registry"]["credentials"] == [
        {"secretRef": {"namespace": "team-b", "name": "b-consents-shop"}, "usage": ["pull"]}]


def test_an_admin_may_read_update_and_delete_any_pipeline(admin: httpx.Client, kube: Kube) -> None:
    assert admin.get("/api/v1/pipelines/blog").status_code == 200
    assert admin.get("/api/v1/pipelines/blog/effective").status_code == 200
    updated = admin.put("/api/v1/pipelines/blog", json={"phases": [{"name": "stage"}, {"name": "production"}]})
    assert updated.status_code == 200, updated.text
    assert [p["name"] for p in _spec(kube, "blog")["phases"]] == ["stage", "production"]
    created = admin.post("/api/v1/pipelines", json={"name": "news", "phases": [{"name": "stage"}]})
    assert created.status_code == 201, created.text
    assert admin.delete("/api/v1/pipelines/news").status_code == 204
    assert kube.pipeline("news") is None


def test_the_owning_team_keeps_its_rights_after_an_admin_changed_its_pipeline(team_b: httpx.Client) -> None:
    response = team_b.get("/api/v1/pipelines/blog")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["phases"]] == ["stage", "production"]
    assert team_b.delete("/api/v1/pipelines/blog").status_code == 204


# Authentication


def test_no_token_is_401_with_a_bearer_challenge(anonymous: httpx.Client, kube: Kube) -> None:
    for method, path in (("GET", "/api/v1/pipelines"), ("GET", "/api/v1/pipelines/shop"),
                         ("GET", "/api/v1/platform"), ("DELETE", "/api/v1/pipelines/shop")):
        response = anonymous.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert error_of(response)["type"] == "Unauthenticated"
    created = anonymous.post("/api/v1/pipelines", json={"name": "anon", "phases": [{"name": "stage"}]})
    assert created.status_code == 401
    assert kube.pipeline("anon") is None
    assert kube.pipeline("shop") is not None


def test_a_bad_token_is_401_and_writes_nothing(sandbox: Sandbox, kube: Kube) -> None:
    with httpx.Client(base_url=sandbox.api_url, headers={"Authorization": "Bearer not-a-real-token"}) as client:
        assert client.get("/api/v1/pipelines").status_code == 401
        response = client.post("/api/v1/pipelines", json={"name": "forged", "phases": [{"name": "stage"}]})
        assert response.status_code == 401
        assert "not-a-real-token" not in response.text
    assert kube.pipeline("forged") is None


@pytest.mark.parametrize("header", ["Bearer", "Basic YWRtaW46YWRtaW4=", "Token abc", "bearer"])
def test_a_malformed_authorization_header_is_401(sandbox: Sandbox, header: str) -> None:
    with httpx.Client(base_url=sandbox.api_url, headers={"Authorization": header}) as client:
        response = client.get("/api/v1/pipelines")
    assert response.status_code == 401, response.text


def test_another_users_token_is_that_user_and_no_one_else(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.api_url,
                      headers={"Authorization": f"Bearer {sandbox.tokens['team-b']}"}) as client:
        response = client.get("/api/v1/pipelines/shop")
    _forbidden(response, "team-b")
