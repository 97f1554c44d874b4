"""Secret-free views of a resolution: what status, the CLI and the API show of a phase.

Only registry keys, layers, source references, usage and fingerprints; never a username or password.
"""

from __future__ import annotations

from typing import Any

from shipway.core.layers import EffectiveEntry, Finding, PhaseResolution
from shipway.core.resources import EffectiveCredentialStatus


def entry_status(entry: EffectiveEntry) -> EffectiveCredentialStatus:
    return EffectiveCredentialStatus(
        registry=entry.registry,
        source=entry.provenance.layer.value,
        secret_ref=entry.provenance.source,
        fingerprint=entry.fingerprint,
        usage=sorted(entry.usage),
    )


def entry_view(entry: EffectiveEntry) -> dict[str, Any]:
    view = entry_status(entry).model_dump(mode="json", by_alias=True)
    view["key"] = entry.entry.key
    view["overrides"] = [{"source": p.layer.value, "secretRef": str(p.source)} for p in entry.overrides]
    return view


def finding_view(finding: Finding) -> dict[str, Any]:
    view: dict[str, Any] = {"reason": finding.reason, "message": finding.message}
    if finding.layer is not None:
        view["layer"] = finding.layer.value
    if finding.source is not None:
        view["secretRef"] = str(finding.source)
    return view


def phase_view(resolution: PhaseResolution) -> dict[str, Any]:
    target = resolution.push_target
    return {
        "pipeline": resolution.pipeline,
        "phase": resolution.phase.name.value,
        "namespace": resolution.namespace,
        "pull": [entry_view(e) for e in resolution.pull],
        "pullFingerprint": resolution.pull_fingerprint,
        "push": entry_view(resolution.push) if resolution.push else None,
        "pushRepository": target.repository if target else None,
        "findings": [finding_view(f) for f in resolution.findings],
    }
