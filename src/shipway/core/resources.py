"""The custom resources: Platform (the platform layer) and Pipeline (pipeline and phase layers).

Group ``shipway.dev``, version ``v1alpha1``. Fields are camelCase on the wire (aliases) and snake_case in
Python. Unknown fields are refused. ``status`` is written by the operator and never holds secret data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shipway.core import names
from shipway.core.validation import DNSLabel, DNSSubdomain, RegistryHost, RepositoryPath


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )


class Usage(StrEnum):
    PULL = "pull"
    PUSH = "push"


class ReclaimPolicy(StrEnum):
    """What happens to a phase namespace when its phase is removed or disabled or its pipeline is deleted.
    Shipway's own objects are always removed; ``Retain`` keeps the namespace and everything else in it,
    ``Delete`` deletes the namespace, only if Shipway created it."""

    RETAIN = "Retain"
    DELETE = "Delete"


class PhaseName(StrEnum):
    REVIEW = "review"
    TEST = "test"
    STAGE = "stage"
    PRODUCTION = "production"


class SecretRef(Model):
    """A Secret by namespace and name: the source of a credential."""

    namespace: DNSLabel = Field(description="The namespace of the source Secret (a DNS label).")
    name: DNSSubdomain = Field(description="The name of the source Secret, of type kubernetes.io/dockerconfigjson.")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class CredentialRef(Model):
    """One credential of a layer: the Secret that holds it and what it may be used for."""

    secret_ref: SecretRef = Field(description="The Secret that holds the credential; Shipway reads it by "
                                              "reference and never copies it into a custom resource.")
    usage: list[Usage] = Field(
        default_factory=lambda: [Usage.PULL], min_length=1, max_length=2,
        description="What the credential is for: pull (delivered to the phase's pull secret), push (delivered "
                    "to the separate push secret builds use), or both.",
        # default_factory never reaches a JSON schema: say the default there too, so the API server applies it.
        json_schema_extra={"x-kubernetes-list-type": "set", "default": ["pull"]},
    )

    @model_validator(mode="after")
    def _unique_usage(self) -> CredentialRef:
        if len(set(self.usage)) != len(self.usage):
            raise ValueError("usage lists a value twice")
        return self

    @property
    def usages(self) -> frozenset[Usage]:
        return frozenset(self.usage)


def _no_duplicate_sources(credentials: list[CredentialRef]) -> None:
    seen: set[SecretRef] = set()
    for index, credential in enumerate(credentials):
        if credential.secret_ref in seen:
            raise ValueError(f"credentials[{index}]: {credential.secret_ref} is listed twice")
        seen.add(credential.secret_ref)


class PushTarget(Model):
    """Where builds push: ``registry/repositoryPrefix/<app>``."""

    registry: RegistryHost = Field(description="The registry host (host[:port]) builds push to.")
    repository_prefix: RepositoryPath = Field(description="The repository path under the registry; images are "
                                                           "pushed to registry/repositoryPrefix/<app>.")

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.repository_prefix}"


class PlatformRegistry(Model):
    """The platform's default registry layer: what every pipeline that inherits gets."""

    credentials: list[CredentialRef] = Field(
        default_factory=list, max_length=64, json_schema_extra={"default": []},
        description="The platform default credentials, resolved per registry the way the kubelet matches images.")
    push: PushTarget | None = Field(default=None, description="The default push target of builds.")
    insecure_registries: list[RegistryHost] = Field(
        default_factory=list, max_length=64,
        description="Registry hosts verified over plain HTTP (sandbox or in-cluster registries only).")
    allowed_registries: list[RegistryHost] | None = Field(
        default=None, max_length=256,
        description="If set, the only registry hosts any layer's credentials and push targets may name; "
                    "unset: any.")
    trusted_token_realms: list[RegistryHost] = Field(
        default_factory=list, max_length=64,
        description="Token-realm hosts (host[:port]) on another host than their registry that may receive a "
                    "credential during verification (over HTTPS only). Docker Hub's is known.")

    @model_validator(mode="after")
    def _check(self) -> PlatformRegistry:
        _no_duplicate_sources(self.credentials)
        return self


def is_protected_namespace(namespace: str, *, system_namespace: str) -> bool:
    """kube-*, default and Shipway's system namespace: never a phase namespace, never adopted."""
    return namespace.startswith("kube-") or namespace in ("default", system_namespace)


class NamespaceAdoption(Model):
    """An existing namespace that a platform admin lets one pipeline use as a phase namespace."""

    namespace: DNSLabel
    pipeline: DNSLabel


class PlatformSpec(Model):
    system_namespace: DNSLabel = Field(
        default=names.SYSTEM_NAMESPACE,
        description="Where Shipway runs and where platform default credential Secrets live.")
    registry: PlatformRegistry = Field(
        default_factory=PlatformRegistry, json_schema_extra={"default": {}},
        description="The platform default registry layer.")
    default_reclaim_policy: ReclaimPolicy = Field(
        default=ReclaimPolicy.RETAIN, description="The reclaim policy of pipelines that set none.")
    adopted_namespaces: list[NamespaceAdoption] = Field(
        default_factory=list, max_length=1024,
        description="Existing namespaces (not created by Shipway) that a named pipeline may claim as phase "
                    "namespaces. Shipway never deletes an adopted namespace.")

    @model_validator(mode="after")
    def _one_adopter(self) -> PlatformSpec:
        seen: set[str] = set()
        for index, adoption in enumerate(self.adopted_namespaces):
            if adoption.namespace in seen:
                raise ValueError(f"adoptedNamespaces[{index}].namespace: the namespace is listed twice")
            if is_protected_namespace(adoption.namespace, system_namespace=self.system_namespace):
                raise ValueError(f"adoptedNamespaces[{index}].namespace: kube-*, default and the system namespace "
                                 "cannot be adopted")
            seen.add(adoption.namespace)
        return self


class PhaseRegistry(Model):
    """A phase's override layer: it wins over the pipeline's and the platform's per registry."""

    credentials: list[CredentialRef] = Field(
        default_factory=list, max_length=64, json_schema_extra={"default": []},
        description="Credentials of this phase only. A Secret is usable if it lives in one of the pipeline's "
                    "phase namespaces or its shipway.dev/allowed-pipelines annotation names the pipeline.")

    @model_validator(mode="after")
    def _check(self) -> PhaseRegistry:
        _no_duplicate_sources(self.credentials)
        return self


class Phase(Model):
    """One phase of the pipeline, deployed into its own namespace."""

    name: PhaseName = Field(description="review, test, stage or production; each at most once.")
    namespace: DNSLabel | None = Field(
        default=None, description="The phase namespace; unset: <pipeline>-<phase>. Another name must be "
                                  "adopted for this pipeline in the Platform.")
    enabled: bool = Field(default=True, description="A disabled phase gets no namespace and no credentials.")
    registry: PhaseRegistry | None = Field(default=None, description="The phase's override layer.")


class PipelineRegistry(Model):
    """The pipeline's registry layer: overrides the platform default per registry."""

    inherit: bool = Field(
        default=True, description="Whether the platform default credentials apply to this pipeline; a rotated "
                                  "default reaches every pipeline that inherits it.")
    credentials: list[CredentialRef] = Field(
        default_factory=list, max_length=64, json_schema_extra={"default": []},
        description="Credentials of every phase of the pipeline. A Secret is usable if it lives in one of the "
                    "pipeline's phase namespaces or its shipway.dev/allowed-pipelines annotation names the pipeline.")
    push: PushTarget | None = Field(default=None, description="Where this pipeline's builds push; unset: the "
                                                              "platform default.")

    @model_validator(mode="after")
    def _check(self) -> PipelineRegistry:
        _no_duplicate_sources(self.credentials)
        return self


class PipelineSpec(Model):
    phases: list[Phase] = Field(
        min_length=1, max_length=4, description="The pipeline's phases, one namespace each.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    registry: PipelineRegistry = Field(
        default_factory=PipelineRegistry, json_schema_extra={"default": {}},
        description="Registry credentials and push target of the pipeline, layered over the platform default.")
    reclaim_policy: ReclaimPolicy | None = Field(
        default=None, description="Retain (keep the namespace, remove only Shipway's objects) or Delete (delete "
                                  "namespaces Shipway created) when a phase goes; unset: the Platform's default.")

    def reclaim(self, platform: PlatformSpec | None) -> ReclaimPolicy:
        if self.reclaim_policy is not None:
            return self.reclaim_policy
        return platform.default_reclaim_policy if platform is not None else ReclaimPolicy.RETAIN

    @model_validator(mode="after")
    def _unique_phases(self) -> PipelineSpec:
        seen: set[str] = set()
        for index, phase in enumerate(self.phases):
            if phase.name in seen:
                raise ValueError(f"phases[{index}].name: phase {phase.name.value} is listed twice")
            seen.add(phase.name)
        return self


class ObjectMeta(Model):
    """The part of metadata Shipway reads; everything else a server sets is kept aside, not refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)
    name: DNSLabel
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Condition(Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    observed_generation: int | None = None
    last_transition_time: str | None = None


class EffectiveCredentialStatus(Model):
    """One effective entry of a phase, as shown in status: provenance and fingerprint, never the secret."""

    registry: str
    source: Literal["platform", "pipeline", "phase"]
    secret_ref: SecretRef
    fingerprint: str
    usage: list[Usage]


class VerificationStatus(Model):
    """The ``Verified`` outcome of one credential for one registry: when checked, the outcome, the reason."""

    type: Literal["Verified"] = "Verified"
    registry: str
    fingerprint: str
    secret_ref: SecretRef
    source: Literal["platform", "pipeline", "phase"]
    status: Literal["True", "False", "Unknown"]
    reason: str
    last_check_time: str | None = None
    last_transition_time: str | None = None


class PhaseStatus(Model):
    name: PhaseName
    namespace: str
    ready: bool | None = None
    reason: str | None = None  # Ready, or the first reason it is not
    pull_secret: str | None = None
    push_secret: str | None = None
    fingerprint: str | None = None
    credentials: list[EffectiveCredentialStatus] = Field(default_factory=list)


class PipelineStatus(Model):
    observed_generation: int | None = None
    reclaim_policy: ReclaimPolicy | None = None
    phases: list[PhaseStatus] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    verifications: list[VerificationStatus] | None = None


class PlatformStatus(Model):
    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    verifications: list[VerificationStatus] | None = None


class Platform(Model):
    api_version: Literal["shipway.dev/v1alpha1"] = "shipway.dev/v1alpha1"
    kind: Literal["Platform"] = "Platform"
    metadata: ObjectMeta
    spec: PlatformSpec = Field(default_factory=PlatformSpec)
    status: PlatformStatus | None = None


class Pipeline(Model):
    api_version: Literal["shipway.dev/v1alpha1"] = "shipway.dev/v1alpha1"
    kind: Literal["Pipeline"] = "Pipeline"
    metadata: ObjectMeta
    spec: PipelineSpec
    status: PipelineStatus | None = None

    @model_validator(mode="after")
    def _namespaces_fit(self) -> Pipeline:
        seen: dict[str, str] = {}
        for index, phase in enumerate(self.spec.phases):
            namespace = phase_namespace(self.metadata.name, phase)
            if len(namespace) > 63:
                raise ValueError(
                    f"spec.phases[{index}].namespace: the namespace would be longer than 63 characters; "
                    "shorten the pipeline name or set the phase's namespace"
                )
            if namespace in seen:
                raise ValueError(f"spec.phases[{index}].namespace: the namespace is used by phase {seen[namespace]} "
                                 "too")
            seen[namespace] = phase.name.value
        return self

    def to_k8s(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def phase_namespace(pipeline: str, phase: Phase) -> str:
    """The namespace of a phase: its own ``namespace``, or ``<pipeline>-<phase>``."""
    return phase.namespace or f"{pipeline}-{phase.name.value}"
