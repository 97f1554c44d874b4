"""Which Events a status change means (core.happenings): sentence-named cases, notes without secrets."""

from __future__ import annotations

from typing import Any

from shipway.core.happenings import status_happenings


def status(*, ready: tuple[str, str] = ("True", "Ready"), degraded: tuple[str, str, str] = ("False", "AsExpected", ""),
           phases: list[dict[str, Any]] | None = None, verified: list[dict[str, Any]] | None = None,
           reclaim: str = "Retain") -> dict[str, Any]:
    return {"reclaimPolicy": reclaim, "phases": phases or [],
            "conditions": [{"type": "Ready", "status": ready[0], "reason": ready[1], "message": f"m-{ready[1]}"},
                           {"type": "Degraded", "status": degraded[0], "reason": degraded[1],
                            "message": degraded[2]}],
            "verifications": verified or []}


def phase(name: str, fingerprint: str | None, *, ready: bool = True) -> dict[str, Any]:
    return {"name": name, "namespace": f"shop-{name}", "pullSecret": "shipway-pull", "fingerprint": fingerprint,
            "ready": ready}


def reasons(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    return [h.reason for h in status_happenings(old, new)]


def test_a_first_delivery_is_delivered_and_ready() -> None:
    assert reasons(None, status(phases=[phase("stage", "sha256:a")])) == ["Delivered", "Ready"]


def test_a_new_pull_set_is_a_rotation_naming_both_fingerprints() -> None:
    happened = status_happenings(status(phases=[phase("stage", "sha256:a")]),
                                 status(phases=[phase("stage", "sha256:b")]))
    assert [(h.reason, h.note) for h in happened] == [
        ("Rotated", "stage: pull credentials in shop-stage/shipway-pull changed sha256:a -> sha256:b")]


def test_an_unchanged_status_means_no_event() -> None:
    same = status(phases=[phase("stage", "sha256:a")])
    assert reasons(same, same) == []


def test_a_phase_not_yet_ready_is_not_announced_as_delivered_until_it_is() -> None:
    pending = status(ready=("False", "ServiceAccountPending"), phases=[phase("stage", "sha256:a", ready=False)])
    assert reasons(None, pending) == ["ServiceAccountPending"]
    assert reasons(pending, status(phases=[phase("stage", "sha256:a")])) == ["Delivered", "Ready"]


def test_losing_readiness_is_a_warning_with_the_reason() -> None:
    (lost,) = status_happenings(status(), status(ready=("False", "SourceNotUsable")))
    assert (lost.reason, lost.warning, lost.note) == ("SourceNotUsable", True, "m-SourceNotUsable")


def test_a_removed_phase_is_released_per_the_reclaim_policy() -> None:
    happened = status_happenings(status(phases=[phase("stage", "sha256:a"), phase("production", "sha256:a")]),
                                 status(phases=[phase("stage", "sha256:a")], reclaim="Delete"))
    assert [(h.reason, h.note) for h in happened] == [
        ("PhaseReleased", "production: no longer delivered to shop-production; reclaimed per policy Delete")]


def test_a_non_blocking_finding_is_one_warning() -> None:
    new = status(degraded=("True", "DuplicateRegistryKey", "stage: ghcr.io in a/b is shadowed by a/a"))
    assert [(h.reason, h.warning) for h in status_happenings(status(), new)] == [("DuplicateRegistryKey", True)]
    assert status_happenings(new, new) == []


def test_verification_outcomes_are_announced_when_they_change() -> None:
    ok = [{"registry": "ghcr.io", "fingerprint": "sha256:a", "status": "True"}]
    bad = [{"registry": "ghcr.io", "fingerprint": "sha256:a", "status": "False"}]
    assert reasons(status(), status(verified=ok)) == ["Verified"]
    assert reasons(status(verified=ok), status(verified=bad)) == ["VerificationFailed"]
    assert reasons(status(verified=bad), status(verified=bad)) == []
