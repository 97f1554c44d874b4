"""Which Events a change of status means: delivery, rotation, readiness won or lost, verification results.

Pure: the old and the new ``status`` of a Pipeline (or the Platform) in, Event notes out. Notes are built
from phase names, reasons, Secret names and fingerprints only, never a secret value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Happening:
    reason: str
    note: str
    action: str
    warning: bool = False


def _condition(status: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), {})


def _phases(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(p.get("name")): p for p in status.get("phases") or []}


def _verified(status: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(str(v.get("registry")), str(v.get("fingerprint"))): str(v.get("status"))
            for v in status.get("verifications") or []}


def status_happenings(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Happening]:
    old = old or {}
    out: list[Happening] = []
    before, after = _phases(old), _phases(new)
    delivered, rotated = [], []
    for name, phase in after.items():
        was = before.get(name, {})
        secret, fingerprint = phase.get("pullSecret"), phase.get("fingerprint")
        if not fingerprint or not phase.get("ready"):
            continue
        if was.get("ready") and was.get("fingerprint") and was.get("fingerprint") != fingerprint:
            rotated.append(f"{name}: pull credentials in {phase.get('namespace')}/{secret} changed "
                           f"{was.get('fingerprint')} -> {fingerprint}")
        elif not was.get("ready") or was.get("fingerprint") != fingerprint:
            delivered.append(f"{name}: pull credentials delivered to {phase.get('namespace')}/{secret} "
                             f"({fingerprint})")
    # One Event per kind of change, however many phases it touched: churn stays bounded.
    if delivered:
        out.append(Happening("Delivered", "; ".join(delivered), "Deliver"))
    if rotated:
        out.append(Happening("Rotated", "; ".join(rotated), "Rotate"))
    for name in sorted(set(before) - set(after)):
        out.append(Happening("PhaseReleased", f"{name}: no longer delivered to {before[name].get('namespace')}; "
                                              f"reclaimed per policy {new.get('reclaimPolicy', 'Retain')}", "Reclaim"))
    ready, was_ready = _condition(new, "Ready"), _condition(old, "Ready")
    if ready and (ready.get("status"), ready.get("reason")) != (was_ready.get("status"), was_ready.get("reason")):
        if ready.get("status") == "True":
            out.append(Happening("Ready", str(ready.get("message", "")), "Reconcile"))
        else:
            out.append(Happening(str(ready.get("reason", "NotReady")), str(ready.get("message", "")), "Refuse",
                                 warning=True))
    degraded, was_degraded = _condition(new, "Degraded"), _condition(old, "Degraded")
    if (degraded.get("status") == "True" and (degraded.get("reason"), degraded.get("message"))
            != (was_degraded.get("reason"), was_degraded.get("message"))
            and degraded.get("reason") != ready.get("reason")):
        # A finding that does not block (a shadowed key: the first listed wins) is reported once, as a warning.
        out.append(Happening(str(degraded.get("reason", "Degraded")), str(degraded.get("message", "")), "Resolve",
                             warning=True))
    checked, was_checked = _verified(new), _verified(old)
    for (registry, fingerprint), outcome in sorted(checked.items()):
        if was_checked.get((registry, fingerprint)) != outcome and outcome in ("True", "False"):
            good = outcome == "True"
            out.append(Happening("Verified" if good else "VerificationFailed",
                                 f"{registry} ({fingerprint}): {'verified' if good else 'not verified'}", "Verify",
                                 warning=not good))
    return out
