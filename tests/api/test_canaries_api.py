"""Canary passwords in every credential path, then a scan of everything the run produced: zero hits.

Planted: by value (username and password) and from a docker config at the platform, pipeline and phase
layers; in Secrets referenced at each layer; as replacements of earlier values; in requests the API refuses
(422, 403, 413) and as a bearer token. Scanned, for the canaries as they are and base64-encoded once or twice
(any alignment): every API response body of the module, the sandbox's output (every log line of the API, the
operator and the emulator), every Event and every Pipeline and Platform, spec and status. The scanner is shown
to find the canaries where they belong (the Secrets) so that zero hits elsewhere means something.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .helpers import SYSTEM_NAMESPACE, Kube, Sandbox, docker_config, find_canaries, secret_manifest

PLATFORM = "/api/v1/platform/credentials"
PIPELINE = "/api/v1/pipelines/shop/credentials"
PHASE = "/api/v1/pipelines/shop/phases/production/credentials"
# Each credential gets its own registry key, all on ports where nothing listens, so verify fails fast.
KEYS = {
    "platform-value": "127.0.0.1:9/platform-value", "platform-config": "127.0.0.1:9/platform-config",
    "pipeline-value": "127.0.0.1:9/pipeline-value", "pipeline-config": "127.0.0.1:9/pipeline-config",
    "phase-value": "127.0.0.1:9/phase-value", "phase-config": "127.0.0.1:9/phase-config",
    "platform-secret": "127.0.0.1:7", "pipeline-secret": "127.0.0.1:13", "phase-secret": "127.0.0.1:19",
}


@pytest.fixture(scope="module")
def planted(sandbox: Sandbox, admin: httpx.Client, team_a: httpx.Client, kube: Kube) -> dict[str, Any]:
    """Every credential path, each with its own canary; returns the API's answers by path name."""
    created = team_a.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"},
                                                                                {"name": "production"}]})
    assert created.status_code == 201, created.text
    changes: dict[str, Any] = {}

    def put(client: httpx.Client, path: str, name: str, *, config: bool) -> None:
        password = sandbox.canary(name.replace("-", ""))
        key = KEYS[name]
        body = ({"registry": key, "dockerconfig": docker_config(key, f"user-{name}", password)} if config
                else {"registry": key, "username": f"user-{name}", "password": password, "usage": ["pull", "push"]})
        response = client.put(path, json=body)
        assert response.status_code == 200, response.text
        changes[name] = response.json()

    for name, client, path in (("platform", admin, PLATFORM), ("pipeline", team_a, PIPELINE),
                               ("phase", team_a, PHASE)):
        put(client, path, f"{name}-value", config=False)
        put(client, path, f"{name}-value", config=False)  # replaced: old and new value both canaries
        put(client, path, f"{name}-config", config=True)

    kube.shipway_namespace("shop-production")
    sources = (
        ("platform-secret", admin, "/api/v1/platform/credentials/references", SYSTEM_NAMESPACE, None),
        ("pipeline-secret", team_a, "/api/v1/pipelines/shop/credentials/references", "team-a", "shop"),
        ("phase-secret", admin, "/api/v1/pipelines/shop/phases/production/credentials/references",
         "shop-production", None),
    )
    for name, client, path, namespace, consent in sources:
        kube.create_secret(secret_manifest(namespace, f"canary-{name}", registry=KEYS[name], username=f"user-{name}",
                                           password=sandbox.canary(name.replace("-", "")), consent=consent,
                                           usage="pull,push"))
        response = client.post(path, json={"secretRef": {"namespace": namespace, "name": f"canary-{name}"},
                                           "usage": ["pull", "push"]})
        assert response.status_code == 200, response.text
        changes[name] = response.json()
    return changes


def test_refused_requests_carrying_canaries_answer_without_them(
        sandbox: Sandbox, planted: dict[str, Any], admin: httpx.Client, team_b: httpx.Client) -> None:
    password = sandbox.canary("refused")
    refused = [
        admin.put(PIPELINE, json={"registry": "ghcr.io", "username": "u", "password": password, "extra": password}),
        admin.put(PIPELINE, json={"registry": "ghcr.io", "username": f"u:{password}", "password": password}),
        admin.put(PIPELINE, json={"registry": "ghcr.io", "dockerconfig": docker_config("quay.io", "u", password)}),
        admin.put(PIPELINE, json={"registry": "ghcr.io", "dockerconfig": json.dumps(
            {"auths": {"ghcr.io": {"username": "u", "password": password, "auth": "!!"}}})}),
        admin.put(PIPELINE, json={"registry": f"ghcr.io:{password}", "username": "u", "password": password}),
        admin.put(PIPELINE, json={"registry": "ghcr.io", "username": "u", "password": password * 300}),
        admin.put(PIPELINE, content=json.dumps({"registry": "ghcr.io", "username": "u",
                                                "password": password + "x" * 70_000}).encode(),
                  headers={"Content-Type": "application/json"}),
        team_b.put(PIPELINE, json={"registry": "ghcr.io", "username": "u", "password": password}),
        team_b.put(PHASE, json={"registry": "ghcr.io", "dockerconfig": docker_config("ghcr.io", "u", password)}),
        admin.put("/api/v1/pipelines/nothing/credentials",
                  json={"registry": "ghcr.io", "username": "u", "password": password}),
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 422, 422, 422, 413, 403, 403, 404]
    token = sandbox.canary("token")
    with httpx.Client(base_url=sandbox.api_url, headers={"Authorization": f"Bearer {token}"},
                      event_hooks={"response": [sandbox._record]}) as forged:
        assert forged.get("/api/v1/pipelines").status_code == 401
        assert forged.put(PIPELINE, json={"registry": "ghcr.io", "username": "u", "password": password}
                          ).status_code == 401
    assert find_canaries(sandbox.canaries, sandbox.responses) == []


def test_every_read_and_verify_answers_without_a_canary(
        sandbox: Sandbox, planted: dict[str, Any], admin: httpx.Client, team_a: httpx.Client) -> None:
    reads = [admin.get("/api/v1/platform"), admin.get("/api/v1/pipelines"), team_a.get("/api/v1/pipelines"),
             team_a.get("/api/v1/pipelines/shop"), team_a.get("/api/v1/pipelines/shop/effective")]
    for phase in ("stage", "production"):
        for key in KEYS.values():
            reads.append(team_a.get(f"/api/v1/pipelines/shop/phases/{phase}/explain",
                                    params={"image": f"{key}/app:1"}))
    assert all(r.status_code == 200 for r in reads), [r.text for r in reads if r.status_code != 200]
    production = next(p for p in reads[4].json()["phases"] if p["phase"] == "production")
    assert {e["registry"] for e in production["pull"]} >= set(KEYS.values())

    for key in KEYS.values():
        # A repository only where the entry serves one (under its path), and none for the platform's entries
        # (those are checked only under the pipeline's own push repository).
        path = key.partition("/")[2]
        body: dict[str, Any] = {"registry": key, "phase": "production"}
        if not key.endswith(("platform-value", "platform-config")) and key != KEYS["platform-secret"]:
            body["repository"] = f"{path}/app" if path else "app"
        response = team_a.post("/api/v1/pipelines/shop/verify", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["valid"]["outcome"] == "Unreachable"
    assert find_canaries(sandbox.canaries, sandbox.responses) == []


def test_the_scanner_finds_the_canaries_where_they_belong(
        sandbox: Sandbox, planted: dict[str, Any], kube: Kube) -> None:
    managed = planted["pipeline-value"]["secretRef"]
    secret = kube.secret(managed["namespace"], managed["name"])
    assert find_canaries(sandbox.canaries, [("managed Secret", json.dumps(secret))])

    def delivered() -> dict[str, Any] | None:
        pull = kube.secret("shop-production", "shipway-pull")
        text = json.dumps(pull)
        found = find_canaries(sandbox.canaries, [("pull Secret", text)])
        return pull if pull and len({hit.split(": ")[1] for hit in found}) >= 5 else None

    # The operator delivered the planted credentials to the phase: they are in its pull Secret.
    kube.wait_for("the canaries in shop-production/shipway-pull", delivered)


def test_no_event_custom_resource_response_or_log_line_holds_a_canary(
        sandbox: Sandbox, planted: dict[str, Any], kube: Kube) -> None:
    def reconciled() -> bool:
        pipeline = kube.pipeline("shop")
        assert pipeline is not None
        status = pipeline.get("status") or {}
        return status.get("observedGeneration") == pipeline["metadata"]["generation"] and bool(status.get("phases"))

    kube.wait_for("the operator to write the status of shop", reconciled)
    events = kube.all_events()
    assert any(e["reason"] == "CredentialSet" for e in events)
    assert len(sandbox.output.lines) > 10
    assert sandbox.canary_hits() == []
