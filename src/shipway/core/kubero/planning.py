"""Planning the migration from Kubero (pure): the writes against what exists, and the scrub of plaintext
passwords. What each pipeline becomes is :mod:`.deciding`; reading the export is :mod:`.reading`."""


from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shipway.core import errors, names
from shipway.core.dockerconfig import AuthEntry, render_dockerconfigjson
from shipway.core.documents import stored_model, validate_model
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.kubero.deciding import (
    Cluster,
    Decision,
    _entries,
    adopted,
    decide,
    global_home,
    verification,
)
from shipway.core.kubero.reading import (
    BOTH,
    IMPORTED_ANNOTATION,
    KuberoExport,
    Mode,
    Origin,
    _sub,
    fingerprint,
)
from shipway.core.registry_keys import parse_key
from shipway.core.resources import Pipeline, PlatformSpec, SecretRef

Action = Literal["create", "patch", "unchanged"]


@dataclass(frozen=True, slots=True)
class Write:
    """One object to create or to patch (``body``: the object, or a merge patch), or one already as wanted."""

    action: Action
    kind: str
    name: str
    namespace: str | None
    what: str
    fingerprint: str | None = None
    previous: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)  # may hold a Secret's data: never shown

    def view(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "namespace": self.namespace, "name": self.name,
                "what": self.what, "fingerprint": self.fingerprint, "previous": self.previous}


def _guarded(body: Mapping[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that fails (409) when the object changed since it was read."""
    version = _sub(body or {}, "metadata").get("resourceVersion")
    return patch | {"metadata": {**patch.get("metadata", {}), "resourceVersion": version}} if version else patch


def _secret_write(ref: SecretRef, entry: AuthEntry, origin: Origin, cluster: Cluster, what: str) -> Write:
    wanted = entry_fingerprint(entry)
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": ref.name, "namespace": ref.namespace, "labels": {names.CREDENTIAL_LABEL: "true"},
                         "annotations": {IMPORTED_ANNOTATION: str(origin)}},
            "data": {".dockerconfigjson": base64.b64encode(render_dockerconfigjson([entry])).decode("ascii")}}
    existing = cluster.secrets.get(ref)
    if existing is None:
        return Write("create", "Secret", ref.name, ref.namespace, what, wanted, body=body)
    if existing.get("type") != body["type"]:
        raise errors.Conflict("exists with a type other than kubernetes.io/dockerconfigjson", field=f"Secret {ref}")
    entries = _entries(existing)
    stored = None if entries is None else [entry_fingerprint(e) for e in entries]
    meta = _sub(existing, "metadata")
    marked = all(_sub(meta, part).get(k) == v for part in ("labels", "annotations")
                 for k, v in body["metadata"][part].items())
    if stored == [wanted] and marked:
        return Write("unchanged", "Secret", ref.name, ref.namespace, what, wanted)
    patch = {"metadata": {p: body["metadata"][p] for p in ("labels", "annotations")}, "data": body["data"]}
    return Write("patch", "Secret", ref.name, ref.namespace, what, wanted, ",".join(stored or ["unreadable"]),
                 _guarded(existing, patch))


def _platform_write(cluster: Cluster, decisions: Sequence[Decision], with_global: bool) -> Write:
    """The Platform with the global credential and the adoptions merged into what it has (never replaced)."""
    spec = dict(_sub(cluster.platform or {}, "spec"))
    registry = dict(_sub(spec, "registry"))
    credentials, changes = [dict(c) for c in registry.get("credentials") or []], []
    if with_global:
        ref = cluster.global_ref
        wanted = {"secretRef": {"namespace": ref.namespace, "name": ref.name}, "usage": BOTH}
        at = next((i for i, c in enumerate(credentials) if c.get("secretRef") == wanted["secretRef"]), None)
        if at is None or sorted(credentials[at].get("usage") or []) != BOTH:
            if at is None:
                credentials.append(wanted)
            else:
                credentials[at] = wanted
            changes.append(f"credential {ref} [pull, push]")
    adoptions = [dict(a) for a in spec.get("adoptedNamespaces") or []]
    owners, adopting = {a.get("namespace"): a.get("pipeline") for a in adoptions}, []
    for name, namespace in [(d.pipeline.name, ns) for d in decisions for ns in adopted(d.pipeline)]:
        if owners.setdefault(namespace, name) != name:
            raise errors.Conflict(f"namespace {namespace} is adopted for another pipeline",
                                  field=f"Platform {names.PLATFORM_NAME}.spec.adoptedNamespaces")
        if {"namespace": namespace, "pipeline": name} not in adoptions:
            adoptions.append({"namespace": namespace, "pipeline": name})
            adopting.append(f"{namespace} ({name})")
    changes += [f"adopt {', '.join(adopting)}"] if adopting else []
    spec = {**spec, "registry": {**registry, "credentials": credentials}, "adoptedNamespaces": adoptions}
    validate_model(PlatformSpec, spec, where=f"Platform {names.PLATFORM_NAME}.spec")  # as admission will
    what = "; ".join(changes) or "credential and adoptions in place"
    if cluster.platform is None:
        return Write("create", "Platform", names.PLATFORM_NAME, None, what, body={
            "apiVersion": names.API_VERSION, "kind": "Platform", "metadata": {"name": names.PLATFORM_NAME},
            "spec": spec})
    patch = {"spec": {"registry": {"credentials": credentials}, "adoptedNamespaces": adoptions}}
    return Write("patch" if changes else "unchanged", "Platform", names.PLATFORM_NAME, None, what,
                 body=_guarded(cluster.platform, patch) if changes else {})


def _allowed(cluster: Cluster, registry: str, field: str) -> None:
    """Refuse, before any write, a registry outside the Platform's ``allowedRegistries`` (when it has some)."""
    allowed = _sub(_sub(cluster.platform or {}, "spec"), "registry").get("allowedRegistries")
    if allowed is not None and registry not in allowed:
        raise errors.Conflict(f"registry {registry} is not in the Platform's spec.registry.allowedRegistries",
                              field=field)


def _pipeline_write(decision: Decision, cluster: Cluster) -> Write | None:
    """The Pipeline: Kubero's phases here (phase layers kept), ``inherit`` and its own credential merged in."""
    kubero, here = decision.pipeline, [p for p in decision.pipeline.phases if p.here]
    if not here:
        return None
    existing = cluster.pipelines.get(kubero.name)
    spec = dict(_sub(existing or {}, "spec"))
    old: dict[str, Any] = {str(p.get("name")): p for p in spec.get("phases") or [] if isinstance(p, Mapping)}
    phases = [{"name": p.name.value, "enabled": p.enabled} | (
        {"registry": old[p.name.value]["registry"]} if _sub(old, p.name.value).get("registry") else {}) for p in here]
    registry = dict(_sub(spec, "registry"))
    credentials = [dict(c) for c in registry.get("credentials") or []]
    if decision.mode is Mode.OVERRIDES and decision.secret is not None:
        wanted = {"secretRef": {"namespace": decision.secret.namespace, "name": decision.secret.name}, "usage": BOTH}
        credentials = [c for c in credentials if c.get("secretRef") != wanted["secretRef"]] + [wanted]
    registry |= {"inherit": decision.mode is Mode.INHERITS, "credentials": credentials}
    if decision.mode is Mode.OVERRIDES and kubero.key and not registry.get("push"):
        key = parse_key(kubero.key)  # where its own credential, and so Kubero's builds, may push
        registry["push"] = {"registry": key.authority,
                            "repositoryPrefix": "/".join(p for p in (key.path.strip("/"), kubero.name) if p)}
    desired = validate_model(Pipeline, {"metadata": {"name": kubero.name}, "spec": spec | {
        "phases": phases, "registry": registry}}, where=kubero.origin.field("spec"))
    what = ", ".join(p.name.value + ("" if p.enabled else " (disabled)") for p in here) + "; " + (
        f"credential {decision.secret}" if decision.mode is Mode.OVERRIDES else decision.mode.value)
    if existing is None:
        return Write("create", "Pipeline", kubero.name, None, what, body=desired.to_k8s())
    try:
        current = stored_model(Pipeline, existing, where=f"Pipeline {kubero.name}").spec
    except errors.InvalidInput:
        current = None
    if current == desired.spec:
        return Write("unchanged", "Pipeline", kubero.name, None, what)
    keys = ("inherit", "credentials", "push")
    patch = {"spec": {"phases": phases, "registry": {k: registry[k] for k in keys if k in registry}}}
    return Write("patch", "Pipeline", kubero.name, None, what, body=_guarded(existing, patch))


@dataclass(frozen=True, slots=True)
class Plan:
    writes: tuple[Write, ...]
    decisions: tuple[Decision, ...]
    left_behind: tuple[tuple[str, str], ...]  # (object, what is not migrated)


def plan_import(export: KuberoExport, cluster: Cluster) -> Plan:
    """Every write of the import in order (namespaces, Secrets, the Platform, Pipelines), each compared with
    what exists; raises before anything is written when the import cannot be done."""
    decisions, install, writes = decide(export, cluster), export.install, []
    own_home = global_home(export, cluster) == cluster.global_ref
    keyed = [(install.key, install.origin)] if install is not None and install.key is not None else []
    for key, origin in keyed + [(d.pipeline.key, d.pipeline.origin) for d in decisions if d.mode is Mode.OVERRIDES]:
        _allowed(cluster, parse_key(str(key)).authority, origin.field("spec.registry.host"))
    if install is not None and install.credential is not None and own_home:
        writes.append(_secret_write(cluster.global_ref, install.credential, install.origin, cluster,
                                    f"Kubero's global registry {install.key}"))
    for d in decisions:
        if d.mode is Mode.OVERRIDES and d.secret is not None and d.pipeline.credential is not None:
            if d.secret.namespace not in cluster.namespaces:
                writes.append(Write("create", "Namespace", d.secret.namespace, None, "a phase namespace Kubero makes",
                                    body={"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": d.secret.namespace}}))
            writes.append(_secret_write(d.secret, d.pipeline.credential, d.pipeline.origin, cluster,
                                        f"registry {d.pipeline.key} of pipeline {d.pipeline.name}"))
    with_global = own_home and install is not None and install.key is not None and (
        install.credential is not None or cluster.global_ref in cluster.secrets)
    writes.append(_platform_write(cluster, decisions, with_global))
    writes += [w for d in decisions if (w := _pipeline_write(d, cluster)) is not None]
    left = [(str(install.origin), item) for item in install.left_behind] if install else []
    left += [(str(p.origin), item) for p in export.pipelines for item in p.left_behind]
    left += [(str(p.origin), "the pipeline: no phase on this cluster") for p in export.pipelines
             if not any(ph.here for ph in p.phases)]
    left += [(str(d.pipeline.origin), d.note) for d in decisions if d.mode is Mode.NONE and d.note]
    left += [(str(o), "Kubero apps and addons") for o in export.others]
    return Plan(tuple(writes), tuple(decisions), tuple(left))


def plan_scrub(export: KuberoExport, cluster: Cluster) -> tuple[list[Write], list[tuple[str, str]]]:
    """Patches removing Kubero's plaintext passwords whose Shipway credential is Verified True for that very
    password, and the (object, reason) of every password that stays."""
    install, writes, refused = export.install, [], []
    global_print = fingerprint(install.credential) if install else None

    def scrub(origin: Origin, registry: dict[str, Any], what: str) -> Write:
        patch = _guarded({"metadata": {"resourceVersion": origin.resource_version}}, {"spec": {"registry": registry}})
        return Write("patch", origin.kind, origin.name, origin.namespace, what, body=patch)

    if install is not None and install.credential is not None:
        ok, why = verification(cluster.platform, global_home(export, cluster), global_print)
        if ok:
            writes.append(scrub(install.origin, {"account": {"password": None}},
                                "remove spec.registry.account.password"))
        else:
            refused.append((str(install.origin), f"Verified: {why}"))
    for d in decide(export, cluster):
        p = d.pipeline
        if p.credential is None:
            continue
        if p.name not in cluster.pipelines or d.secret is None:
            refused.append((str(p.origin), "not imported yet" if d.secret else "no Shipway credential holds it"))
            continue
        inherits = d.mode is Mode.INHERITS
        ok, why = verification(cluster.platform if inherits else cluster.pipelines[p.name], d.secret,
                               global_print if inherits else fingerprint(p.credential))
        if ok:
            writes.append(scrub(p.origin, {"password": None}, "remove spec.registry.password"))
        else:
            refused.append((str(p.origin), f"Verified: {why}"))
    return writes, refused
