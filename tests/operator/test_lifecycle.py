"""A Pipeline's life: created, applied again, updated, reshaped, and deleted; each step checked against the
exact objects in its namespaces and the exact write requests the operator made for it.
"""

from __future__ import annotations

from .helpers import (
    PLATFORM_PUSH,
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
    platform_entries,
    team_source,
    usernames,
)

# Per phase: the Namespace, shipway-pull and shipway-push, the builder ServiceAccount, its Role and RoleBinding,
# and ONE patch of the default ServiceAccount the ServiceAccount controller made; one status write.
CREATED = {"create namespaces": 2, "create secrets": 4, "create serviceaccounts": 2, "patch serviceaccounts": 2,
           "create roles": 2, "create rolebindings": 2}


def inheriting(name: str, phase_name: str, *extra: Effective) -> PhaseExpectation:
    """A phase that inherits the platform default (pull and push), plus ``extra`` entries."""
    by_key = {e.cred.registry: e for e in platform_entries()}
    by_key.update({e.cred.registry: e for e in extra})
    return PhaseExpectation(name, phase_name, pull=list(by_key.values()), push=PLATFORM_PUSH)


def test_a_new_pipeline_gets_two_labelled_namespaces_with_pull_and_push_credentials(shared: Shipway) -> None:
    shared.reset()
    created = shared.create_pipeline(pipeline("shop"))
    body = shared.settled("shop")
    stage, production = inheriting("shop", "stage"), inheriting("shop", "production")
    assert_phase(shared.api, body, stage)
    assert_phase(shared.api, body, production)
    assert body["metadata"]["uid"] == created["metadata"]["uid"]
    pull = shared.api.get("v1", "secrets", "shipway-pull", namespace="shop-stage")
    push = shared.api.get("v1", "secrets", "shipway-push", namespace="shop-stage")
    assert pull is not None and push is not None
    # The example platform credential: two keys for pulling, only the push registry's entry for pushing.
    assert usernames(pull) == {"registry.example.com": "platform-bot", "https://index.docker.io/v1/": "dhub-mirror"}
    assert usernames(push) == {"registry.example.com": "platform-bot"}
    assert_status(body, [stage, production])
    assert_delivery_writes(shared.writes(), CREATED, phases=2)


def test_applying_the_same_spec_again_or_touching_an_unrelated_annotation_writes_nothing(shared: Shipway) -> None:
    created = shared.create_pipeline(pipeline("same"))
    body = shared.settled("same")
    shared.reset()

    spec_only = {k: created[k] for k in ("apiVersion", "kind", "spec")}
    shared.put_pipeline({**spec_only, "metadata": {"name": "same",
                                                    "resourceVersion": body["metadata"]["resourceVersion"]}})
    shared.patch_pipeline("same", {"spec": created["spec"]})
    shared.patch_pipeline("same", {"metadata": {"annotations": {"example.com/owner": "team-a"}}})
    annotated = shared.pipeline("same")
    assert annotated is not None
    assert annotated["metadata"]["annotations"] == {"example.com/owner": "team-a"}
    assert annotated["metadata"]["generation"] == body["metadata"]["generation"]
    assert shared.writes(settle=1.0) == {}
    assert_phase(shared.api, annotated, inheriting("same", "stage"))
    assert annotated["status"] == body["status"]


def test_a_pipeline_credential_overriding_a_platform_key_changes_only_the_pull_secrets(shared: Shipway) -> None:
    team = team_source("team-a", "over-registry", key="registry.example.com", username="team-a-bot")
    shared.apply_source(team, annotations=consent("over"))
    shared.create_pipeline(pipeline("over"))
    shared.settled("over")
    shared.reset()

    shared.patch_pipeline("over", {"spec": {"registry": {"credentials": [credential(team, "pull")]}}})
    body = shared.settled("over")
    override = Effective(team.creds[0], "pipeline", team)
    stage, production = inheriting("over", "stage", override), inheriting("over", "production", override)
    assert_phase(shared.api, body, stage)
    assert_phase(shared.api, body, production)
    pull = shared.api.get("v1", "secrets", "shipway-pull", namespace="over-production")
    assert pull is not None
    assert usernames(pull) == {"registry.example.com": "team-a-bot", "https://index.docker.io/v1/": "dhub-mirror"}
    assert_status(body, [stage, production])
    # The push entry still comes from the platform (the override is pull-only): shipway-push is untouched.
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}

    shared.reset()
    prod = team_source("team-a", "over-prod-registry", key="registry.example.com", username="team-a-prod-reader",
                       tag="prod")
    shared.apply_source(prod, annotations=consent("over"))
    assert shared.writes() == {}  # no pipeline uses it yet
    spec = pipeline("over", phases=["stage", phase("production", credential(prod, "pull"))],
                    credentials=[credential(team, "pull")])["spec"]
    shared.patch_pipeline("over", {"spec": spec})
    body = shared.settled("over")
    production = inheriting("over", "production", Effective(prod.creds[0], "phase", prod))
    assert_phase(shared.api, body, stage)
    assert_phase(shared.api, body, production)
    pull = shared.api.get("v1", "secrets", "shipway-pull", namespace="over-production")
    assert pull is not None
    assert usernames(pull)["registry.example.com"] == "team-a-prod-reader"
    assert_status(body, [stage, production])
    assert shared.writes() == {"patch secrets": 1, "patch pipelines/status": 1}
    assert all(r["namespace"] in ("over-production", None) for r in shared.api.operator_writes()
               if r["plural"] != "events")


def test_under_delete_a_removed_phase_loses_its_namespace_and_status_lists_only_the_remaining_phase(
        shared: Shipway) -> None:
    team = team_source("team-a", "cart-registry", key="ghcr.io/team-a")
    shared.apply_source(team, annotations=consent("cart"))
    shared.create_pipeline(pipeline("cart", credentials=[credential(team, "pull")], reclaim="Delete"))
    shared.settled("cart")
    shared.reset()

    shared.patch_pipeline("cart", {"spec": {"phases": [{"name": "stage"}]}})
    body = shared.settled("cart")
    # Deleted, the namespace is Terminating until the namespace controller has emptied it, as on a real cluster.
    shared.api.eventually(lambda: shared.api.get("v1", "namespaces", "cart-production") is None)
    stage = inheriting("cart", "stage", Effective(team.creds[0], "pipeline", team))
    assert_phase(shared.api, body, stage)
    assert_status(body, [stage])
    assert [p["name"] for p in body["status"]["phases"]] == ["stage"]
    leftovers = everything_labelled(shared.api, "cart")
    assert all(name.startswith(("cart-stage/", "/cart-stage")) for names in leftovers.values() for name in names)
    # The namespace is deleted by the operator (its contents go with it), and status is written once: no
    # other write request, failed or not (Events apart).
    assert shared.writes() == {"delete namespaces": 1, "patch pipelines/status": 1}


def test_a_credential_removed_from_a_layer_disappears_from_the_pull_secrets(shared: Shipway) -> None:
    team = team_source("team-a", "crate-registry", key="ghcr.io/team-a")
    shared.apply_source(team, annotations=consent("crate"))
    shared.create_pipeline(pipeline("crate", credentials=[credential(team, "pull")]))
    body = shared.settled("crate")
    with_team = [inheriting("crate", p, Effective(team.creds[0], "pipeline", team)) for p in ("stage", "production")]
    for exp in with_team:
        assert_phase(shared.api, body, exp)
    shared.reset()

    shared.patch_pipeline("crate", {"spec": {"registry": {"credentials": []}}})
    body = shared.settled("crate")
    without = [inheriting("crate", p) for p in ("stage", "production")]
    for exp in without:
        assert_phase(shared.api, body, exp)
        pull = shared.api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None
        assert usernames(pull) == {"registry.example.com": "platform-bot", "https://index.docker.io/v1/": "dhub-mirror"}
    assert_status(body, without)
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}


def test_flipping_inherit_off_removes_the_platform_entries_and_flipping_it_back_restores_them(
    shared: Shipway,
) -> None:
    team = team_source("team-a", "flip-registry", key="ghcr.io")
    shared.apply_source(team, annotations=consent("flip"))
    push = {"registry": "ghcr.io", "repositoryPrefix": "team-a/flip"}
    shared.create_pipeline(pipeline("flip", credentials=[credential(team, "pull", "push")], push=push))
    own = Effective(team.creds[0], "pipeline", team, ("pull", "push"))
    both = [PhaseExpectation("flip", p, pull=[*platform_entries(), own], push=own) for p in ("stage", "production")]
    body = shared.settled("flip")
    for exp in both:
        assert_phase(shared.api, body, exp)
    assert_status(body, both)
    shared.reset()

    shared.patch_pipeline("flip", {"spec": {"registry": {"inherit": False}}})
    body = shared.settled("flip")
    alone = [PhaseExpectation("flip", p, pull=[own], push=own) for p in ("stage", "production")]
    for exp in alone:
        assert_phase(shared.api, body, exp)
        pull = shared.api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None
        assert usernames(pull) == {"ghcr.io": "team-a-bot"}
    assert_status(body, alone)
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}

    shared.reset()
    shared.patch_pipeline("flip", {"spec": {"registry": {"inherit": True}}})
    body = shared.settled("flip")
    for exp in both:
        assert_phase(shared.api, body, exp)
    assert_status(body, both)
    assert shared.writes() == {"patch secrets": 2, "patch pipelines/status": 1}


def test_under_delete_deleting_a_pipeline_deletes_its_namespaces_and_everything_in_them(shared: Shipway) -> None:
    shared.create_pipeline(pipeline("gone", reclaim="Delete"))
    shared.create_pipeline(pipeline("kept"))
    shared.settled("gone")
    kept = shared.settled("kept")
    assert everything_labelled(shared.api, "gone")["secrets"] == [
        "gone-production/shipway-pull", "gone-production/shipway-push", "gone-stage/shipway-pull",
        "gone-stage/shipway-push"]
    shared.reset()

    shared.api.delete("shipway.dev/v1alpha1", "pipelines", "gone")
    shared.api.eventually(lambda: shared.api.get("v1", "namespaces", "gone-stage") is None
                           and shared.api.get("v1", "namespaces", "gone-production") is None)
    assert everything_labelled(shared.api, "gone") == {
        "namespaces": [], "secrets": [], "serviceaccounts": [], "roles": [], "rolebindings": []}
    for ns in ("gone-stage", "gone-production"):
        for plural in ("secrets", "serviceaccounts"):
            assert shared.api.list("v1", plural, namespace=ns) == []
    # The operator deletes the namespaces it created (their contents go with them); nothing else.
    assert shared.writes(settle=1.0) == {"delete namespaces": 2}
    assert_phase(shared.api, kept, inheriting("kept", "stage"))
    assert_phase(shared.api, kept, inheriting("kept", "production"))
