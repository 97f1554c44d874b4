"""Conditions and reasons: what a Pipeline's status says when a source is missing, invalid, not consented
to, or when builds have nowhere to get push rights from; and that fixing the cause is picked up by itself.
"""

from __future__ import annotations

import base64
import json

from .helpers import (
    PLATFORM_PUSH,
    Effective,
    PhaseExpectation,
    Shipway,
    assert_delivery_writes,
    assert_phase,
    assert_status,
    canary_password,
    condition,
    consent,
    credential,
    pipeline,
    platform_entries,
    team_source,
    usernames,
)

PHASES = ("stage", "production")


def inheriting(name: str, *extra: Effective, push: Effective | None = PLATFORM_PUSH) -> list[PhaseExpectation]:
    return [PhaseExpectation(name, p, pull=[*platform_entries(), *extra], push=push) for p in PHASES]


def test_a_missing_source_secret_makes_the_pipeline_not_ready_until_it_appears(shared: Shipway) -> None:
    missing = team_source("team-a", "miss-registry", key="ghcr.io/team-a", tag="miss")
    shared.create_pipeline(pipeline("miss", credentials=[credential(missing)]))
    body = shared.settled("miss")
    expected = inheriting("miss")  # what can be delivered still is
    for exp in expected:
        assert_phase(shared.api, body, exp)
    assert_status(body, expected, ready=("False", "SourceNotUsable"), degraded=("True", "SourceNotUsable"))
    assert "team-a/miss-registry" in condition(body, "Ready")["message"]
    shared.reset()

    shared.apply_source(missing, annotations=consent("miss"))
    body = shared.settled("miss", check=lambda b: condition(b, "Ready")["status"] == "True")
    expected = inheriting("miss", Effective(missing.creds[0], "pipeline", missing))
    for exp in expected:
        assert_phase(shared.api, body, exp)
    assert_status(body, expected)
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}


def test_a_source_relying_on_a_credential_helper_is_refused_as_an_invalid_docker_config(shared: Shipway) -> None:
    payload = {"auths": {"ghcr.io": {"username": "helper-bot", "password": canary_password("helper")}},
               "credHelpers": {"ghcr.io": "ecr-login"}}
    shared.ensure_namespace("team-a")
    shared.api.create({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "helper-registry", "namespace": "team-a", "labels": {"shipway.dev/credential": "true"},
                     "annotations": consent("helper")},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(payload).encode()).decode()},
    }, "secrets")
    shared.create_pipeline(pipeline("helper", credentials=[{"secretRef": {"namespace": "team-a",
                                                                          "name": "helper-registry"}}]))
    body = shared.settled("helper")
    expected = inheriting("helper")
    for exp in expected:
        assert_phase(shared.api, body, exp)
        pull = shared.api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None
        assert "ghcr.io" not in usernames(pull)
    assert_status(body, expected, ready=("False", "InvalidDockerConfig"), degraded=("True", "InvalidDockerConfig"))
    assert "credHelpers" in condition(body, "Ready")["message"]


def test_a_push_target_without_a_push_capable_credential_is_degraded_and_gets_no_push_objects(
    shared: Shipway,
) -> None:
    reader = team_source("team-a", "nopush-registry", key="ghcr.io/team-a", tag="nopush")
    shared.apply_source(reader, annotations=consent("nopush"))
    shared.reset()
    shared.create_pipeline(pipeline("nopush", credentials=[credential(reader, "pull")],
                                    push={"registry": "ghcr.io", "repositoryPrefix": "team-a/nopush"}))
    body = shared.settled("nopush")
    expected = inheriting("nopush", Effective(reader.creds[0], "pipeline", reader), push=None)
    for exp in expected:
        assert_phase(shared.api, body, exp)
    # A push target without a push credential cannot have its push Secret: not Ready, and says why.
    assert_status(body, expected, ready=("False", "PushCredentialMissing"),
                  degraded=("True", "PushCredentialMissing"))
    assert "ghcr.io/team-a/nopush" in condition(body, "Degraded")["message"]
    assert all("pushSecret" not in p for p in body["status"]["phases"])
    assert_delivery_writes(shared.writes(), {"create namespaces": 2, "create secrets": 2,
                                             "patch serviceaccounts": 2}, phases=2)


def test_a_secret_outside_the_pipeline_is_used_only_with_the_consent_annotation_naming_it(shared: Shipway) -> None:
    foreign = team_source("team-b", "cons-registry", key="ghcr.io/team-b", username="team-b-bot", tag="cons")
    shared.apply_source(foreign, annotations=consent("someone-else"))
    shared.create_pipeline(pipeline("cons", credentials=[credential(foreign)]))
    body = shared.settled("cons")
    expected = inheriting("cons")
    for exp in expected:
        assert_phase(shared.api, body, exp)
        pull = shared.api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None
        assert "ghcr.io/team-b" not in usernames(pull)
    assert_status(body, expected, ready=("False", "SourceNotUsable"), degraded=("True", "SourceNotUsable"))
    assert "team-b/cons-registry" in condition(body, "Ready")["message"]
    shared.reset()

    shared.api.patch("v1", "secrets", "cons-registry",
                     {"metadata": {"annotations": consent("someone-else, cons")}},
                     namespace="team-b")
    body = shared.settled("cons", check=lambda b: condition(b, "Ready")["status"] == "True")
    expected = inheriting("cons", Effective(foreign.creds[0], "pipeline", foreign))
    for exp in expected:
        assert_phase(shared.api, body, exp)
        pull = shared.api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None
        assert usernames(pull)["ghcr.io/team-b"] == "team-b-bot"
    assert_status(body, expected)
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}
