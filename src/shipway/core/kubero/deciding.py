"""Deciding what each Kubero pipeline becomes (pure): inherit the Platform's credential or get its own,
which namespaces to adopt, and whether its credential is verified."""


from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.core import errors, names
from shipway.core.dockerconfig import AuthEntry
from shipway.core.documents import docker_config_of_secret
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.isolation import NamespaceView
from shipway.core.kubero.reading import (
    GLOBAL_SECRET,
    KuberoExport,
    KuberoPipeline,
    Mode,
    _sub,
    fingerprint,
)
from shipway.core.resources import SecretRef, is_protected_namespace


@dataclass(frozen=True, slots=True)
class Cluster:
    """The objects the migration reads, as the API server returns them (absent ones left out)."""

    platform: Mapping[str, Any] | None = None
    pipelines: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    secrets: Mapping[SecretRef, Mapping[str, Any]] = field(default_factory=dict)
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def system_namespace(self) -> str:
        return str(_sub(self.platform or {}, "spec").get("systemNamespace") or names.SYSTEM_NAMESPACE)

    @property
    def global_ref(self) -> SecretRef:
        return SecretRef(namespace=self.system_namespace, name=GLOBAL_SECRET)


def own_secret(pipeline: KuberoPipeline) -> SecretRef | None:
    """Where a pipeline's own credential goes: its first enabled phase namespace on this cluster, where the
    isolation rules let the pipeline use a Secret for pull and push (``isolation.tenant_grant``)."""
    first = next((p for p in pipeline.phases if p.here and p.enabled), None)
    return None if first is None else SecretRef(namespace=f"{pipeline.name}-{first.name.value}",
                                                name=f"kubero-{pipeline.name}-registry")


def adopted(pipeline: KuberoPipeline) -> list[str]:
    """The namespaces Kubero made for a pipeline on this cluster (enabled phases): adopted for it."""
    return [f"{pipeline.name}-{p.name.value}" for p in pipeline.phases if p.here and p.enabled]


def _platform_refs(platform: Mapping[str, Any] | None) -> list[SecretRef]:
    return [SecretRef(namespace=str(c["secretRef"].get("namespace")), name=str(c["secretRef"].get("name")))
            for c in _sub(_sub(platform or {}, "spec"), "registry").get("credentials") or []
            if isinstance(c, Mapping) and isinstance(c.get("secretRef"), Mapping)]


def to_read(export: KuberoExport, *, platform: Mapping[str, Any] | None
            ) -> tuple[list[str], list[SecretRef], list[str]]:
    """The names of the Pipelines, Secrets (the Platform's too) and namespaces the migration reads."""
    refs = [Cluster(platform=platform).global_ref, *_platform_refs(platform)]
    refs += [ref for p in export.pipelines if (ref := own_secret(p)) is not None]
    return [p.name for p in export.pipelines], refs, [ns for p in export.pipelines for ns in adopted(p)]


def _entries(body: Mapping[str, Any]) -> tuple[AuthEntry, ...] | None:
    try:
        return docker_config_of_secret(body, where="Secret").entries
    except (errors.InvalidInput, ValueError, TypeError):
        return None


def global_home(export: KuberoExport, cluster: Cluster) -> SecretRef:
    """Where Shipway holds Kubero's global credential: ``kubero-global-registry``, or a credential the Platform
    already has for that very registry key, username and password. A Platform credential for the same key
    with another password would shadow it: refused before anything is written."""
    entry = export.install.credential if export.install else None
    if entry is None:
        return cluster.global_ref
    for ref in [r for r in _platform_refs(cluster.platform) if r != cluster.global_ref]:
        for other in _entries(cluster.secrets.get(ref) or {}) or ():
            if other.registry.text == entry.registry.text:
                if entry_fingerprint(other) == fingerprint(entry):
                    return ref
                raise errors.Conflict(
                    f"the Platform's credential {ref} already serves {other.registry.text} with another credential "
                    "and would shadow Kubero's global one: remove one of them first",
                    field=f"Platform {names.PLATFORM_NAME}.spec.registry.credentials")
    return cluster.global_ref


@dataclass(frozen=True, slots=True)
class Decision:
    pipeline: KuberoPipeline
    mode: Mode
    secret: SecretRef | None  # the Shipway Secret holding its credential (the global one when it inherits)
    note: str | None = None


def _check_namespaces(p: KuberoPipeline, cluster: Cluster) -> None:
    for index, phase in enumerate(p.phases):
        namespace, where = f"{p.name}-{phase.name.value}", p.origin.field(f"spec.phases[{index}]")
        if not (phase.here and phase.enabled):
            continue
        if is_protected_namespace(namespace, system_namespace=cluster.system_namespace):
            raise errors.InvalidInput(f"namespace {namespace} is protected (kube-*, default, the system namespace)",
                                      field=where)
        if NamespaceView.of(cluster.namespaces.get(namespace) or {}).owned_by() not in (None, p.name):
            raise errors.Conflict(f"namespace {namespace} belongs to another Shipway pipeline", field=where)


def decide(export: KuberoExport, cluster: Cluster) -> list[Decision]:
    """Per pipeline: inherit the global credential (Kubero copied it, or the pipeline's equals it), override
    it with its own Secret, or none (``createSecret: none``, or nothing left to hold)."""
    install, home, out = export.install, global_home(export, cluster), []
    for p in export.pipelines:
        _check_namespaces(p, cluster)
        ref = own_secret(p)
        same = install is not None and install.key is not None and (
            fingerprint(p.credential) == fingerprint(install.credential) if p.credential is not None
            else (p.key, p.username) == (install.key, install.username) and ref not in cluster.secrets)
        if p.create_secret == "none":
            out.append(Decision(p, Mode.NONE, None, "its credential: createSecret none, Kubero delivered none"))
        elif p.create_secret == "copy" or same:
            note = None if p.create_secret == "create" else "Kubero copied its global registry-login here"
            out.append(Decision(p, Mode.INHERITS, home, note))
        elif ref is None:
            out.append(Decision(p, Mode.NONE, None, "its credential: no enabled phase on this cluster to hold it"))
        elif p.credential is None and ref not in cluster.secrets:
            out.append(Decision(p, Mode.NONE, None, "its credential: no password in Kubero, no Shipway Secret"))
        else:
            out.append(Decision(p, Mode.OVERRIDES, ref))
    return out


def verification(body: Mapping[str, Any] | None, ref: SecretRef, want: str | None) -> tuple[bool, str]:
    """Whether the ``Verified`` entries in ``body``'s status for Secret ``ref`` are all True (and for
    fingerprint ``want``, when given), and what they say."""
    items = [v for v in _sub(body or {}, "status").get("verifications") or []
             if v.get("secretRef") == {"namespace": ref.namespace, "name": ref.name}]
    if not items:
        return False, "no result yet"
    if want is not None and any(v.get("fingerprint") != want for v in items):
        return False, "the Shipway credential is not the password in Kubero (import again first)"
    bad = next((v for v in items if v.get("status") != "True"), None)
    return (True, "True") if bad is None else (False, f"{bad.get('status')} ({bad.get('reason')})")


# --- the plan: every write, compared with what exists --------------------------------------------------------------
