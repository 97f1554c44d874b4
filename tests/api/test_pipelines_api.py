"""Pipelines and the platform through the API: list, get, create, update, delete; phases, inherit, push
target; the platform's push target (admins only); health, readiness, metrics and the OpenAPI document.

The tests share the module's sandbox and run in file order, each building on the state the ones before
left, as a user's session would."""

from __future__ import annotations

import httpx

from .helpers import Kube, Sandbox, error_of

WEB = {
    "name": "web",
    "phases": [{"name": "review"}, {"name": "test", "enabled": False}, {"name": "stage", "namespace": "web-staging"},
               {"name": "production"}],
    "inherit": False,
    "push": {"registry": "ghcr.io", "repositoryPrefix": "acme/web"},
}


def test_a_custom_phase_namespace_needs_a_platform_admins_adoption(admin: httpx.Client, kube: Kube) -> None:
    refused = admin.post("/api/v1/pipelines", json=WEB)
    assert refused.status_code == 403, refused.text
    assert error_of(refused)["field"] == "phases[2].namespace"
    assert "NamespaceOutsidePrefix" in error_of(refused)["message"]
    assert kube.pipeline("web") is None
    platform = kube.platform()
    adopted = [*platform["spec"].get("adoptedNamespaces", []), {"namespace": "web-staging", "pipeline": "web"}]
    kube.merge_patch("/apis/shipway.dev/v1alpha1/platforms/default", {"spec": {"adoptedNamespaces": adopted}})


def test_an_admin_creates_a_pipeline_and_the_custom_resource_holds_exactly_what_was_asked(
        admin: httpx.Client, kube: Kube) -> None:
    response = admin.post("/api/v1/pipelines", json=WEB)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "web"
    assert [(p["name"], p["namespace"], p["enabled"]) for p in body["phases"]] == [
        ("review", "web-review", True), ("test", "web-test", False), ("stage", "web-staging", True),
        ("production", "web-production", True)]
    assert body["inherit"] is False
    assert body["push"] == {"registry": "ghcr.io", "repositoryPrefix": "acme/web"}
    assert body["credentials"] == []

    stored = kube.pipeline("web")
    assert stored is not None
    assert [p["name"] for p in stored["spec"]["phases"]] == ["review", "test", "stage", "production"]
    assert stored["spec"]["phases"][2]["namespace"] == "web-staging"
    assert stored["spec"]["phases"][1]["enabled"] is False
    assert stored["spec"]["registry"]["inherit"] is False
    assert stored["spec"]["registry"]["push"] == {"registry": "ghcr.io", "repositoryPrefix": "acme/web"}


def test_creating_a_pipeline_twice_is_a_conflict(admin: httpx.Client) -> None:
    response = admin.post("/api/v1/pipelines", json=WEB)
    assert response.status_code == 409, response.text
    assert error_of(response)["type"] == "Conflict"


def test_get_returns_the_pipeline_and_the_operator_conditions_once_reconciled(
        admin: httpx.Client, kube: Kube) -> None:
    def reconciled() -> dict | None:
        body = admin.get("/api/v1/pipelines/web").json()
        return body if any(c["type"] == "Ready" for c in body["conditions"]) else None

    body = kube.wait_for("the Ready condition of web", reconciled)
    assert body["name"] == "web"
    assert body["generation"] == 1
    assert [p["name"] for p in body["phases"]] == ["review", "test", "stage", "production"]
    ready = next(c for c in body["conditions"] if c["type"] == "Ready")
    assert ready["status"] in {"True", "False"}
    assert ready["reason"]


def test_list_shows_every_pipeline_to_an_admin(admin: httpx.Client) -> None:
    created = admin.post("/api/v1/pipelines", json={"name": "docs", "phases": [{"name": "production"}]})
    assert created.status_code == 201, created.text
    response = admin.get("/api/v1/pipelines")
    assert response.status_code == 200
    assert {p["name"] for p in response.json()} >= {"web", "docs"}


def test_update_replaces_phases_inherit_and_push_target(admin: httpx.Client, kube: Kube) -> None:
    response = admin.put("/api/v1/pipelines/web", json={
        "phases": [{"name": "stage", "namespace": "web-staging"}, {"name": "production"}],
        "inherit": True, "push": {"registry": "registry.example.com:5000", "repositoryPrefix": "web"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["name"] for p in body["phases"]] == ["stage", "production"]
    assert body["inherit"] is True
    assert body["push"] == {"registry": "registry.example.com:5000", "repositoryPrefix": "web"}

    stored = kube.pipeline("web")
    assert stored is not None
    assert [p["name"] for p in stored["spec"]["phases"]] == ["stage", "production"]
    assert stored["spec"]["registry"]["inherit"] is True
    assert stored["spec"]["registry"]["push"]["registry"] == "registry.example.com:5000"
    assert stored["metadata"]["generation"] == 2


def test_update_without_a_push_target_clears_it(admin: httpx.Client, kube: Kube) -> None:
    response = admin.put("/api/v1/pipelines/web", json={"phases": [{"name": "stage", "namespace": "web-staging"},
                                                                    {"name": "production"}]})
    assert response.status_code == 200, response.text
    assert response.json()["push"] is None
    stored = kube.pipeline("web")
    assert stored is not None
    assert stored["spec"]["registry"].get("push") is None


def test_update_keeps_the_phase_layer_credentials_of_phases_that_stay(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube) -> None:
    password = sandbox.canary("keep")
    set_ = admin.put("/api/v1/pipelines/web/phases/production/credentials",
                     json={"registry": "quay.io", "username": "bot", "password": password})
    assert set_.status_code == 200, set_.text
    ref = set_.json()["secretRef"]

    response = admin.put("/api/v1/pipelines/web", json={"phases": [{"name": "production"}, {"name": "review"}]})
    assert response.status_code == 200, response.text
    production = next(p for p in response.json()["phases"] if p["name"] == "production")
    assert [c["secretRef"] for c in production["credentials"]] == [ref]
    stored = kube.pipeline("web")
    assert stored is not None
    kept = next(p for p in stored["spec"]["phases"] if p["name"] == "production")
    assert kept["registry"]["credentials"][0]["secretRef"] == ref


def test_delete_removes_the_pipeline_and_a_second_delete_is_not_found(admin: httpx.Client, kube: Kube) -> None:
    response = admin.delete("/api/v1/pipelines/docs")
    assert response.status_code == 204
    assert response.content == b""
    assert kube.pipeline("docs") is None
    assert admin.get("/api/v1/pipelines/docs").status_code == 404
    again = admin.delete("/api/v1/pipelines/docs")
    assert again.status_code == 404
    assert error_of(again)["type"] == "NotFound"


def test_a_pipeline_that_does_not_exist_is_not_found_for_get_update_and_its_views(admin: httpx.Client) -> None:
    assert admin.get("/api/v1/pipelines/nothing-here").status_code == 404
    assert admin.put("/api/v1/pipelines/nothing-here", json={"phases": [{"name": "stage"}]}).status_code == 404
    assert admin.get("/api/v1/pipelines/nothing-here/effective").status_code == 404
    assert admin.get("/api/v1/pipelines/nothing-here/phases/stage/explain",
                     params={"image": "nginx"}).status_code == 404


def test_the_platform_shows_its_system_namespace_credentials_and_push_target(admin: httpx.Client,
                                                                           sandbox: Sandbox) -> None:
    response = admin.get("/api/v1/platform")
    assert response.status_code == 200
    body = response.json()
    assert body["systemNamespace"] == "shipway-system"
    assert body["push"] == {"registry": sandbox.registry, "repositoryPrefix": "apps"}
    assert body["credentials"] == [{"secretRef": {"namespace": "shipway-system", "name": "default-registry"},
                                    "usage": ["pull", "push"], "managed": False, "registry": None}]
    assert body["allowedRegistries"] is None
    assert body["insecureRegistries"] == []


def test_an_admin_sets_and_clears_the_platform_push_target(admin: httpx.Client, kube: Kube,
                                                           sandbox: Sandbox) -> None:
    response = admin.put("/api/v1/platform/push", json={"push": {"registry": sandbox.registry,
                                                                 "repositoryPrefix": "builds"}})
    assert response.status_code == 200, response.text
    assert response.json()["push"] == {"registry": sandbox.registry, "repositoryPrefix": "builds"}
    assert kube.platform()["spec"]["registry"]["push"]["repositoryPrefix"] == "builds"

    cleared = admin.put("/api/v1/platform/push", json={"push": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["push"] is None
    assert kube.platform()["spec"]["registry"].get("push") is None

    restored = admin.put("/api/v1/platform/push", json={"push": {"registry": sandbox.registry,
                                                                 "repositoryPrefix": "apps"}})
    assert restored.status_code == 200


def test_a_team_may_read_the_platform_but_not_set_its_push_target(team_a: httpx.Client, kube: Kube) -> None:
    before = kube.platform()["spec"]
    assert team_a.get("/api/v1/platform").status_code == 200
    response = team_a.put("/api/v1/platform/push", json={"push": {"registry": "evil.example",
                                                                  "repositoryPrefix": "x"}})
    assert response.status_code == 403
    assert "team-a" in error_of(response)["message"]
    assert kube.platform()["spec"] == before


def test_health_and_readiness_answer_without_a_token(anonymous: httpx.Client) -> None:
    health = anonymous.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


def test_metrics_are_prometheus_text_counting_requests_by_method_route_and_status(
        admin: httpx.Client, anonymous: httpx.Client) -> None:
    assert admin.get("/api/v1/pipelines/web").status_code == 200
    response = anonymous.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE shipway_api_requests_total counter" in text
    assert 'shipway_api_requests_total{method="GET",route="/api/v1/pipelines/{name}",status="200"}' in text
    assert 'shipway_api_requests_total{method="POST",route="/api/v1/pipelines",status="201"}' in text
    assert "shipway_api_request_seconds_bucket" in text


def test_the_openapi_document_describes_every_resource(anonymous: httpx.Client) -> None:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/pipelines", "/api/v1/pipelines/{name}", "/api/v1/platform", "/api/v1/platform/push",
                 "/api/v1/platform/credentials", "/api/v1/pipelines/{name}/credentials",
                 "/api/v1/pipelines/{name}/phases/{phase}/credentials",
                 "/api/v1/pipelines/{name}/credentials/references", "/api/v1/pipelines/{name}/effective",
                 "/api/v1/pipelines/{name}/phases/{phase}/explain", "/api/v1/pipelines/{name}/verify"):
        assert path in paths
