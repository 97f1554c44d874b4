"""Layered resolution: platform -> pipeline -> phase, merged per normalised registry key.

The ONE place the merge rules live. For one phase:

* the layers are the platform's credentials (dropped when the pipeline says ``inherit: false``), the
  pipeline's, then the phase's; each credential is a Secret reference, its auths entries and its usage;
* pull and push are resolved separately, each over the credentials whose usage includes it;
* per normalised registry key (``host[:port][path]`` as the kubelet indexes it) the more specific layer
  wins; within one layer the credential listed first wins and the later one is reported as shadowed;
* the pull set is what a runtime namespace gets; the push entry is the one the kubelet's matching picks
  for the push repository (``registry/repositoryPrefix``) among the effective push entries.

Every effective entry carries its provenance (layer, source Secret) and fingerprint. Problems with a
source (missing, invalid) and a push target with no push credential are findings, not exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shipway.core.dockerconfig import AuthEntry, DockerConfig
from shipway.core.fingerprints import entry_fingerprint, set_fingerprint
from shipway.core.keyring import Keyring
from shipway.core.names import Reason
from shipway.core.resources import (
    CredentialRef,
    Phase,
    PipelineSpec,
    PlatformSpec,
    PushTarget,
    SecretRef,
    Usage,
    phase_namespace,
)


class Layer(StrEnum):
    PLATFORM = "platform"
    PIPELINE = "pipeline"
    PHASE = "phase"


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """Why a source Secret could not be used: a ``Reason`` code and a message without secret data."""

    reason: str
    message: str


Sources = Mapping[SecretRef, DockerConfig | SourceProblem]
"""What the caller found for each referenced Secret (absent from the mapping: not found)."""

Grant = frozenset[Usage] | SourceProblem
"""What a layer may use a Secret for, or why it may not use it (see :mod:`shipway.core.isolation`)."""


@dataclass(frozen=True, slots=True)
class Grants:
    """The isolation rules' answer for one pipeline: per Secret, what its own layers (``tenant``) and the
    platform layer may use it for, and the registries its own layers may name (None: any)."""

    tenant: Mapping[SecretRef, Grant]
    platform: Mapping[SecretRef, Grant]
    allowed_registries: frozenset[str] | None = None

    def of(self, layer: Layer, ref: SecretRef) -> Grant:
        found = (self.platform if layer is Layer.PLATFORM else self.tenant).get(ref)
        if found is None:
            return SourceProblem(Reason.SOURCE_NOT_USABLE, f"Secret {ref} was not checked for this pipeline")
        return found

    def registry_allowed(self, entry: AuthEntry) -> bool:
        return self.allowed_registries is None or host_port(entry) in self.allowed_registries


def host_port(entry: AuthEntry) -> str:
    return entry.registry.host + (f":{entry.registry.port}" if entry.registry.port else "")


@dataclass(frozen=True, slots=True)
class Provenance:
    layer: Layer
    source: SecretRef


@dataclass(frozen=True, slots=True)
class EffectiveEntry:
    """One auths entry that a phase uses, with where it came from and what it overrode."""

    entry: AuthEntry
    provenance: Provenance
    usage: frozenset[Usage]
    fingerprint: str
    overrides: tuple[Provenance, ...] = ()

    @property
    def registry(self) -> str:
        return self.entry.registry.text


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str
    message: str
    layer: Layer | None = None
    source: SecretRef | None = None


@dataclass(frozen=True, slots=True)
class PhaseResolution:
    pipeline: str
    phase: Phase
    namespace: str
    pull: tuple[EffectiveEntry, ...]
    push: EffectiveEntry | None
    push_target: PushTarget | None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def pull_fingerprint(self) -> str:
        return set_fingerprint((e.registry, e.fingerprint) for e in self.pull)

    @property
    def pull_sources(self) -> tuple[SecretRef, ...]:
        return tuple(dict.fromkeys(e.provenance.source for e in self.pull))


def layers_of(
    *, platform: PlatformSpec | None, pipeline: PipelineSpec, phase: Phase
) -> list[tuple[Layer, Sequence[CredentialRef]]]:
    """The credential layers of one phase, least specific first."""
    layers: list[tuple[Layer, Sequence[CredentialRef]]] = []
    if platform is not None and pipeline.registry.inherit:
        layers.append((Layer.PLATFORM, platform.registry.credentials))
    layers.append((Layer.PIPELINE, pipeline.registry.credentials))
    if phase.registry is not None:
        layers.append((Layer.PHASE, phase.registry.credentials))
    return layers


def referenced_secrets(*, platform: PlatformSpec | None, pipeline: PipelineSpec) -> frozenset[SecretRef]:
    """Every Secret the pipeline's resolution reads (for the operator's source-to-pipeline index)."""
    refs: set[SecretRef] = set()
    for phase in pipeline.phases:
        for _, credentials in layers_of(platform=platform, pipeline=pipeline, phase=phase):
            refs.update(c.secret_ref for c in credentials)
    return frozenset(refs)


def _note(findings: list[Finding], finding: Finding) -> None:
    if finding not in findings:
        findings.append(finding)


def _merge(
    layers: list[tuple[Layer, Sequence[CredentialRef]]], sources: Sources, usage: Usage, findings: list[Finding],
    grants: Grants,
) -> list[EffectiveEntry]:
    chosen: dict[str, EffectiveEntry] = {}
    for layer, credentials in layers:
        in_layer: dict[str, EffectiveEntry] = {}
        for credential in credentials:
            if usage not in credential.usages:
                continue
            ref = credential.secret_ref
            grant = grants.of(layer, ref)
            if isinstance(grant, SourceProblem):  # checked before the source: no oracle on what exists
                _note(findings, Finding(grant.reason, grant.message, layer, ref))
                continue
            if usage not in grant:
                _note(findings, Finding(Reason.USAGE_NOT_GRANTED, f"Secret {ref} is not granted for {usage.value} "
                                        "by its owner", layer, ref))
                continue
            usages = credential.usages & grant
            found = sources.get(ref)
            if found is None:
                found = SourceProblem(Reason.SOURCE_SECRET_MISSING, f"Secret {ref} does not exist")
            if isinstance(found, SourceProblem):
                problem = Finding(found.reason, found.message, layer, ref)
                if problem not in findings:
                    findings.append(problem)
                continue
            for entry in found.entries:
                key = entry.registry.text
                if not grants.registry_allowed(entry):
                    _note(findings, Finding(Reason.REGISTRY_NOT_ALLOWED, f"{key} in {ref} is not in the platform's "
                                            "allowedRegistries", layer, ref))
                    continue
                if key in in_layer:
                    shadow = Finding(
                        Reason.DUPLICATE_REGISTRY_KEY,
                        f"{key} in {ref} is shadowed by {in_layer[key].provenance.source} listed before it",
                        layer, ref,
                    )
                    if shadow not in findings:
                        findings.append(shadow)
                    continue
                previous = chosen.get(key)
                overrides = (*previous.overrides, previous.provenance) if previous else ()
                in_layer[key] = EffectiveEntry(
                    entry=entry, provenance=Provenance(layer, ref), usage=usages,
                    fingerprint=entry_fingerprint(entry), overrides=overrides,
                )
        chosen.update(in_layer)
    return sorted(chosen.values(), key=lambda e: e.registry, reverse=True)


def entries_of_layer(layer: Layer, credentials: Sequence[CredentialRef], sources: Sources, *, grants: Grants
                     ) -> tuple[list[EffectiveEntry], list[Finding]]:
    """Every entry one layer holds, whatever its usage (for verifying a layer on its own)."""
    findings: list[Finding] = []
    pull = _merge([(layer, credentials)], sources, Usage.PULL, findings, grants)
    push = _merge([(layer, credentials)], sources, Usage.PUSH, findings, grants)
    seen = {e.fingerprint for e in pull}
    return pull + [e for e in push if e.fingerprint not in seen], findings


def push_target_of(*, platform: PlatformSpec | None, pipeline: PipelineSpec) -> PushTarget | None:
    """Where builds push: the pipeline's target, else the platform's."""
    if pipeline.registry.push is not None:
        return pipeline.registry.push
    return platform.registry.push if platform is not None else None


def resolve_phase(
    *, pipeline_name: str, pipeline: PipelineSpec, phase: Phase, platform: PlatformSpec | None, sources: Sources,
    grants: Grants,
) -> PhaseResolution:
    findings: list[Finding] = []
    layers = layers_of(platform=platform, pipeline=pipeline, phase=phase)
    pull = _merge(layers, sources, Usage.PULL, findings, grants)
    push_candidates = _merge(layers, sources, Usage.PUSH, findings, grants)
    target = push_target_of(platform=platform, pipeline=pipeline)
    push: EffectiveEntry | None = None
    allowed = grants.allowed_registries
    if target is not None and allowed is not None and target.registry not in allowed:
        findings.append(Finding(Reason.REGISTRY_NOT_ALLOWED,
                                "the push registry is not in the platform's allowedRegistries"))
        target = None
    if target is not None:
        by_entry = {id(e.entry): e for e in push_candidates}
        matches = Keyring([[e.entry for e in push_candidates]]).lookup(f"{target.repository}/app")
        push = by_entry[id(matches[0].entry)] if matches else None
        if push is None:
            findings.append(Finding(
                Reason.PUSH_CREDENTIAL_MISSING,
                f"no credential with usage 'push' matches the push repository {target.repository}",
            ))
    return PhaseResolution(
        pipeline=pipeline_name, phase=phase, namespace=phase_namespace(pipeline_name, phase),
        pull=tuple(pull), push=push, push_target=target, findings=tuple(findings),
    )


def resolve_pipeline(
    *, pipeline_name: str, pipeline: PipelineSpec, platform: PlatformSpec | None, sources: Sources, grants: Grants
) -> list[PhaseResolution]:
    """The resolution of every enabled phase of a pipeline, in spec order."""
    return [
        resolve_phase(pipeline_name=pipeline_name, pipeline=pipeline, phase=phase, platform=platform, sources=sources,
                      grants=grants)
        for phase in pipeline.phases
        if phase.enabled
    ]
