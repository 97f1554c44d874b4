"""A pipeline's inputs, checked: the one step between "objects read" and "resolution" that every path takes.

The operator fills it from its cache, the REST API and the admission webhook from live reads: the same claim
checks, the same grants, the same sources, so what the API shows, explains or verifies is what the operator
delivers. Pure: the caller reads; this decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipway.core.dockerconfig import DockerConfig
from shipway.core.documents import source_of_secret
from shipway.core.isolation import NamespaceView, Refusal, SecretView, claim_refusals, pipeline_grants
from shipway.core.layers import Grants, PhaseResolution, SourceProblem, referenced_secrets, resolve_pipeline
from shipway.core.resources import Pipeline, PlatformSpec, SecretRef, phase_namespace

SecretBodies = Mapping[SecretRef, Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class PipelineInputs:
    pipeline: Pipeline
    platform: PlatformSpec | None
    refused: Mapping[str, Refusal]  # phase name -> why its namespace may not be claimed
    grants: Grants
    sources: Mapping[SecretRef, DockerConfig | SourceProblem]

    def resolve(self) -> list[PhaseResolution]:
        """The resolution of every enabled phase whose namespace the pipeline may claim."""
        resolutions = resolve_pipeline(pipeline_name=self.pipeline.metadata.name, pipeline=self.pipeline.spec,
                                       platform=self.platform, sources=self.sources, grants=self.grants)
        return [r for r in resolutions if r.phase.name.value not in self.refused]

    @property
    def claim_findings(self) -> list[tuple[str, str]]:
        return [(refusal.rule, f"{phase}: {refusal.field}: {refusal.message}")
                for phase, refusal in self.refused.items()]


def phase_namespaces(pipeline: Pipeline) -> list[str]:
    return [phase_namespace(pipeline.metadata.name, phase) for phase in pipeline.spec.phases]


def secrets_read_by(pipeline: Pipeline, platform: PlatformSpec | None) -> frozenset[SecretRef]:
    """Every Secret a pipeline's resolution may read (its own layers' and the platform layer's)."""
    return referenced_secrets(platform=platform, pipeline=pipeline.spec)


def pipeline_inputs(pipeline: Pipeline, *, platform: PlatformSpec | None,
                    namespaces: Mapping[str, NamespaceView | None], secrets: SecretBodies) -> PipelineInputs:
    """Check claims and references, then read the docker config of only the Secrets some layer may use."""
    refused = claim_refusals(pipeline, namespaces=namespaces, platform=platform)
    views = {ref: SecretView.of(ref, body) if body is not None else None for ref, body in secrets.items()}
    grants = pipeline_grants(pipeline, secrets=views, platform=platform, refused=refused)
    usable = {ref for ref, grant in (*grants.tenant.items(), *grants.platform.items())
              if not isinstance(grant, SourceProblem)}
    sources: dict[SecretRef, DockerConfig | SourceProblem] = {}
    for ref in usable:
        body = secrets.get(ref)
        if body is not None:
            sources[ref] = source_of_secret(body, ref=ref)
    return PipelineInputs(pipeline=pipeline, platform=platform, refused=refused, grants=grants, sources=sources)
