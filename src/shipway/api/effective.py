"""The effective view of a pipeline, the kubelet's try order for an image, and on-demand verification.

All three ask the core: the same resolution the operator delivers, computed from the same objects.
"""

from __future__ import annotations

from typing import Any

from shipway.adapters.registry import Credential
from shipway.api import repository
from shipway.api.schemas import CheckOut, ExplainOut, ExplainTry, VerifyIn, VerifyOut
from shipway.api.state import AppState
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.images import parse_image
from shipway.core.keyring import Keyring
from shipway.core.layers import EffectiveEntry, PhaseResolution, resolve_pipeline
from shipway.core.registry_keys import validate_key
from shipway.core.reports import phase_view


async def resolutions(state: AppState, name: str) -> tuple[list[PhaseResolution], dict[str, Any]]:
    pipeline, body = await repository.get_pipeline(state.kube, name)
    platform, _ = await repository.get_platform(state.kube)
    platform_spec = platform.spec if platform else None
    sources = await repository.read_sources(state.kube, platform=platform_spec, pipeline=pipeline.spec)
    return resolve_pipeline(pipeline_name=name, pipeline=pipeline.spec, platform=platform_spec,
                            sources=sources), body


def _phase(found: list[PhaseResolution], phase: str | None, name: str) -> PhaseResolution:
    if phase is None:
        if not found:
            raise NotFound(f"pipeline {name} has no enabled phase")
        return found[0]
    for resolution in found:
        if resolution.phase.name.value == phase:
            return resolution
    raise NotFound(f"pipeline {name} has no enabled phase {phase!r}")


async def effective_view(state: AppState, name: str) -> dict[str, Any]:
    found, body = await resolutions(state, name)
    _, platform_body = await repository.get_platform(state.kube)
    verified = [*((body.get("status") or {}).get("verifications") or []),
                *(((platform_body or {}).get("status") or {}).get("verifications") or [])]
    phases = []
    for resolution in found:
        view = phase_view(resolution)
        for entry in [*view["pull"], *([view["push"]] if view["push"] else [])]:
            entry["verified"] = next((v for v in verified if v.get("registry") == entry["registry"]
                                      and v.get("fingerprint") == entry["fingerprint"]), None)
        phases.append(view)
    return {"pipeline": name, "phases": phases}


async def explain(state: AppState, name: str, *, phase: str, image: str) -> ExplainOut:
    ref = parse_image(image, field="image")
    found, _ = await resolutions(state, name)
    resolution = _phase(found, phase, name)
    by_id = {id(e.entry): e for e in resolution.pull}
    tries = []
    for order, match in enumerate(Keyring([[e.entry for e in resolution.pull]]).lookup(ref), start=1):
        effective = by_id[id(match.entry)]
        tries.append(ExplainTry(order=order, key=match.entry.key, registry=effective.registry,
                                layer=effective.provenance.layer.value, secret_ref=effective.provenance.source,
                                fingerprint=effective.fingerprint, reason=match.reason))
    note = ("the kubelet tries these in order until a pull succeeds, then the node's own credentials"
            if tries else "no pull secret of this phase matches: the kubelet uses the node's credentials or none")
    return ExplainOut(pipeline=name, phase=resolution.phase.name.value, image=image, normalized=ref.name,
                      tries=tries, note=note)


def _stored(resolution: PhaseResolution, registry: str) -> EffectiveEntry:
    key = validate_key(registry, field="registry").text
    for entry in [*resolution.pull, *([resolution.push] if resolution.push else [])]:
        if entry.registry == key:
            return entry
    raise InvalidInput(f"phase {resolution.phase.name.value} has no effective credential for {key}",
                       field="registry")


async def verify(state: AppState, name: str, body: VerifyIn) -> VerifyOut:
    found, _ = await resolutions(state, name)
    resolution = _phase(found, body.phase.value if body.phase else None, name)
    entry = _stored(resolution, body.registry)
    platform, _ = await repository.get_platform(state.kube)
    insecure = frozenset(platform.spec.registry.insecure_registries) if platform else frozenset()
    host = entry.entry.registry.host + (f":{entry.entry.registry.port}" if entry.entry.registry.port else "")
    async with state.registry_client(insecure) as client:
        result = await client.verify(host, credential=Credential(entry.entry.username, entry.entry.password),
                                     repository=body.repository, check_push=body.check_push)
    def check(found: Any) -> CheckOut | None:
        return None if found is None else CheckOut(ok=found.ok, reason=None if found.reason is None
                                                    else str(found.reason), detail=found.detail)

    valid = check(result.valid)
    assert valid is not None
    return VerifyOut(pipeline=name, phase=resolution.phase.name.value, registry=result.registry,
                     repository=result.repository, source=entry.provenance.layer.value,
                     secret_ref=entry.provenance.source, fingerprint=entry.fingerprint, valid=valid,
                     can_pull=check(result.can_pull), can_push=check(result.can_push),
                     checked_at=result.checked_at.isoformat())
