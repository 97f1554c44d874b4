"""No secret values leave Secrets: a canary planted in every password of every source Secret never shows
in a Pipeline's status, in an Event, or in the operator's output, whatever happens to the sources, and even
with the operator's verbose logging on.
"""

from __future__ import annotations

import base64
import json

from .helpers import (
    CANARY,
    PLATFORM,
    PLATFORM_HUB,
    PLATFORM_REGISTRY,
    Shipway,
    assert_no_canary,
    canary_password,
    condition,
    consent,
    credential,
    pipeline,
    team_source,
)


def raw_source(shipway: Shipway, name: str, payload: object, *, type_: str = "kubernetes.io/dockerconfigjson",
               key: str = ".dockerconfigjson") -> dict[str, str]:
    """A labelled source Secret in team-a with any payload at all; its reference."""
    shipway.ensure_namespace("team-a")
    data = payload if isinstance(payload, str) else json.dumps(payload)
    shipway.api.create({
        "apiVersion": "v1", "kind": "Secret", "type": type_,
        "metadata": {"name": name, "namespace": "team-a", "labels": {"shipway.dev/credential": "true"},
                     "annotations": consent("*")},
        "data": {key: base64.b64encode(data.encode()).decode()},
    }, "secrets")
    return {"namespace": "team-a", "name": name}


def test_a_canary_password_never_appears_in_status_events_or_operator_output(shipway: Shipway) -> None:
    quiet_output = shipway.cluster.operator.output.text if shipway.cluster.operator else ""
    assert shipway.cluster.operator is not None
    shipway.cluster.operator.kill()
    verbose = shipway.cluster.start_operator(extra_args=("--verbose",))
    secret = canary_password("bad")
    refs = [
        raw_source(shipway, "identity", {"auths": {"ghcr.io": {"identitytoken": secret}}}),
        raw_source(shipway, "helpers", {"auths": {"ghcr.io": {"username": "u", "password": secret}},
                                        "credsStore": secret}),
        raw_source(shipway, "bad-auth", {"auths": {"ghcr.io": {"auth": secret}}}),
        raw_source(shipway, "no-colon", {"auths": {"ghcr.io": {
            "auth": base64.b64encode(secret.encode()).decode()}}}),
        raw_source(shipway, "unknown-field", {"auths": {"ghcr.io": {"username": "u", "passwd": secret}}}),
        raw_source(shipway, "wrapped-cfg", {"auths": {"ghcr.io": {"username": "u", "password": secret}}},
                   type_="kubernetes.io/dockercfg", key=".dockercfg"),
    ]
    # A dockerconfigjson Secret that is not JSON never reaches the operator: the API server refuses it (422),
    # and its answer does not carry the value.
    not_json = base64.b64encode(f'{{"auths": {{"ghcr.io": {{"password": "{secret}"'.encode()).decode()
    refused_source = shipway.api.client.post("/api/v1/namespaces/team-a/secrets", json={
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "not-json", "namespace": "team-a"}, "data": {".dockerconfigjson": not_json}})
    assert refused_source.status_code == 422, refused_source.text
    assert secret not in refused_source.text and not_json not in refused_source.text
    good = team_source("team-a", "good", key="quay.io", username="good-bot", tag="good")
    shipway.apply_source(good, annotations=consent("*"))
    for index, ref in enumerate(refs):
        shipway.create_pipeline(pipeline(f"leak-{index}", phases=["stage"], credentials=[
            {"secretRef": ref}, credential(good, "pull", "push")]))
    shipway.create_pipeline(pipeline("leak-consent", phases=["stage"], credentials=[
        credential(team_source("team-b", "private", tag="private"))]))
    shipway.apply_source(team_source("team-b", "private", tag="private"))
    for index in range(len(refs)):
        body = shipway.settled(f"leak-{index}")
        assert condition(body, "Ready")["reason"] == "InvalidDockerConfig", (refs[index], condition(body, "Ready"))
    refused = shipway.settled("leak-consent", check=lambda b: condition(b, "Ready")["reason"] == "SourceNotUsable")
    assert condition(refused, "Ready")["status"] == "False"

    # Rotations of the platform credential and of a good source, while pipelines use them.
    rotated = PLATFORM.with_creds(PLATFORM_REGISTRY.rotated(canary_password("rotated")),
                                  PLATFORM_HUB.rotated(canary_password("hub-rotated")))
    shipway.apply_source(rotated)
    shipway.apply_source(good.with_creds(good.creds[0].rotated(canary_password("good-rotated"))),
                         annotations=consent("*"))
    shipway.quiet(period=1.0)

    assert "reconciled" in verbose.output.text  # the output is really being read
    assert " DEBUG " in verbose.output.text  # and it is the verbose output
    assert_no_canary(shipway.cluster, outputs=[quiet_output],
                     creds=[*rotated.creds, *good.creds, good.creds[0].rotated(canary_password("good-rotated"))])
    for body in shipway.api.list("shipway.dev/v1alpha1", "pipelines"):
        assert CANARY not in json.dumps(body["status"])
