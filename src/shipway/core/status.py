"""The status of a Pipeline, computed from its resolutions and what was delivered. Never secret data.

Conditions keep their ``lastTransitionTime`` while their status does not change, so an unchanged world
yields an identical status and the operator writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipway.core.desired import PhaseObjects
from shipway.core.layers import PhaseResolution
from shipway.core.names import Reason
from shipway.core.reports import entry_status
from shipway.core.resources import Condition, PhaseStatus, PipelineStatus, ReclaimPolicy, VerificationStatus

BLOCKING = frozenset({
    Reason.SOURCE_SECRET_MISSING, Reason.INVALID_DOCKER_CONFIG, Reason.PLATFORM_MISSING, Reason.SOURCE_NOT_USABLE,
    Reason.USAGE_NOT_GRANTED, Reason.REGISTRY_NOT_ALLOWED, Reason.NAMESPACE_PROTECTED, Reason.NAMESPACE_CLAIMED,
    Reason.NAMESPACE_NOT_ADOPTED, Reason.NAMESPACE_OUTSIDE_PREFIX, Reason.INVALID_SPEC, Reason.NAME_TAKEN,
    Reason.SECRET_TOO_LARGE, Reason.SERVICE_ACCOUNT_PENDING, Reason.PUSH_CREDENTIAL_MISSING,
    Reason.NAMESPACE_TERMINATING,
})


def condition(type_: str, ok: bool, reason: str, message: str, *, generation: int | None,
               previous: Sequence[dict[str, Any]], now: str) -> Condition:
    status = "True" if ok else "False"
    before = next((c for c in previous if c.get("type") == type_), None)
    since = before.get("lastTransitionTime") if before and before.get("status") == status else None
    return Condition(type=type_, status=status, reason=reason, message=message, observed_generation=generation,
                     last_transition_time=since or now)


def pipeline_status(
    *, resolutions: Sequence[PhaseResolution], delivered: Sequence[PhaseObjects], generation: int | None,
    previous_conditions: Sequence[dict[str, Any]], now: str, extra_findings: Sequence[tuple[str, str]] = (),
    phase_findings: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    verifications: Sequence[dict[str, Any]] | None = None, reclaim: ReclaimPolicy | None = None,
) -> dict[str, Any]:
    """The whole ``status`` of a Pipeline as a JSON-ready mapping (camelCase).

    Ready is True only when the spec is valid and every enabled phase has exactly what it should: no blocking
    finding of its resolution, nor any found while delivering it (``phase_findings``: a pull secret not yet
    listed by the default ServiceAccount, a Secret too large, a name taken), nor of the pipeline as a whole.
    """
    phases = []
    findings: list[tuple[str, str]] = list(extra_findings)
    by_phase = {objects.phase: objects for objects in delivered}
    for resolution in resolutions:
        name = resolution.phase.name.value
        objects = by_phase.get(name)
        own = [(f.reason, f"{name}: {f.message}") for f in resolution.findings]
        own += list((phase_findings or {}).get(name, ()))
        blocking = [f for f in own if f[0] in BLOCKING]
        phases.append(PhaseStatus(
            name=resolution.phase.name, namespace=resolution.namespace, ready=objects is not None and not blocking,
            reason=blocking[0][0] if blocking else (Reason.READY if objects is not None else "NotDelivered"),
            pull_secret=objects.pull_secret_name if objects else None,
            push_secret=(objects.push_objects[0]["metadata"]["name"] if objects and objects.push_objects else None),
            fingerprint=resolution.pull_fingerprint if resolution.pull else None,
            credentials=[entry_status(e) for e in resolution.pull]
            + ([entry_status(resolution.push)] if resolution.push else []),
        ))
        for item in own:
            if item not in findings:
                findings.append(item)
    blocking = [f for f in findings if f[0] in BLOCKING]
    degraded_reason = findings[0][0] if findings else "AsExpected"
    conditions = [
        condition("Ready", not blocking, blocking[0][0] if blocking else Reason.READY,
                   "; ".join(m for _, m in blocking) if blocking else "every phase has its credentials delivered",
                   generation=generation, previous=previous_conditions, now=now),
        condition("Degraded", bool(findings), degraded_reason, "; ".join(m for _, m in findings),
                   generation=generation, previous=previous_conditions, now=now),
    ]
    status = PipelineStatus(
        observed_generation=generation, reclaim_policy=reclaim, phases=phases, conditions=conditions,
        verifications=[VerificationStatus.model_validate(v) for v in verifications] if verifications is not None
        else None)
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)
