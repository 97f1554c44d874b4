"""Source Secrets change: a rotation reaches exactly the pipelines that use the source, immediately, and
nothing else is written. Each test has the cluster to itself, since the platform credential is shared.
"""

from __future__ import annotations

from .helpers import (
    PLATFORM,
    PLATFORM_HUB,
    PLATFORM_REGISTRY,
    Effective,
    PhaseExpectation,
    Shipway,
    assert_phase,
    assert_status,
    canary_password,
    consent,
    credential,
    pipeline,
    team_source,
    touching,
    usernames,
    write_counts,
)

PHASES = ("stage", "production")


def inheriting(name: str, platform_creds: tuple = PLATFORM.creds, *extra: Effective) -> list[PhaseExpectation]:
    rotated = PLATFORM.with_creds(*platform_creds)
    base = [Effective(c, "platform", rotated, ("pull", "push")) for c in platform_creds]
    push = next(e for e in base if e.cred.key == PLATFORM_REGISTRY.key)
    return [PhaseExpectation(name, p, pull=[*base, *extra], push=push) for p in PHASES]


def fingerprints(body: dict) -> list[str]:
    return [c["fingerprint"] for p in body["status"]["phases"] for c in p["credentials"]]


def test_rotating_the_platform_password_updates_every_inheriting_pipeline_and_no_other(shipway: Shipway) -> None:
    own = team_source("team-c", "own-registry", key="ghcr.io", username="team-c-bot", tag="team-c")
    shipway.apply_source(own, annotations=consent("rot-c"))
    shipway.create_pipeline(pipeline("rot-a"))
    shipway.create_pipeline(pipeline("rot-b"))
    shipway.create_pipeline(pipeline("rot-c", inherit=False, credentials=[credential(own, "pull", "push")],
                                     push={"registry": "ghcr.io", "repositoryPrefix": "team-c"}))
    before = {name: shipway.settled(name) for name in ("rot-a", "rot-b", "rot-c")}
    own_entry = Effective(own.creds[0], "pipeline", own, ("pull", "push"))
    alone = [PhaseExpectation("rot-c", p, pull=[own_entry], push=own_entry) for p in PHASES]
    for exp in alone:
        assert_phase(shipway.api, before["rot-c"], exp)
    shipway.reset()

    # The Docker Hub entry only: it is pulled with, never pushed with, so only pull secrets change.
    hub = PLATFORM_HUB.rotated(canary_password("hub-rotated"))
    shipway.apply_source(PLATFORM.with_creds(PLATFORM_REGISTRY, hub))
    after = {name: shipway.settled(name, check=lambda b, n=name: fingerprints(b) != fingerprints(before[n]))
             for name in ("rot-a", "rot-b")}
    for name in ("rot-a", "rot-b"):
        expected = inheriting(name, (PLATFORM_REGISTRY, hub))
        for exp in expected:
            assert_phase(shipway.api, after[name], exp)
        assert_status(after[name], expected)
        assert set(fingerprints(after[name])) - set(fingerprints(before[name])) == {hub.fingerprint}
    writes = shipway.api.operator_writes()
    assert write_counts(writes) == {"patch secrets": 4, "patch pipelines/status": 2}
    assert {r["path"].rsplit("/", 1)[1] for r in writes if r["plural"] == "secrets"} == {"shipway-pull"}
    assert touching(writes, "rot-c") == []

    # The registry entry, which is also the push entry: pull and push secrets change.
    shipway.reset()
    registry = PLATFORM_REGISTRY.rotated(canary_password("platform-rotated"))
    shipway.apply_source(PLATFORM.with_creds(registry, hub))
    done = {name: shipway.settled(name, check=lambda b, n=name: fingerprints(b) != fingerprints(after[n]))
            for name in ("rot-a", "rot-b")}
    for name in ("rot-a", "rot-b"):
        expected = inheriting(name, (registry, hub))
        for exp in expected:
            assert_phase(shipway.api, done[name], exp)
            push = shipway.api.get("v1", "secrets", "shipway-push", namespace=exp.namespace)
            assert push is not None
            assert usernames(push) == {"registry.example.com": "platform-bot"}
        assert_status(done[name], expected)
        assert set(fingerprints(done[name])) - set(fingerprints(after[name])) == {registry.fingerprint}
    writes = shipway.api.operator_writes()
    assert write_counts(writes) == {"patch secrets": 8, "patch pipelines/status": 2}
    assert touching(writes, "rot-c") == []
    untouched = shipway.pipeline("rot-c")
    assert untouched is not None
    assert untouched["status"] == before["rot-c"]["status"]
    assert untouched["metadata"]["resourceVersion"] == before["rot-c"]["metadata"]["resourceVersion"]
    for exp in alone:
        assert_phase(shipway.api, untouched, exp)


def test_a_change_to_a_source_used_by_one_pipeline_writes_nothing_for_another(shipway: Shipway) -> None:
    source_a = team_source("team-a", "registry-a", key="ghcr.io/team-a", username="team-a-bot", tag="a")
    source_b = team_source("team-b", "registry-b", key="ghcr.io/team-b", username="team-b-bot", tag="b")
    shipway.apply_source(source_a, annotations=consent("ev-a"))
    shipway.apply_source(source_b, annotations=consent("ev-b"))
    shipway.create_pipeline(pipeline("ev-a", credentials=[credential(source_a)]))
    shipway.create_pipeline(pipeline("ev-b", credentials=[credential(source_b)]))
    before_a, before_b = shipway.settled("ev-a"), shipway.settled("ev-b")
    shipway.reset()

    # Unrelated Secrets, labelled or not, and a labelled one nobody references: nothing to do.
    shipway.api.create(team_source("team-b", "unused", tag="unused").manifest(), "secrets")
    shipway.api.create(team_source("team-b", "unlabelled", tag="unlabelled").manifest(label=False), "secrets")
    assert shipway.writes() == {}

    rotated = source_a.with_creds(source_a.creds[0].rotated(canary_password("a-rotated")))
    shipway.apply_source(rotated, annotations=consent("ev-a"))
    after_a = shipway.settled("ev-a", check=lambda b: b["status"] != before_a["status"])
    for p in PHASES:
        exp = inheriting("ev-a", PLATFORM.creds, Effective(rotated.creds[0], "pipeline", rotated))[PHASES.index(p)]
        assert_phase(shipway.api, after_a, exp)
    writes = shipway.api.operator_writes()
    assert write_counts(writes) == {"patch secrets": 2, "patch pipelines/status": 1}
    assert len(touching(writes, "ev-a")) == 3
    assert touching(writes, "ev-b") == []
    after_b = shipway.pipeline("ev-b")
    assert after_b is not None
    assert after_b["metadata"]["resourceVersion"] == before_b["metadata"]["resourceVersion"]
    for exp in inheriting("ev-b", PLATFORM.creds, Effective(source_b.creds[0], "pipeline", source_b)):
        assert_phase(shipway.api, after_b, exp)
