"""Restarts: an operator SIGKILLed in the middle of a rollout is replaced, and the new one finishes the job
with nothing lost, duplicated or orphaned; an operator restarted on a converged cluster writes nothing and
reads Secrets only through its initial list and watch.
"""

from __future__ import annotations

import time
from collections import Counter

from .helpers import (
    GROUP_VERSION,
    PLATFORM_PUSH,
    PhaseExpectation,
    Shipway,
    assert_no_canary,
    assert_phase,
    assert_status,
    everything_labelled,
    pipeline,
    platform_entries,
)

PIPELINES = [f"roll-{i:02d}" for i in range(30)]
PHASES = ("stage", "production")


def converged(shipway: Shipway) -> bool:
    bodies = {p["metadata"]["name"]: p for p in shipway.api.list(GROUP_VERSION, "pipelines")}
    for name in PIPELINES:
        status = bodies[name].get("status") or {}
        assert status.get("observedGeneration") == 1, name
        assert [c["status"] for c in status["conditions"]] == ["True", "False"], name
    return True


def test_an_operator_killed_mid_rollout_is_replaced_and_the_rollout_converges_without_duplicates_or_orphans(
    shipway: Shipway,
) -> None:
    first = shipway.cluster.operator
    assert first is not None
    shipway.reset()
    for name in PIPELINES:
        shipway.create_pipeline(pipeline(name))
    shipway.api.eventually(lambda: len(shipway.api.operator_writes()) >= 10, interval=0.01)
    first.kill()
    seen = shipway.api.operator_writes()
    done = [p for p in shipway.api.list(GROUP_VERSION, "pipelines") if (p.get("status") or {}).get("phases")]
    assert len(done) < len(PIPELINES), "the first operator finished before it was killed: not a mid-rollout kill"
    assert len(seen) < len(PIPELINES) * 15

    second = shipway.cluster.start_operator()
    shipway.api.eventually(lambda: converged(shipway), timeout=90, interval=0.5)
    shipway.quiet(period=1.0)

    uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in shipway.api.list(GROUP_VERSION, "pipelines")}
    for name in PIPELINES:
        body = shipway.pipeline(name)
        assert body is not None
        expected = [PhaseExpectation(name, p, pull=platform_entries(), push=PLATFORM_PUSH) for p in PHASES]
        for exp in expected:
            assert_phase(shipway.api, body, exp)  # exactly these objects in each namespace, no more
        assert_status(body, expected)
        labelled = everything_labelled(shipway.api, name)
        assert labelled["namespaces"] == [f"/{name}-production", f"/{name}-stage"]
        assert labelled["secrets"] == [f"{name}-production/shipway-pull", f"{name}-production/shipway-push",
                                       f"{name}-stage/shipway-pull", f"{name}-stage/shipway-push"]
    # Nothing Shipway labelled anywhere belongs to a pipeline that does not exist, or to another uid.
    for plural, api_version in (("secrets", "v1"), ("serviceaccounts", "v1"), ("namespaces", "v1"),
                                ("roles", "rbac.authorization.k8s.io/v1"),
                                ("rolebindings", "rbac.authorization.k8s.io/v1")):
        for obj in shipway.api.list(api_version, plural, labels="app.kubernetes.io/managed-by=shipway"):
            owner = obj["metadata"]["labels"]["shipway.dev/pipeline"]
            if plural == "namespaces":  # its reclaim policy decides its fate, never the garbage collector
                assert owner in uids and "ownerReferences" not in obj["metadata"]
                continue
            assert [r["uid"] for r in obj["metadata"]["ownerReferences"]] == [uids[owner]]
    # Across both operators, every object was created once: no create answered 409 but the race of the
    # namespace's default ServiceAccount, which a killed operator may have lost.
    everything = shipway.api.operator_writes()
    conflicts = [r for r in everything if r["status"] == 409]
    assert all(r["plural"] == "serviceaccounts" for r in conflicts), conflicts
    created = Counter(r["plural"] for r in everything if r["verb"] == "create" and r["status"] == 201)
    assert created["namespaces"] == len(PIPELINES) * 2
    assert created["secrets"] == len(PIPELINES) * 4
    assert created["roles"] == created["rolebindings"] == len(PIPELINES) * 2
    assert not [r for r in everything if r["verb"] == "delete"]
    assert_no_canary(shipway.cluster, outputs=[first.output.text])

    # A further restart on the converged cluster: no write at all, and Secrets only listed and watched.
    shipway.reset()
    second.kill()
    third = shipway.cluster.start_operator()
    time.sleep(1.0)
    shipway.quiet(period=1.0)
    requests = shipway.api.operator_requests()
    assert [r for r in requests if r["verb"] in ("create", "update", "patch", "delete", "deletecollection")] == []
    on_secrets = Counter(r["verb"] for r in requests if r["plural"] == "secrets")
    assert on_secrets == {"list": 1, "watch": 1}
    assert not [r for r in requests if r["verb"] == "get"]
    assert_no_canary(shipway.cluster, outputs=[first.output.text, second.output.text, third.output.text])
