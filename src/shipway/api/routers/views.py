"""Output views of stored objects: built field by field from the models, never the stored object."""

from __future__ import annotations

from typing import Any

from shipway.api.schemas import ConditionOut, CredentialRefOut, PhaseOut, PipelineOut, PlatformOut
from shipway.core.editing import is_managed_name
from shipway.core.resources import CredentialRef, Pipeline, Platform, phase_namespace


def credential_out(credential: CredentialRef) -> CredentialRefOut:
    return CredentialRefOut(secret_ref=credential.secret_ref, usage=list(credential.usage),
                            managed=is_managed_name(credential.secret_ref.name))


def pipeline_out(pipeline: Pipeline, body: dict[str, Any]) -> PipelineOut:
    conditions = [ConditionOut(type=str(c.get("type", "")), status=str(c.get("status", "")),
                               reason=str(c.get("reason", "")), message=str(c.get("message", "")))
                  for c in (body.get("status") or {}).get("conditions") or []]
    return PipelineOut(
        name=pipeline.metadata.name,
        phases=[PhaseOut(name=p.name, namespace=phase_namespace(pipeline.metadata.name, p), enabled=p.enabled,
                         credentials=[credential_out(c) for c in (p.registry.credentials if p.registry else [])])
                for p in pipeline.spec.phases],
        inherit=pipeline.spec.registry.inherit, push=pipeline.spec.registry.push,
        credentials=[credential_out(c) for c in pipeline.spec.registry.credentials],
        conditions=conditions, generation=pipeline.metadata.generation,
        reclaim_policy=pipeline.spec.reclaim_policy,
    )


def platform_out(platform: Platform) -> PlatformOut:
    registry = platform.spec.registry
    return PlatformOut(system_namespace=platform.spec.system_namespace,
                       credentials=[credential_out(c) for c in registry.credentials], push=registry.push,
                       insecure_registries=list(registry.insecure_registries),
                       allowed_registries=list(registry.allowed_registries) if registry.allowed_registries
                       is not None else None)

