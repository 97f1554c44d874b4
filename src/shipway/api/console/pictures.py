"""What the console's pages show, computed from what the API already answers (pure: no I/O).

- :func:`summary_of` a stored Pipeline: Ready, Verified, phases and the last change (the newest
  ``lastTransitionTime`` of its conditions), as the pipelines list shows them.
- :func:`picture_of` a phase of the effective view (:func:`shipway.api.effective.effective_view`): one row per
  registry key, in the kubelet's try order, with the platform, pipeline and phase layers side by side: the
  winning entry (its source, by reference or by value, fingerprint, usage and verification) and the entries it
  overrides. Nothing here can hold a secret value: the inputs carry fingerprints and references only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.core.editing import is_managed_name
from shipway.core.layers import Layer

LAYERS = tuple(layer.value for layer in (Layer.PLATFORM, Layer.PIPELINE, Layer.PHASE))


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str
    since: str


@dataclass(frozen=True, slots=True)
class Summary:
    name: str
    ready: str
    ready_reason: str
    verified: str
    verified_reason: str
    phases: list[str]
    last_change: str
    conditions: list[Condition]
    reclaim_policy: str


def _conditions(body: dict[str, Any]) -> list[Condition]:
    return [Condition(type=str(c.get("type", "")), status=str(c.get("status", "Unknown")),
                      reason=str(c.get("reason", "")), message=str(c.get("message", "")),
                      since=str(c.get("lastTransitionTime") or ""))
            for c in (body.get("status") or {}).get("conditions") or []]


def verified_summary(verifications: list[dict[str, Any]]) -> tuple[str, str]:
    """One word for a pipeline's credentials: True when every check passed, False (with the first failure's
    reason) when one failed, Unknown when none was checked yet."""
    if not verifications:
        return "Unknown", "not checked yet"
    failed = [v for v in verifications if v.get("status") != "True"]
    if not failed:
        return "True", f"{len(verifications)} credential(s) verified"
    first = failed[0]
    return str(first.get("status", "Unknown")), f"{first.get('reason', '')} ({first.get('registry', '')})"


def summary_of(body: dict[str, Any]) -> Summary:
    conditions = _conditions(body)
    ready = next((c for c in conditions if c.type == "Ready"), None)
    status = body.get("status") or {}
    verified, why = verified_summary(list(status.get("verifications") or []))
    phases = [f"{p.get('name')}{'' if p.get('enabled', True) else ' (disabled)'}"
              for p in (body.get("spec") or {}).get("phases") or []]
    times = [c.since for c in conditions if c.since]
    default = f"{status['reclaimPolicy']} (the platform's default)" if status.get("reclaimPolicy") else (
        "the platform's default")
    policy = (body.get("spec") or {}).get("reclaimPolicy") or default
    return Summary(name=str(body["metadata"]["name"]), ready=ready.status if ready else "Unknown",
                   ready_reason=ready.reason if ready else "not reconciled yet", verified=verified,
                   verified_reason=why, phases=phases, last_change=max(times) if times else "never",
                   conditions=conditions, reclaim_policy=str(policy))


def delivery_of(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Per phase, as the operator last wrote it in status: whether it has what it should (True, False or
    Unknown) and the reason (Ready, or the first reason it is not)."""
    out = {}
    for phase in (body.get("status") or {}).get("phases") or []:
        ready = phase.get("ready")
        out[str(phase.get("name"))] = ("True" if ready is True else "False" if ready is False else "Unknown",
                                       str(phase.get("reason") or ""))
    return out


@dataclass(frozen=True, slots=True)
class Cell:
    """One layer's entry for a registry key: the winner or one it overrides."""

    wins: bool
    source: str  # namespace/name of the Secret
    managed: bool  # set by value through Shipway (a Secret Shipway manages) rather than a reference
    fingerprint: str = ""
    usage: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    use: str  # "pull" or "push"
    order: int | None  # the kubelet's try order among the phase's pull entries
    registry: str
    layer: str  # the winning layer
    inherited: bool  # the winner comes from the platform layer
    cells: dict[str, Cell | None]
    verified: str
    verified_reason: str
    checked_at: str


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str
    message: str
    layer: str
    source: str


@dataclass(frozen=True, slots=True)
class PhasePicture:
    phase: str
    namespace: str
    rows: list[Row]
    findings: list[Finding]
    pull_fingerprint: str
    push_repository: str


def _ref_text(ref: Any) -> str:
    if isinstance(ref, dict):
        return f"{ref.get('namespace', '')}/{ref.get('name', '')}"
    return str(ref)


def _row(entry: dict[str, Any], *, use: str, order: int | None) -> Row:
    winner = str(entry.get("source", ""))
    source = _ref_text(entry.get("secretRef"))
    cells: dict[str, Cell | None] = dict.fromkeys(LAYERS)
    cells[winner] = Cell(wins=True, source=source, managed=is_managed_name(source.split("/")[-1]),
                         fingerprint=str(entry.get("fingerprint", "")), usage=", ".join(entry.get("usage") or []))
    for overridden in entry.get("overrides") or []:
        ref = _ref_text(overridden.get("secretRef"))
        cells[str(overridden.get("source", ""))] = Cell(wins=False, source=ref,
                                                        managed=is_managed_name(ref.split("/")[-1]))
    check = entry.get("verified") or {}
    return Row(use=use, order=order, registry=str(entry.get("registry", "")), layer=winner,
               inherited=winner == Layer.PLATFORM.value, cells=cells,
               verified=str(check.get("status", "Unknown")) if check else "Unknown",
               verified_reason=str(check.get("reason", "")) if check else "not checked yet",
               checked_at=str(check.get("lastCheckTime") or "") if check else "")


def picture_of(phase: dict[str, Any]) -> PhasePicture:
    rows = [_row(e, use="pull", order=i) for i, e in enumerate(phase.get("pull") or [], start=1)]
    if phase.get("push"):
        rows.append(_row(phase["push"], use="push", order=None))
    findings = [Finding(reason=str(f.get("reason", "")), message=str(f.get("message", "")),
                        layer=str(f.get("layer", "")), source=str(f.get("secretRef", "")))
                for f in phase.get("findings") or []]
    return PhasePicture(phase=str(phase.get("phase", "")), namespace=str(phase.get("namespace", "")), rows=rows,
                        findings=findings, pull_fingerprint=str(phase.get("pullFingerprint") or ""),
                        push_repository=str(phase.get("pushRepository") or ""))
