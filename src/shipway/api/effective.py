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
from shipway.core.layers import EffectiveEntry, Layer, PhaseResolution, host_port
from shipway.core.registry_keys import validate_key
from shipway.core.reports import phase_view


async def resolutions(state: AppState, name: str) -> tuple[list[PhaseResolution], dict[str, Any]]:
    pipeline, body = await repository.get_pipeline(state.kube, name)
    platform, _ = await repository.get_platform(state.kube)
    inputs = await repository.read_inputs(state.kube, pipeline=pipeline, platform=platform.spec if platform else None)
    return inputs.resolve(), body


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
    key = validate_key(registry, field="registry")
    if "*" in key.host:
        raise InvalidInput("a glob key names no one registry to contact: verify one of the hosts it matches "
                           "through a key of its own", field="registry")
    for entry in [*resolution.pull, *([resolution.push] if resolution.push else [])]:
        if entry.registry == key.text:
            return entry
    raise InvalidInput(f"phase {resolution.phase.name.value} has no effective credential for that registry",
                       field="registry")


def _check_repository(resolution: PhaseResolution, entry: EffectiveEntry, repository: str | None) -> None:
    """A repository is checked only where the kubelet would use this entry, and the platform's credential
    only under the pipeline's own push repository: verify probes nothing the pipeline has no business with."""
    if repository is None:
        return
    host = host_port(entry.entry)
    if not Keyring([[entry.entry]]).lookup(parse_image(f"{host}/{repository}", field="repository")):
        raise InvalidInput("the credential does not serve that repository", field="repository")
    if entry.provenance.layer is Layer.PLATFORM:
        target = resolution.push_target
        if target is None or target.registry != host or not repository.startswith(f"{target.repository_prefix}/"):
            raise InvalidInput("the platform's credential is checked only under the pipeline's push repository",
                               field="repository")


def _check_out(found: Any) -> CheckOut | None:
    return None if found is None else CheckOut(ok=found.ok, outcome=str(found.outcome))


async def verify(state: AppState, name: str, body: VerifyIn) -> VerifyOut:
    """Check one effective credential of the pipeline against its own registry: nothing else is contacted,
    and the answer says only Verified, Unauthorized or Unreachable (no detail about the other end)."""
    found, _ = await resolutions(state, name)
    resolution = _phase(found, body.phase.value if body.phase else None, name)
    entry = _stored(resolution, body.registry)
    _check_repository(resolution, entry, body.repository)
    platform, _ = await repository.get_platform(state.kube)
    registry = platform.spec.registry if platform else None
    insecure = frozenset(registry.insecure_registries) if registry else frozenset()
    trusted = frozenset(registry.trusted_token_realms) if registry else frozenset()
    async with state.registry_client(insecure, trusted) as client:
        result = await client.verify(host_port(entry.entry), repository=body.repository, check_push=body.check_push,
                                     credential=Credential(entry.entry.username, entry.entry.password))
    valid = _check_out(result.valid)
    assert valid is not None
    return VerifyOut(pipeline=name, phase=resolution.phase.name.value, registry=result.registry,
                     repository=result.repository, source=entry.provenance.layer.value,
                     secret_ref=entry.provenance.source, fingerprint=entry.fingerprint, outcome=str(result.outcome),
                     valid=valid, can_pull=_check_out(result.can_pull), can_push=_check_out(result.can_push),
                     checked_at=result.checked_at.isoformat())
