"""Credentials per layer through the API: set by value (username and password, or a docker config), reference
an existing Secret, remove; where the values live (Shipway-managed Secrets in shipway-system, labelled, owned
by the Pipeline, never in a custom resource); the effective view, explain and verify; and the audit trail
(an Event on the Pipeline and a log line for every change).

The tests share the module's sandbox and run in file order, each building on the state the ones before
left, as a user's session would."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import httpx
import pytest

from .helpers import (
    SYSTEM_NAMESPACE,
    UNREACHABLE_REGISTRY,
    Kube,
    Sandbox,
    docker_config,
    error_of,
    secret_manifest,
)

FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{16}$")


@pytest.fixture(scope="module", autouse=True)
def shop(admin: httpx.Client, team_a: httpx.Client) -> None:
    """team-a's pipeline ``shop`` with two phases; a pipeline ``other`` for the admin."""
    for client, body in ((team_a, {"name": "shop", "phases": [{"name": "stage"}, {"name": "production"}],
                                   "push": {"registry": "ghcr.io", "repositoryPrefix": "team-a/shop"}}),
                         (admin, {"name": "other", "phases": [{"name": "stage"}]})):
        response = client.post("/api/v1/pipelines", json=body)
        assert response.status_code == 201, response.text


def _decoded_config(secret: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])))


def _password_in(secret: dict[str, Any], registry: str) -> tuple[str, str]:
    entry = _decoded_config(secret)["auths"][registry]
    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    return user, password


def _phase(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in view["phases"] if p["phase"] == name)


def _entry(phase: dict[str, Any], registry: str) -> dict[str, Any]:
    return next(e for e in phase["pull"] if e["registry"] == registry)


# Setting by value, per layer


def test_a_pipeline_credential_set_by_value_lands_in_a_managed_secret_owned_by_the_pipeline(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    password = sandbox.canary("pipeline")
    response = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "ghcr.io/team-a", "username": "bot", "password": password, "usage": ["pull", "push"]})
    assert response.status_code == 200, response.text
    change = response.json()
    assert change["layer"] == "pipeline"
    assert change["pipeline"] == "shop"
    assert change["phase"] is None
    assert change["registry"] == "ghcr.io/team-a"
    assert change["oldFingerprint"] is None
    assert FINGERPRINT.match(change["newFingerprint"])
    ref = change["secretRef"]
    assert ref["namespace"] == SYSTEM_NAMESPACE

    secret = kube.secret(ref["namespace"], ref["name"])
    assert secret is not None
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    labels = secret["metadata"]["labels"]
    assert labels["shipway.dev/credential"] == "true"
    assert labels["app.kubernetes.io/managed-by"] == "shipway-api"
    assert labels["shipway.dev/pipeline"] == "shop"
    assert secret["metadata"]["annotations"]["shipway.dev/registry"] == "ghcr.io/team-a"
    assert secret["metadata"]["annotations"]["shipway.dev/layer"] == "pipeline"
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Pipeline", "shop", pipeline["metadata"]["uid"])
    assert _password_in(secret, "ghcr.io/team-a") == ("bot", password)  # the scanner's positive control

    assert pipeline["spec"]["registry"]["credentials"] == [{"secretRef": ref, "usage": ["pull", "push"]}]
    assert password not in json.dumps(pipeline)


def test_setting_the_same_registry_again_switches_to_a_new_secret_and_reports_both_fingerprints(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    first = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "ghcr.io", "username": "bot", "password": sandbox.canary("first")}).json()
    password = sandbox.canary("second")
    second = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "ghcr.io", "username": "bot", "password": password})
    assert second.status_code == 200, second.text
    change = second.json()
    # A new value is a new version of the managed Secret: the layer switched to it in one write (the commit
    # point) and the old version is gone.
    stem = first["secretRef"]["name"].rsplit("-", 1)[0]
    assert change["secretRef"]["name"].startswith(f"{stem}-") and change["secretRef"] != first["secretRef"]
    assert kube.secret(first["secretRef"]["namespace"], first["secretRef"]["name"]) is None
    assert change["oldFingerprint"] == first["newFingerprint"]
    assert change["newFingerprint"] != first["newFingerprint"]
    secret = kube.secret(change["secretRef"]["namespace"], change["secretRef"]["name"])
    assert secret is not None
    assert _password_in(secret, "ghcr.io") == ("bot", password)
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    refs = [c["secretRef"] for c in pipeline["spec"]["registry"]["credentials"]]
    assert refs.count(change["secretRef"]) == 1


def test_a_credential_from_a_docker_config_has_the_fingerprint_of_the_same_username_and_password(
        sandbox: Sandbox, admin: httpx.Client) -> None:
    password = sandbox.canary("dockerconfig")
    by_value = admin.put("/api/v1/pipelines/other/credentials", json={
        "registry": "quay.io", "username": "robot", "password": password})
    assert by_value.status_code == 200, by_value.text
    by_config = admin.put("/api/v1/pipelines/other/credentials", json={
        "registry": "quay.io", "dockerconfig": docker_config("quay.io", "robot", password)})
    assert by_config.status_code == 200, by_config.text
    assert by_config.json()["oldFingerprint"] == by_value.json()["newFingerprint"]
    assert by_config.json()["newFingerprint"] == by_value.json()["newFingerprint"]


def test_a_phase_credential_set_from_a_docker_config_is_in_the_phase_layer_only(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    password = sandbox.canary("phase")
    config = docker_config("ghcr.io", "deployer", password)
    response = team_a.put("/api/v1/pipelines/shop/phases/production/credentials",
                          json={"registry": "ghcr.io", "dockerconfig": config})
    assert response.status_code == 200, response.text
    change = response.json()
    assert (change["layer"], change["pipeline"], change["phase"]) == ("phase", "shop", "production")
    secret = kube.secret(change["secretRef"]["namespace"], change["secretRef"]["name"])
    assert secret is not None
    assert secret["metadata"]["annotations"]["shipway.dev/layer"] == "phase"
    assert secret["metadata"]["ownerReferences"][0]["name"] == "shop"
    assert _password_in(secret, "ghcr.io") == ("deployer", password)

    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    production = next(p for p in pipeline["spec"]["phases"] if p["name"] == "production")
    stage = next(p for p in pipeline["spec"]["phases"] if p["name"] == "stage")
    assert production["registry"]["credentials"] == [{"secretRef": change["secretRef"], "usage": ["pull"]}]
    assert not (stage.get("registry") or {}).get("credentials")


def test_a_platform_credential_set_by_value_is_managed_has_no_owner_and_is_inherited(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube) -> None:
    password = sandbox.canary("platform")
    response = admin.put("/api/v1/platform/credentials", json={
        "registry": "mirror.example.com", "username": "platform-bot", "password": password})
    assert response.status_code == 200, response.text
    change = response.json()
    assert (change["layer"], change["pipeline"], change["phase"]) == ("platform", None, None)
    secret = kube.secret(change["secretRef"]["namespace"], change["secretRef"]["name"])
    assert secret is not None
    assert "ownerReferences" not in secret["metadata"]
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "shipway-api"
    refs = [c["secretRef"] for c in kube.platform()["spec"]["registry"]["credentials"]]
    assert change["secretRef"] in refs

    platform = admin.get("/api/v1/platform").json()
    assert {"secretRef": change["secretRef"], "usage": ["pull"], "managed": True, "registry": None} \
        in platform["credentials"]
    view = admin.get("/api/v1/pipelines/shop/effective").json()
    entry = _entry(_phase(view, "stage"), "mirror.example.com")
    assert (entry["source"], entry["fingerprint"]) == ("platform", change["newFingerprint"])


# Referencing an existing Secret, removing


def test_a_pipeline_layer_references_a_secret_in_one_of_its_phase_namespaces(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube) -> None:
    kube.shipway_namespace("shop-stage")
    kube.create_secret(secret_manifest("shop-stage", "byo-docker", registry="docker.io", username="hub",
                                       password=sandbox.canary("byo")))
    response = admin.post("/api/v1/pipelines/shop/phases/stage/credentials/references",
                          json={"secretRef": {"namespace": "shop-stage", "name": "byo-docker"}})
    assert response.status_code == 200, response.text
    change = response.json()
    assert change["layer"] == "phase"
    assert change["secretRef"] == {"namespace": "shop-stage", "name": "byo-docker"}
    assert re.match(r"^docker\.io=sha256:[0-9a-f]{16}$", change["newFingerprint"])
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    stage = next(p for p in pipeline["spec"]["phases"] if p["name"] == "stage")
    assert stage["registry"]["credentials"] == [{"secretRef": change["secretRef"], "usage": ["pull"]}]

    got = admin.get("/api/v1/pipelines/shop").json()
    stage_out = next(p for p in got["phases"] if p["name"] == "stage")
    assert stage_out["credentials"] == [{"secretRef": change["secretRef"], "usage": ["pull"], "managed": False,
                                         "registry": None}]


def test_a_team_references_its_own_secret_that_consents_to_the_pipeline(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    kube.create_secret(secret_manifest("team-a", "shop-quay", registry="quay.io", username="qa",
                                       password=sandbox.canary("consent"), consent="shop"))
    response = team_a.post("/api/v1/pipelines/shop/credentials/references",
                           json={"secretRef": {"namespace": "team-a", "name": "shop-quay"}, "usage": ["pull"]})
    assert response.status_code == 200, response.text
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    assert {"secretRef": {"namespace": "team-a", "name": "shop-quay"}, "usage": ["pull"]} \
        in pipeline["spec"]["registry"]["credentials"]


def test_removing_a_reference_leaves_the_referenced_secret_alone(team_a: httpx.Client, kube: Kube) -> None:
    response = team_a.delete("/api/v1/pipelines/shop/credentials",
                             params={"secretNamespace": "team-a", "secretName": "shop-quay"})
    assert response.status_code == 200, response.text
    assert response.json()["newFingerprint"] is None
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    assert {"namespace": "team-a", "name": "shop-quay"} not in [
        c["secretRef"] for c in pipeline["spec"]["registry"]["credentials"]]
    assert kube.secret("team-a", "shop-quay") is not None


def test_removing_a_credential_set_by_value_deletes_its_managed_secret(
        sandbox: Sandbox, admin: httpx.Client, kube: Kube) -> None:
    set_ = admin.put("/api/v1/pipelines/other/phases/stage/credentials", json={
        "registry": "gitlab.example.com:5050", "username": "ci", "password": sandbox.canary("gone")}).json()
    ref = set_["secretRef"]
    assert kube.secret(ref["namespace"], ref["name"]) is not None
    response = admin.delete("/api/v1/pipelines/other/phases/stage/credentials",
                            params={"registry": "gitlab.example.com:5050"})
    assert response.status_code == 200, response.text
    change = response.json()
    assert change["secretRef"] == ref
    assert change["oldFingerprint"] == set_["newFingerprint"]
    assert change["newFingerprint"] is None
    assert kube.secret(ref["namespace"], ref["name"]) is None
    pipeline = kube.pipeline("other")
    assert pipeline is not None
    assert not (pipeline["spec"]["phases"][0].get("registry") or {}).get("credentials")
    again = admin.delete("/api/v1/pipelines/other/phases/stage/credentials",
                         params={"registry": "gitlab.example.com:5050"})
    assert again.status_code == 404


def test_removing_a_platform_credential_deletes_its_managed_secret(admin: httpx.Client, kube: Kube) -> None:
    response = admin.delete("/api/v1/platform/credentials", params={"registry": "mirror.example.com"})
    assert response.status_code == 200, response.text
    ref = response.json()["secretRef"]
    assert kube.secret(ref["namespace"], ref["name"]) is None
    assert ref not in [c["secretRef"] for c in kube.platform()["spec"]["registry"]["credentials"]]


# The effective view, explain, verify


def test_the_effective_view_shows_per_phase_key_layer_source_fingerprint_usage_and_verified(
        team_a: httpx.Client, sandbox: Sandbox) -> None:
    response = team_a.get("/api/v1/pipelines/shop/effective")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["pipeline"] == "shop"
    assert [p["phase"] for p in view["phases"]] == ["stage", "production"]
    for phase in view["phases"]:
        for entry in [*phase["pull"], phase["push"]]:
            assert set(entry) >= {"registry", "key", "source", "secretRef", "fingerprint", "usage", "verified"}
            assert FINGERPRINT.match(entry["fingerprint"])
            assert entry["verified"] is None  # the sandbox runs with --verify-interval 0: nothing checked yet

    production = _phase(view, "production")
    team = _entry(production, "ghcr.io/team-a")
    assert (team["source"], team["usage"]) == ("pipeline", ["pull", "push"])
    assert team["secretRef"]["namespace"] == SYSTEM_NAMESPACE
    # The phase layer's ghcr.io overrides the pipeline layer's ghcr.io in production only.
    ghcr = _entry(production, "ghcr.io")
    assert ghcr["source"] == "phase"
    assert [o["source"] for o in ghcr["overrides"]] == ["pipeline"]
    assert _entry(_phase(view, "stage"), "ghcr.io")["source"] == "pipeline"
    assert _entry(_phase(view, "stage"), "docker.io")["source"] == "phase"
    assert _entry(production, sandbox.registry)["source"] == "platform"
    # Builds push to ghcr.io/team-a/shop with the pipeline's push credential.
    assert production["pushRepository"] == "ghcr.io/team-a/shop"
    assert (production["push"]["registry"], production["push"]["source"]) == ("ghcr.io/team-a", "pipeline")


def test_a_pipeline_that_does_not_inherit_gets_no_platform_entries_until_it_does(
        admin: httpx.Client) -> None:
    created = admin.post("/api/v1/pipelines", json={"name": "isolated", "phases": [{"name": "stage"}],
                                                    "inherit": False})
    assert created.status_code == 201, created.text
    stage = _phase(admin.get("/api/v1/pipelines/isolated/effective").json(), "stage")
    assert stage["pull"] == []
    assert stage["push"] is None
    assert [f["reason"] for f in stage["findings"]] == ["PushCredentialMissing"]

    updated = admin.put("/api/v1/pipelines/isolated", json={"phases": [{"name": "stage"}], "inherit": True})
    assert updated.status_code == 200, updated.text
    stage = _phase(admin.get("/api/v1/pipelines/isolated/effective").json(), "stage")
    assert {e["source"] for e in stage["pull"]} == {"platform"}
    assert stage["push"]["source"] == "platform"
    assert stage["findings"] == []


def test_explain_lists_the_kubelet_try_order_most_specific_key_first_with_reasons(team_a: httpx.Client) -> None:
    response = team_a.get("/api/v1/pipelines/shop/phases/production/explain",
                          params={"image": "ghcr.io/team-a/shop:1.0"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["pipeline"], answer["phase"], answer["image"]) == ("shop", "production", "ghcr.io/team-a/shop:1.0")
    assert answer["normalized"] == "ghcr.io/team-a/shop"
    tries = answer["tries"]
    assert [(t["order"], t["key"], t["layer"]) for t in tries] == [(1, "ghcr.io/team-a", "pipeline"),
                                                                  (2, "ghcr.io", "phase")]
    for attempt in tries:
        assert attempt["key"] in attempt["reason"]
        assert "matches" in attempt["reason"]
        assert FINGERPRINT.match(attempt["fingerprint"])
    assert "in order" in answer["note"]


def test_explain_normalizes_docker_hub_images_and_says_so_when_no_pull_secret_matches(team_a: httpx.Client) -> None:
    response = team_a.get("/api/v1/pipelines/shop/phases/stage/explain", params={"image": "nginx:1.27"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["normalized"] == "docker.io/library/nginx"
    assert [t["key"] for t in answer["tries"]] == ["docker.io"]  # the phase's referenced Docker Hub Secret
    other = team_a.get("/api/v1/pipelines/shop/phases/stage/explain", params={"image": "example.org/app:1"})
    assert other.json()["tries"] == []
    assert "no pull secret" in other.json()["note"]


def test_verify_of_a_stored_credential_reports_an_unreachable_registry_without_the_password(
        sandbox: Sandbox, team_a: httpx.Client) -> None:
    password = sandbox.canary("verify")
    set_ = team_a.put("/api/v1/pipelines/shop/phases/stage/credentials", json={
        "registry": UNREACHABLE_REGISTRY, "username": "checker", "password": password})
    assert set_.status_code == 200, set_.text
    response = team_a.post("/api/v1/pipelines/shop/verify", json={
        "registry": UNREACHABLE_REGISTRY, "phase": "stage", "repository": "team-a/shop"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["valid"]["ok"] is False
    assert result["valid"]["outcome"] == "Unreachable"
    assert (result["pipeline"], result["phase"], result["source"]) == ("shop", "stage", "phase")
    assert result["fingerprint"] == set_.json()["newFingerprint"]
    assert "username" not in result
    assert password not in response.text


def test_verify_of_a_registry_without_a_stored_credential_is_refused_naming_the_field(
        team_a: httpx.Client) -> None:
    response = team_a.post("/api/v1/pipelines/shop/verify", json={"registry": "nowhere.example", "phase": "stage"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "registry"


# Write-only values


def test_no_read_endpoint_returns_a_password_set_in_this_module(
        sandbox: Sandbox, admin: httpx.Client, team_a: httpx.Client) -> None:
    for client, path in ((team_a, "/api/v1/pipelines"), (team_a, "/api/v1/pipelines/shop"),
                         (team_a, "/api/v1/pipelines/shop/effective"), (admin, "/api/v1/platform"),
                         (admin, "/api/v1/pipelines/other/effective")):
        assert client.get(path).status_code == 200
    assert sandbox.canaries
    assert sandbox.canary_hits() == []


def test_no_custom_resource_holds_a_credential_value_only_secret_references(kube: Kube) -> None:
    for pipeline in kube.pipelines():
        layers = [pipeline["spec"]["registry"], *((p.get("registry") or {}) for p in pipeline["spec"]["phases"])]
        for layer in layers:
            for credential in layer.get("credentials") or []:
                assert set(credential) == {"secretRef", "usage"}
    for credential in kube.platform()["spec"]["registry"]["credentials"]:
        assert set(credential) == {"secretRef", "usage"}


# The audit trail


def _events(kube: Kube, pipeline: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in kube.events_of(pipeline) if e["reason"] == reason]


def test_every_credential_set_emits_an_event_on_the_pipeline_naming_who_layer_registry_and_fingerprints(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    first = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "registry.gitlab.com", "username": "audit", "password": sandbox.canary("audit1")}).json()
    second = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "registry.gitlab.com", "username": "audit", "password": sandbox.canary("audit2")}).json()
    pipeline = kube.pipeline("shop")
    assert pipeline is not None
    events = [e for e in _events(kube, "shop", "CredentialSet") if "registry.gitlab.com" in e["message"]]
    messages = sorted(e["message"] for e in events)
    assert messages == sorted([
        f"pipeline credential for registry.gitlab.com: none -> {first['newFingerprint']} (by team-a)",
        f"pipeline credential for registry.gitlab.com: {first['newFingerprint']} -> {second['newFingerprint']} "
        "(by team-a)",
    ])
    for event in events:
        assert event["metadata"]["namespace"] == "default"
        assert event["involvedObject"]["kind"] == "Pipeline"
        assert event["involvedObject"]["uid"] == pipeline["metadata"]["uid"]
        assert event["type"] == "Normal"
        assert event["source"]["component"] == "shipway-api"


def test_a_phase_credential_change_event_names_the_phase_layer(kube: Kube) -> None:
    messages = [e["message"] for e in _events(kube, "shop", "CredentialSet")]
    assert any(m.startswith("phase credential for ghcr.io: none -> sha256:") and m.endswith("(by team-a)")
               for m in messages), messages


def test_a_reference_emits_an_event_naming_who_layer_secret_registry_and_fingerprint(kube: Kube) -> None:
    messages = [e["message"] for e in _events(kube, "shop", "CredentialReferenced")]
    assert any(re.fullmatch(r"phase references Secret shop-stage/byo-docker \(docker\.io=sha256:[0-9a-f]{16}\) "
                            r"\(by admin\)", m) for m in messages), messages
    assert any(re.fullmatch(r"pipeline references Secret team-a/shop-quay \(quay\.io=sha256:[0-9a-f]{16}\) "
                            r"\(by team-a\)", m) for m in messages), messages


def test_a_removal_emits_an_event_naming_who_layer_registry_secret_and_old_fingerprint(kube: Kube) -> None:
    messages = [e["message"] for e in _events(kube, "other", "CredentialRemoved")]
    assert any(re.fullmatch(r"phase credential for \S+ removed \(Secret shipway-system/shipway-phase-other-stage-"
                            r"[0-9a-f-]+\): sha256:[0-9a-f]{16} -> none \(by admin\)", m) for m in messages), messages
    messages = [e["message"] for e in _events(kube, "shop", "CredentialRemoved")]
    assert any(re.fullmatch(r"pipeline credential for quay\.io removed \(Secret team-a/shop-quay\): "
                            r"sha256:[0-9a-f]{16} -> none \(by team-a\)", m) for m in messages), messages


def _audit(sandbox: Sandbox, *needles: str) -> dict[str, Any]:
    """The first structured audit line of the sandbox whose JSON holds every needle."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(sandbox.output.lines):
            if "shipway.audit" in line and " audit {" in line:
                record = json.loads(line.split(" audit ", 1)[1])
                if all(n in json.dumps(record) for n in needles):
                    return dict(record)
        time.sleep(0.05)
    raise AssertionError(f"no audit line with {needles} in:\n{sandbox.output.text[-3000:]}")


def test_every_credential_change_is_a_structured_audit_log_line_of_the_sandbox(sandbox: Sandbox) -> None:
    record = _audit(sandbox, '"reason": "CredentialSet"', '"user": "team-a"', "registry.gitlab.com",
                    '"oldFingerprint": "sha256:')  # a rotation: old and new fingerprints
    assert record["layer"] == "pipeline" and record["registry"] == "registry.gitlab.com"
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", record["oldFingerprint"])
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", record["newFingerprint"])
    platform = _audit(sandbox, '"reason": "CredentialSet"', '"user": "admin"', "mirror.example.com")
    assert platform["layer"] == "platform" and platform["oldFingerprint"] is None
    referenced = _audit(sandbox, '"reason": "CredentialReferenced"', "shop-quay")
    assert referenced["user"] == "team-a" and referenced["newFingerprint"].startswith("quay.io=sha256:")
    removed = _audit(sandbox, '"reason": "CredentialRemoved"', '"user": "admin"', '"layer": "platform"')
    assert removed["newFingerprint"] is None


# Deleting the pipeline


def test_deleting_a_pipeline_deletes_its_managed_secrets_but_not_referenced_ones(
        admin: httpx.Client, team_a: httpx.Client, kube: Kube) -> None:
    managed = [s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)
               if s["metadata"].get("labels", {}).get("shipway.dev/pipeline") == "shop"]
    assert len(managed) >= 4
    response = team_a.delete("/api/v1/pipelines/shop")
    assert response.status_code == 204
    kube.wait_for("the managed Secrets of shop to be collected", lambda: not [
        s for s in kube.secrets(SYSTEM_NAMESPACE) if s["metadata"].get("labels", {}).get("shipway.dev/pipeline")
        == "shop"])
    assert kube.secret("team-a", "shop-quay") is not None
    others = [s for s in kube.secrets(SYSTEM_NAMESPACE)
              if s["metadata"].get("labels", {}).get("shipway.dev/pipeline") == "other"]
    assert others, "the other pipeline's managed Secrets must stay"
    assert admin.get("/api/v1/pipelines/other/effective").status_code == 200
