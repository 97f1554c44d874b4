"""The operator's cache after a gap in its watches: what was deleted while it could not watch, and whose
change history is gone by the time it can (410 Gone), is dropped by the relist, and acted on.

The emulator holds every watch (``/_emulator/watches/pause``: open ones end, new ones wait), the test
deletes objects the operator knows, then lets watches start again after compacting the change history
(``resume?expire=true``): each of the operator's watches resumes from its last resourceVersion, gets 410,
and lists again. Only that list can tell it what vanished.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.support.cluster import Api

from .helpers import (
    PLATFORM_PUSH,
    Effective,
    PhaseExpectation,
    Shipway,
    assert_delivery_writes,
    assert_phase,
    assert_status,
    condition,
    consent,
    credential,
    pipeline,
    platform_entries,
    team_source,
    usernames,
)

PHASES = ("stage", "production")
WATCHED_KINDS = 7  # pipelines, platforms, secrets, namespaces, serviceaccounts, roles, rolebindings


def expectations(name: str, *extra: Effective) -> list[PhaseExpectation]:
    return [PhaseExpectation(name, p, pull=[*platform_entries(), *extra], push=PLATFORM_PUSH) for p in PHASES]


def pause_watches(api: Api) -> None:
    """Hold every watch, and wait until each watch that was open (the operator's) is back and held."""
    watching = api.client.get("/_emulator/watches").json()["open"]
    assert watching >= WATCHED_KINDS
    api.client.post("/_emulator/watches/pause").raise_for_status()
    api.eventually(lambda: api.client.get("/_emulator/watches").json()["held"] >= watching, timeout=10)


def resume_expired(api: Api) -> dict[str, Any]:
    response = api.client.post("/_emulator/watches/resume", params={"expire": "true"})
    response.raise_for_status()
    return dict(response.json())


def relisted(output: str, start: int) -> set[str]:
    """The resources whose informer said, after line ``start``, that its resourceVersion was gone."""
    lines = output.splitlines()[start:]
    return {line.split(": resourceVersion")[0].rsplit(" ", 1)[-1] for line in lines if "is gone (410)" in line}


def test_objects_deleted_during_a_watch_gap_are_dropped_by_the_relist_after_410(shipway: Shipway) -> None:
    api = shipway.api
    operator = shipway.cluster.operator
    assert operator is not None
    source = team_source("team-r", "relist-registry", key="ghcr.io/team-r", username="team-r-bot", tag="relist")
    shipway.apply_source(source, annotations=consent("relist"))
    shipway.create_pipeline(pipeline("relist", credentials=[credential(source)]))
    before = shipway.settled("relist")
    entry = Effective(source.creds[0], "pipeline", source)
    for exp in expectations("relist", entry):
        assert_phase(api, before, exp)
    assert_status(before, expectations("relist", entry))
    shipway.reset()

    pause_watches(api)
    log_mark = len(operator.output.lines)
    api.delete("v1", "secrets", source.name, namespace=source.namespace)
    api.delete("v1", "namespaces", "relist-production")  # a phase namespace, with all Shipway put there
    api.eventually(lambda: api.get("v1", "namespaces", "relist-production") is None)  # Terminating, then gone
    time.sleep(1.0)  # the operator cannot know: its watches are held, and it wrote nothing
    assert api.operator_writes() == []
    unchanged = shipway.pipeline("relist")
    assert unchanged is not None
    assert unchanged["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    stage_pull = api.get("v1", "secrets", "shipway-pull", namespace="relist-stage")
    assert stage_pull is not None and "ghcr.io/team-r" in usernames(stage_pull)

    resumed = resume_expired(api)
    assert resumed["paused"] is False and resumed["compacted"] >= int(before["metadata"]["resourceVersion"])
    after = shipway.settled("relist", check=lambda b: condition(b, "Ready")["status"] == "False"
                            and api.get("v1", "namespaces", "relist-production") is not None)
    assert {"secrets", "namespaces"} <= relisted(operator.output.text, log_mark)

    # The cache dropped the Secret: the entry is gone from every phase, the pipeline says why ...
    expected = expectations("relist")
    for exp in expected:
        assert_phase(api, after, exp)  # ... and the deleted phase namespace is made again, whole
        pull = api.get("v1", "secrets", "shipway-pull", namespace=exp.namespace)
        assert pull is not None and "ghcr.io/team-r" not in usernames(pull)
    assert_status(after, expected, ready=("False", "SourceNotUsable"), degraded=("True", "SourceNotUsable"))
    assert "team-r/relist-registry" in condition(after, "Ready")["message"]
    # Exactly: the production namespace and its content made again, the stage pull secret without the entry.
    # The informers relist one after another: a reconcile between the relists of RoleBindings and Namespaces
    # may still believe relist-production exists, and have one create refused (404) before the next one.
    shipway.quiet()
    failed = [r for r in api.operator_writes() if r["status"] >= 400]
    assert all((r["status"], r["verb"], r["namespace"]) == (404, "create", "relist-production") for r in failed)
    succeeded = Counter({k: v for k, v in shipway.writes().items() if not k.endswith("(404)")})
    # For the same reason, a reconcile between the relists of Namespaces and Secrets may create the production
    # pull secret from a cache that still holds the deleted source, and patch it once the Secrets are relisted:
    # one patch more, at most (a known cost of informers that relist one by one; see the closing note).
    extra_patch = succeeded.pop("patch secrets", 0) - 1
    assert extra_patch in (0, 1), succeeded
    assert_delivery_writes(succeeded, {
        "create namespaces": 1, "create secrets": 2, "create serviceaccounts": 1, "create roles": 1,
        "create rolebindings": 1, "patch serviceaccounts": 1}, phases=1)


def test_a_resume_without_compaction_replays_the_gap_and_needs_no_relist(shipway: Shipway) -> None:
    """The control: the same gap, its history kept, is replayed to the watches (no 410, no relist)."""
    api = shipway.api
    operator = shipway.cluster.operator
    assert operator is not None
    source = team_source("team-q", "replay-registry", key="ghcr.io/team-q", username="team-q-bot", tag="replay")
    shipway.apply_source(source, annotations=consent("replay"))
    shipway.create_pipeline(pipeline("replay", credentials=[credential(source)]))
    shipway.settled("replay")
    shipway.reset()

    pause_watches(api)
    log_mark = len(operator.output.lines)
    api.delete("v1", "secrets", source.name, namespace=source.namespace)
    api.client.post("/_emulator/watches/resume").raise_for_status()
    after = shipway.settled("replay", check=lambda b: condition(b, "Ready")["status"] == "False")
    assert relisted(operator.output.text, log_mark) == set()
    assert_status(after, expectations("replay"), ready=("False", "SourceNotUsable"),
                  degraded=("True", "SourceNotUsable"))
