"""Zero copies: a phase whose only pull source already lives in its namespace gets a reference, not a copy;
a namespace Shipway did not create (and a platform admin adopted for the pipeline) is used as it is and
outlives the pipeline; the ``default`` ServiceAccount's entries that others put there are kept, in their order.
"""

from __future__ import annotations

from typing import Any

from .helpers import (
    Effective,
    PhaseExpectation,
    Shipway,
    assert_delivery_writes,
    assert_phase,
    assert_status,
    consent,
    credential,
    everything_labelled,
    phase,
    pipeline,
    team_source,
    usernames,
)

ZC_PUSH = {"registry": "ghcr.io", "repositoryPrefix": "team-a/zc"}


def default_account(shipway: Shipway, namespace: str) -> dict[str, Any]:
    account = shipway.api.get("v1", "serviceaccounts", "default", namespace=namespace)
    assert account is not None
    return account


def test_a_phase_whose_only_source_lives_in_its_own_foreign_namespace_references_it_without_a_copy(
    shipway: Shipway,
) -> None:
    # Someone else's namespace, with a credential of its own and a default ServiceAccount that already lists one.
    shipway.ensure_namespace("zc-stage")
    shipway.adopt("zc-stage", "zc")  # a namespace Shipway did not create: only by a platform admin's adoption
    shipway.api.eventually(lambda: shipway.api.get("v1", "serviceaccounts", "default", namespace="zc-stage"))
    shipway.api.patch("v1", "serviceaccounts", "default", {"imagePullSecrets": [{"name": "other"}]},
                      namespace="zc-stage")
    own = team_source("zc-stage", "own-registry", key="ghcr.io/team-a", username="zc-reader", tag="zc")
    shipway.apply_source(own)
    pusher = team_source("team-a", "zc-push", key="ghcr.io/team-a", username="zc-pusher", tag="zc-push")
    shipway.apply_source(pusher, annotations=consent("zc"))
    shipway.reset()

    shipway.create_pipeline(pipeline("zc", inherit=False, push=ZC_PUSH,
                                     credentials=[credential(own, "pull"), credential(pusher, "push")]))
    body = shipway.settled("zc")
    pull = Effective(own.creds[0], "pipeline", own)
    push = Effective(pusher.creds[0], "pipeline", pusher, ("push",))
    stage = PhaseExpectation("zc", "stage", pull=[pull], push=push, referenced="own-registry",
                             foreign_namespace=True, foreign_pull_secrets=["other"], other_secrets={"own-registry"})
    production = PhaseExpectation("zc", "production", pull=[pull], push=push)  # another namespace: a copy
    assert_phase(shipway.api, body, stage)
    assert_phase(shipway.api, body, production)
    assert_status(body, [stage, production])
    assert body["status"]["phases"][0]["pullSecret"] == "own-registry"
    copy = shipway.api.get("v1", "secrets", "shipway-pull", namespace="zc-production")
    assert copy is not None
    assert usernames(copy) == {"ghcr.io/team-a": "zc-reader"}
    # The source Secret itself is left exactly as it was.
    source = shipway.api.get("v1", "secrets", "own-registry", namespace="zc-stage")
    assert source is not None
    assert "ownerReferences" not in source["metadata"]
    assert source["metadata"]["labels"] == {"shipway.dev/credential": "true"}
    assert_delivery_writes(shipway.writes(), {
        # zc-stage is someone else's: its default ServiceAccount in the cache shows it exists, so no create.
        "create namespaces": 1,
        "create secrets": 3,  # shipway-push in both namespaces, shipway-pull in zc-production only
        "create serviceaccounts": 2,  # shipway-builder in both
        "patch serviceaccounts": 2,  # default in zc-production (the controller's) and in zc-stage: appended
        "create roles": 2, "create rolebindings": 2,
    }, phases=2)

    # Another party appends after Shipway's entry; a second pull source then needs a copy in zc-stage too.
    shipway.api.patch("v1", "serviceaccounts", "default", [{"op": "add", "path": "/imagePullSecrets/-",
                                                            "value": {"name": "later"}}],
                      namespace="zc-stage", content_type="application/json-patch+json")
    extra = team_source("team-a", "zc-extra", key="quay.io", username="zc-quay", tag="zc-quay")
    shipway.apply_source(extra, annotations=consent("zc"))
    shipway.reset()
    shipway.patch_pipeline("zc", {"spec": {"phases": [phase("stage", credential(extra), namespace=None),
                                                      phase("production")]}})
    body = shipway.settled("zc")
    stage = PhaseExpectation("zc", "stage", pull=[pull, Effective(extra.creds[0], "phase", extra)], push=push,
                             foreign_namespace=True, foreign_pull_secrets=["other", "later"],
                             other_secrets={"own-registry"})
    assert_phase(shipway.api, body, stage)
    assert_phase(shipway.api, body, production)
    assert_status(body, [stage, production])
    assert [r["name"] for r in default_account(shipway, "zc-stage")["imagePullSecrets"]] == [
        "other", "later", "shipway-pull"]
    assert shipway.writes() == {
        "create secrets": 1,  # shipway-pull in zc-stage
        "patch serviceaccounts": 3,  # shipway-builder's pull secret; default: own-registry removed, shipway-pull added
        "patch pipelines/status": 1,
    }


def test_a_namespace_shipway_did_not_create_outlives_the_pipeline_and_keeps_the_entries_of_others(
    shipway: Shipway,
) -> None:
    shipway.ensure_namespace("keep-stage")
    shipway.adopt("keep-stage", "keep")  # a namespace Shipway did not create: only by a platform admin's adoption
    shipway.api.eventually(lambda: shipway.api.get("v1", "serviceaccounts", "default", namespace="keep-stage"))
    shipway.api.patch("v1", "serviceaccounts", "default", {"imagePullSecrets": [{"name": "other"}]},
                      namespace="keep-stage")
    own = team_source("keep-stage", "own-registry", key="ghcr.io/team-a", username="keep-reader", tag="keep")
    shipway.apply_source(own)
    shipway.create_pipeline(pipeline("keep", phases=["stage"], inherit=False, credentials=[credential(own)],
                                     push={"registry": "ghcr.io", "repositoryPrefix": "team-a/keep"}))
    body = shipway.settled("keep")
    stage = PhaseExpectation("keep", "stage", pull=[Effective(own.creds[0], "pipeline", own)],
                             referenced="own-registry", foreign_namespace=True, foreign_pull_secrets=["other"],
                             other_secrets={"own-registry"})
    assert_phase(shipway.api, body, stage)
    # A push target without a push credential: reported, and no push objects.
    assert_status(body, [stage], ready=("False", "PushCredentialMissing"),
                  degraded=("True", "PushCredentialMissing"))
    shipway.reset()

    shipway.api.delete("shipway.dev/v1alpha1", "pipelines", "keep")
    shipway.api.eventually(lambda: "keep" not in [p["metadata"]["name"] for p in
                                                  shipway.api.list("shipway.dev/v1alpha1", "pipelines")])
    account = shipway.api.eventually(
        lambda: (a := default_account(shipway, "keep-stage"))["imagePullSecrets"] == [{"name": "other"}] and a)
    namespace = shipway.api.get("v1", "namespaces", "keep-stage")
    assert namespace is not None
    assert namespace["status"]["phase"] == "Active"
    assert shipway.api.get("v1", "secrets", "own-registry", namespace="keep-stage") is not None
    # What Shipway had added to the shared ServiceAccount is gone with it: its label and bookkeeping annotation.
    assert "shipway.dev/pipeline" not in (account["metadata"].get("labels") or {})
    assert not any(k.startswith("shipway.dev/") for k in account["metadata"].get("annotations") or {})
    assert everything_labelled(shipway.api, "keep") == {
        "namespaces": [], "secrets": [], "serviceaccounts": [], "roles": [], "rolebindings": []}
    assert shipway.writes() == {"patch serviceaccounts": 1}


def test_a_restarted_operator_knows_a_foreign_namespace_from_its_cache_and_writes_nothing(shipway: Shipway) -> None:
    shipway.ensure_namespace("again-stage")
    shipway.adopt("again-stage", "again")  # a namespace Shipway did not create: only by a platform admin's adoption
    own = team_source("again-stage", "own-registry", key="ghcr.io/team-a", username="again-reader", tag="again")
    shipway.apply_source(own)
    shipway.create_pipeline(pipeline("again", phases=["stage"], inherit=False, credentials=[credential(own)]))
    shipway.settled("again")
    assert "create namespaces" not in shipway.writes()  # its default ServiceAccount in the cache shows it exists
    operator = shipway.cluster.operator
    assert operator is not None
    operator.kill()
    shipway.reset()
    shipway.cluster.start_operator()
    # What Shipway keeps in the namespace (the labelled default ServiceAccount) is in the new cache: no create.
    assert shipway.writes(settle=1.5) == {}
