"""Status tells the truth: invalid, duplicate-namespace and oversized specs are never Ready; Ready turns True
only once every phase has what it should (the pull secret listed by the default ServiceAccount); names and
lengths are checked by the schema. These specs are written straight to the API server (no admission
webhook in this cluster): the operator is the second belt.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.support.cluster import Cluster

from .helpers import GROUP_VERSION, Shipway, condition, consent, credential, pipeline, team_source


def _not_ready(body: dict[str, Any], reason: str) -> None:
    ready = condition(body, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", reason), ready
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]


@pytest.mark.parametrize(("name", "why"), [
    pytest.param("Upper", "uppercase", id="an uppercase pipeline name is refused by the schema"),
    pytest.param("x" * 64, "too long", id="a pipeline name over 63 characters is refused by the schema"),
])
def test_names_the_schema_refuses_never_reach_the_operator(shared: Shipway, name: str, why: str) -> None:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        shared.create_pipeline(pipeline(name))
    assert refused.value.response.status_code == 422, why
    assert "metadata.name" in refused.value.response.text


def test_a_spec_the_core_finds_invalid_is_never_ready_and_gets_no_namespace(shared: Shipway) -> None:
    # Two phases in one namespace: the schema cannot say it, the core can.
    shared.create_pipeline(pipeline("twice", phases=[{"name": "stage", "namespace": "twice-stage"},
                                                     {"name": "production", "namespace": "twice-stage"}]))
    _not_ready(shared.settled("twice"), "InvalidSpec")
    # A push target whose port is out of range.
    shared.create_pipeline(pipeline("badport", push={"registry": "localhost:99999", "repositoryPrefix": "x"}))
    body = shared.settled("badport")
    _not_ready(body, "InvalidSpec")
    assert "port" in condition(body, "Ready")["message"]
    for namespace in ("twice-stage", "badport-stage", "badport-production"):
        assert shared.api.get("v1", "namespaces", namespace) is None


def test_a_pull_secret_that_would_not_fit_in_a_kubernetes_object_is_refused_up_front(shared: Shipway) -> None:
    # Three sources, each fitting in a Secret, whose entries together would not fit in one shipway-pull.
    sources = []
    for index in range(3):
        source = team_source("team-a", f"big-{index}", key=f"big{index}.example.com", tag=f"big{index}")
        shared.ensure_namespace("team-a")
        payload = {"auths": {f"big{index}.example.com": {"username": "u", "password": "p" * 400_000}}}
        shared.api.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                           "metadata": {"name": source.name, "namespace": "team-a",
                                        "labels": {"shipway.dev/credential": "true"},
                                        "annotations": consent("huge")},
                           "data": {".dockerconfigjson": base64.b64encode(json.dumps(payload).encode()).decode()}},
                          "secrets")
        sources.append(source)
    shared.create_pipeline(pipeline("huge", phases=["stage"], credentials=[credential(s) for s in sources]))
    body = shared.settled("huge")
    _not_ready(body, "SecretTooLarge")
    assert body["status"]["phases"][0]["ready"] is False
    assert shared.api.get("v1", "secrets", "shipway-pull", namespace="huge-stage") is None
    # Refused once, not retried: the operator is quiet, and other pipelines are served as usual.
    shared.reset()
    shared.create_pipeline(pipeline("small", phases=["stage"]))
    assert condition(shared.settled("small"), "Ready")["status"] == "True"
    assert not [r for r in shared.api.operator_writes() if "huge" in r["path"]]


def test_ready_turns_true_only_after_the_default_service_account_lists_the_pull_secret(slow_cluster: Cluster) -> None:
    """With a ServiceAccount controller seconds late (within the operator's wait for it), the operator writes
    no status until the default ServiceAccount lists shipway-pull: never Ready before delivery, and no
    Ready=False (nor Event) the next second overturns."""
    shipway = Shipway(slow_cluster)
    shipway.create_pipeline(pipeline("late"))
    seen: list[tuple[str, bool]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = shipway.pipeline("late") or {}
        ready = next((c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)
        listed = all(
            {"name": "shipway-pull"} in ((shipway.api.get("v1", "serviceaccounts", "default", namespace=ns) or {})
                                         .get("imagePullSecrets") or [])
            for ns in ("late-stage", "late-production"))
        if ready is not None:
            seen.append((ready["status"], listed))
            if ready["status"] == "True":
                break
        time.sleep(0.05)
    assert seen and seen[-1] == ("True", True), seen
    assert ("True", False) not in seen  # never Ready before delivery
    reasons = [e["reason"] for e in shipway.events("late")]
    assert "Delivered" in reasons and "Ready" in reasons and "ServiceAccountPending" not in reasons


def test_delivery_and_rotation_are_events_on_the_pipeline(shared: Shipway) -> None:
    team = team_source("team-a", "ev-registry", key="ghcr.io/team-a", tag="ev")
    shared.apply_source(team, annotations=consent("evented"))
    shared.create_pipeline(pipeline("evented", phases=["stage"], credentials=[credential(team)]))
    shared.settled("evented")
    shared.apply_source(team.with_creds(team.creds[0].rotated("CANARY-7c1d5e93b2a44f08-rotated-ev")),
                        annotations=consent("evented"))
    shared.api.eventually(lambda: any(e["reason"] == "Rotated" for e in shared.events("evented")))
    events = shared.events("evented")
    reasons = [e["reason"] for e in events]
    assert "Delivered" in reasons and "Rotated" in reasons
    for event in events:
        assert event["regarding"]["kind"] == "Pipeline" and event["regarding"]["name"] == "evented"
        assert event["reportingController"] == "shipway.dev/operator"
    rotated = next(e for e in events if e["reason"] == "Rotated")
    assert "stage: pull credentials in evented-stage/shipway-pull changed sha256:" in rotated["note"]
    assert shared.api.get(GROUP_VERSION, "pipelines", "evented") is not None
