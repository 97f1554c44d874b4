"""Tenant isolation: the ONE home of the rules every path asks (REST API, admission webhook, operator, CLI).

**Namespaces.** A phase namespace is claimed by exactly one pipeline. A pipeline may claim a namespace only

* when it is not protected (``kube-*``, ``default``, the platform's system namespace), and
* when it is already labelled as Shipway's for that same pipeline (or Shipway retained it when that pipeline
  let it go: ``shipway.dev/released-from``), or the platform admin adopted it for
  that pipeline in the Platform (``spec.adoptedNamespaces``), or it does not exist yet (Shipway creates and
  labels it) and its name is one of the pipeline's own (``<pipeline>-<phase>``: no other pipeline's,
  even one whose name extends it).

Another pipeline's namespace, a namespace Shipway did not create and nobody adopted, and a name other than
the pipeline's own are refused; for a name not its own a pipeline is refused whether the namespace exists or
not, so claims cannot probe for namespaces. Disabled phases claim nothing and grant nothing.

**Secrets.** What a pipeline's own (pipeline and phase) layers may use, and for what:

* a Secret in one of its enabled, rightfully claimed phase namespaces: pull and push (or what the Secret's
  ``shipway.dev/allowed-usage`` annotation grants);
* a Secret that Shipway's API wrote for a credential set by value (in the system namespace, labelled
  ``app.kubernetes.io/managed-by: shipway-api``): only by the pipeline it belongs to (its
  ``shipway.dev/pipeline`` label, which only the API writes: tenants cannot write the system namespace);
* any other Secret only if its annotation ``shipway.dev/allowed-pipelines`` names the pipeline (or ``*``),
  for pull only unless ``shipway.dev/allowed-usage`` grants more. The system namespace confers nothing.

Anything else, a missing Secret or one without the credential label gives the same answer
(``SourceNotUsable``), so status and errors never tell a right guess from a wrong one. The platform layer is
written by platform admins; it may use any source Secret except Shipway's own output and another owner's
managed Secrets.

**Registries.** The Platform's ``allowedRegistries`` bounds every layer's entries and every push target.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.core import names
from shipway.core.layers import Grant, Grants, SourceProblem
from shipway.core.names import Reason
from shipway.core.resources import (
    Phase,
    PhaseName,
    Pipeline,
    PlatformSpec,
    SecretRef,
    Usage,
    is_protected_namespace,
    phase_namespace,
)

API_MANAGER = "shipway-api"  # the managed-by value of the Secrets the API writes for credentials set by value
ALL_USAGES: frozenset[Usage] = frozenset(Usage)
PULL_ONLY: frozenset[Usage] = frozenset({Usage.PULL})
NOT_USABLE_MESSAGE = (
    "Secret {ref} cannot be used by this pipeline: it does not exist, lacks the label "
    f"{names.CREDENTIAL_LABEL}, belongs to another owner, or does not name the pipeline in its annotation "
    f"{names.CONSENT_ANNOTATION}"
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a path refuses: the rule (a ``Reason``), the field, and a message without any value of a Secret."""

    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} ({self.rule})"


@dataclass(frozen=True, slots=True)
class NamespaceView:
    """What the rules need to know of an existing namespace: its labels."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> NamespaceView:
        meta = body.get("metadata") or {}
        return cls(name=str(meta.get("name", "")), labels=dict(meta.get("labels") or {}))

    def owned_by(self) -> str | None:
        """The pipeline whose namespace this is, when Shipway made it (else None)."""
        if self.labels.get(names.MANAGED_BY_LABEL) != names.MANAGED_BY:
            return None
        return self.labels.get(names.PIPELINE_LABEL)

    def released_to(self) -> str | None:
        """The pipeline a namespace Shipway made and then retained (reclaim policy Retain) may go back to."""
        return self.labels.get(names.RELEASED_LABEL)


@dataclass(frozen=True, slots=True)
class SecretView:
    """A referenced Secret's metadata: all the rules read of it (its data is read only once it is usable)."""

    ref: SecretRef
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ref: SecretRef, body: Mapping[str, Any]) -> SecretView:
        meta = body.get("metadata") or {}
        return cls(ref=ref, labels=dict(meta.get("labels") or {}), annotations=dict(meta.get("annotations") or {}))


def adoptions_of(platform: PlatformSpec | None) -> dict[str, str]:
    """Namespace -> the pipeline the platform admin allowed to adopt it."""
    if platform is None:
        return {}
    return {adoption.namespace: adoption.pipeline for adoption in platform.adopted_namespaces}


def system_namespace_of(platform: PlatformSpec | None, default: str = names.SYSTEM_NAMESPACE) -> str:
    return platform.system_namespace if platform is not None else default


def claim_refusal(*, pipeline: str, namespace: str, existing: NamespaceView | None, platform: PlatformSpec | None,
                  field: str, default_system_namespace: str = names.SYSTEM_NAMESPACE) -> Refusal | None:
    """None when ``pipeline`` may claim ``namespace`` (``existing`` is None when it does not exist)."""
    system = system_namespace_of(platform, default_system_namespace)
    if is_protected_namespace(namespace, system_namespace=system):
        return Refusal(Reason.NAMESPACE_PROTECTED, field,
                       "kube-*, default and Shipway's system namespace cannot be phase namespaces")
    adopted = adoptions_of(platform).get(namespace)
    if adopted == pipeline:
        return None
    if adopted is not None:
        return Refusal(Reason.NAMESPACE_CLAIMED, field, "the namespace is adopted by another pipeline")
    owner = existing.owned_by() if existing is not None else None
    if owner == pipeline or (existing is not None and owner is None and existing.released_to() == pipeline):
        return None
    # Outside its own names a pipeline learns nothing more, so it cannot probe which namespaces exist. Only the
    # exact ``<pipeline>-<phase>`` names are its own: a prefix alone would reach into the names of a pipeline
    # whose name extends this one's (``shop-`` covers ``shop-api-review``).
    if namespace not in own_names(pipeline):
        return Refusal(Reason.NAMESPACE_OUTSIDE_PREFIX, field,
                       f"a phase namespace Shipway creates is named '{pipeline}-<phase>' (review, test, stage or "
                       "production); any other must be adopted for this pipeline by a platform admin in the "
                       "Platform's spec.adoptedNamespaces")
    if owner is not None:
        return Refusal(Reason.NAMESPACE_CLAIMED, field, "the namespace belongs to another pipeline")
    if existing is not None:
        return Refusal(Reason.NAMESPACE_NOT_ADOPTED, field,
                       "the namespace exists and was not created by Shipway; a platform admin may adopt it for "
                       "this pipeline in the Platform's spec.adoptedNamespaces")
    return None


def own_names(pipeline: str) -> frozenset[str]:
    """The namespaces a pipeline may have Shipway create: ``<pipeline>-<phase>`` for each phase name. No two
    pipelines share one (phase names hold no '-'), whatever their names."""
    return frozenset(f"{pipeline}-{phase.value}" for phase in PhaseName)


def phase_field(pipeline: Pipeline, phase: Phase) -> str:
    index = pipeline.spec.phases.index(phase)
    return f"spec.phases[{index}].namespace"


def claim_refusals(pipeline: Pipeline, *, namespaces: Mapping[str, NamespaceView | None],
                   platform: PlatformSpec | None) -> dict[str, Refusal]:
    """Phase name -> why its namespace may not be claimed, for every phase (enabled or not) refused."""
    out: dict[str, Refusal] = {}
    for phase in pipeline.spec.phases:
        namespace = phase_namespace(pipeline.metadata.name, phase)
        refusal = claim_refusal(pipeline=pipeline.metadata.name, namespace=namespace,
                                existing=namespaces.get(namespace), platform=platform,
                                field=phase_field(pipeline, phase))
        if refusal is not None:
            out[phase.name.value] = refusal
    return out


def own_namespaces(pipeline: Pipeline, *, refused: Mapping[str, Refusal]) -> frozenset[str]:
    """The namespaces whose Secrets the pipeline may use as its own: enabled phases, rightfully claimed."""
    return frozenset(phase_namespace(pipeline.metadata.name, phase) for phase in pipeline.spec.phases
                     if phase.enabled and phase.name.value not in refused)


def _usages(raw: str | None, default: frozenset[Usage]) -> frozenset[Usage]:
    if raw is None:
        return default
    parts = {part.strip() for part in raw.split(",")}
    return frozenset(usage for usage in Usage if usage.value in parts)


def allowed_pipelines(annotations: Mapping[str, str]) -> frozenset[str]:
    raw = annotations.get(names.CONSENT_ANNOTATION, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def managed_owner(secret: SecretView, *, system_namespace: str) -> str | None:
    """For a Secret the API wrote (in the system namespace): ``pipeline/<name>`` or ``platform``; else None."""
    if secret.ref.namespace != system_namespace or secret.labels.get(names.MANAGED_BY_LABEL) != API_MANAGER:
        return None
    pipeline = secret.labels.get(names.PIPELINE_LABEL)
    return f"pipeline/{pipeline}" if pipeline else "platform"


def not_usable(ref: SecretRef) -> SourceProblem:
    return SourceProblem(Reason.SOURCE_NOT_USABLE, NOT_USABLE_MESSAGE.format(ref=ref))


def tenant_grant(*, pipeline: str, ref: SecretRef, secret: SecretView | None, own: Collection[str],
                 system_namespace: str) -> Grant:
    """What ``pipeline``'s own layers may use Secret ``ref`` for (``secret`` None: absent or unlabelled)."""
    if secret is None or names.CREDENTIAL_LABEL not in secret.labels:
        return not_usable(ref)
    if secret.labels.get(names.MANAGED_BY_LABEL) == names.MANAGED_BY:
        return not_usable(ref)  # the operator's own output is never a source
    owner = managed_owner(secret, system_namespace=system_namespace)
    if owner is not None:
        if owner != f"pipeline/{pipeline}":
            return not_usable(ref)
        return _usages(secret.annotations.get(names.USAGE_ANNOTATION), ALL_USAGES)
    if ref.namespace in own:
        return _usages(secret.annotations.get(names.USAGE_ANNOTATION), ALL_USAGES)
    allowed = allowed_pipelines(secret.annotations)
    if pipeline in allowed or "*" in allowed:
        return _usages(secret.annotations.get(names.USAGE_ANNOTATION), PULL_ONLY)
    return not_usable(ref)


def platform_grant(*, ref: SecretRef, secret: SecretView | None, system_namespace: str) -> Grant:
    """What the platform layer may use a Secret for: everything but Shipway's output and pipelines' Secrets."""
    if secret is None:
        return SourceProblem(Reason.SOURCE_SECRET_MISSING,
                             f"Secret {ref} does not exist or lacks the label {names.CREDENTIAL_LABEL}")
    if secret.labels.get(names.MANAGED_BY_LABEL) == names.MANAGED_BY:
        return SourceProblem(Reason.SOURCE_NOT_USABLE, f"Secret {ref} is written by Shipway, not a source")
    owner = managed_owner(secret, system_namespace=system_namespace)
    if owner is not None and owner != "platform":
        return SourceProblem(Reason.SOURCE_NOT_USABLE, f"Secret {ref} belongs to a pipeline")
    return ALL_USAGES


def tenant_refs(pipeline: Pipeline) -> frozenset[SecretRef]:
    """Every Secret named by the pipeline's own layers (pipeline and phases)."""
    refs = {c.secret_ref for c in pipeline.spec.registry.credentials}
    for phase in pipeline.spec.phases:
        if phase.registry is not None:
            refs.update(c.secret_ref for c in phase.registry.credentials)
    return frozenset(refs)


def pipeline_grants(pipeline: Pipeline, *, secrets: Mapping[SecretRef, SecretView | None],
                    platform: PlatformSpec | None, refused: Mapping[str, Refusal]) -> Grants:
    """The grant of every Secret the pipeline's own layers name, and of the platform layer's."""
    system = system_namespace_of(platform)
    own = own_namespaces(pipeline, refused=refused)
    tenant = {ref: tenant_grant(pipeline=pipeline.metadata.name, ref=ref, secret=secrets.get(ref), own=own,
                                system_namespace=system) for ref in tenant_refs(pipeline)}
    platform_refs = [c.secret_ref for c in platform.registry.credentials] if platform is not None else []
    plat = {ref: platform_grant(ref=ref, secret=secrets.get(ref), system_namespace=system) for ref in platform_refs}
    return Grants(tenant=tenant, platform=plat, allowed_registries=allowed_registries(platform))


def allowed_registries(platform: PlatformSpec | None) -> frozenset[str] | None:
    if platform is None or platform.registry.allowed_registries is None:
        return None
    return frozenset(platform.registry.allowed_registries)


def registry_refusal(host_port: str, *, platform: PlatformSpec | None, field: str) -> Refusal | None:
    """None when a registry (``host[:port]``) is within the platform's allowed registries."""
    allowed = allowed_registries(platform)
    if allowed is None or host_port in allowed:
        return None
    return Refusal(Reason.REGISTRY_NOT_ALLOWED, field,
                   "the registry is not in the platform's allowed registries (spec.registry.allowedRegistries)")


def usage_refusal(requested: Collection[Usage], grant: Grant, *, field: str) -> Refusal | None:
    """For a writer who may read the Secret: a usage the Secret's owner did not grant."""
    if isinstance(grant, SourceProblem):
        return Refusal(grant.reason, field, grant.message)
    missing = sorted(u.value for u in requested if u not in grant)
    if missing:
        return Refusal(Reason.USAGE_NOT_GRANTED, field,
                       f"usage {', '.join(missing)} is not granted by the Secret's annotation {names.USAGE_ANNOTATION}")
    return None
