"""Coming from Kubero: its objects read and checked, and the migration decided. Pure: no I/O.

Field names are Kubero's own, read from its sources (kubero-dev/kubero, kubero-dev/kubero-operator):

* ``server/src/pipelines/pipelines.interface.ts``: ``IPipeline`` (``name``, ``phases[]`` of ``{name, enabled,
  context, domain, defaultEnvvars}``, ``registry {host, username, password}``, ``git.keys {priv, pub}``,
  ``buildpack``, ``buildstrategy``, ``deploymentstrategy``, ``dockerimage``, ``domain``, ``reviewapps``,
  ``access.teams``); the KuberoPipeline spec is this object.
* ``server/src/config/config.interface.ts``: the Kubero CR's ``spec.registry`` (``IRegistry``: ``enabled``,
  ``create``, ``host``, ``port``, ``account {username, password, hash}``, ...) and ``spec.kubero.context``.
* ``config/crd/bases/application.kubero.dev_kuberopipelines.yaml`` and ``..._kuberoes.yaml`` (operator):
  group ``application.kubero.dev/v1alpha1``, kinds ``KuberoPipeline`` and ``Kubero`` (plural ``kuberoes``),
  namespaced, schemaless.
* ``helm-charts/kuberopipeline/templates/``: ``namespaces.yaml`` makes ``<pipeline>-<phase>`` for enabled
  phases only; ``secret-pull-secret.yaml`` and ``_helpers.tpl`` read ``spec.registry.createSecret``: ``create``
  renders the pipeline's own host/username/password (auths keyed by ``host`` as written), ``copy`` or no value
  copies the global ``registry-login``, ``none`` renders nothing.
* ``helm-charts/kubero/templates/registry.yaml``: ``registry-login`` keyed by ``spec.registry.host`` alone.
* ``server/src/kubernetes/kubernetes.service.ts``: Kubero's own context is ``KUBERO_CONTEXT || 'default'``.
* ``server/src/deployments/deployments.service.ts``: builds push to ``KUBERO_BUILD_REGISTRY/<pipeline>-<app>``.
  A Shipway push target is ``registry/repositoryPrefix/<app>`` and cannot say that, so no push target is set:
  it is reported with the build settings as not migrated.

Equal credentials (same normalised key, username and password) are compared by fingerprint only.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shipway.core import errors, names
from shipway.core.dockerconfig import AuthEntry, render_dockerconfigjson
from shipway.core.documents import docker_config_of_secret, stored_model, validate_model
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.isolation import NamespaceView
from shipway.core.registry_keys import validate_key
from shipway.core.resources import PhaseName, Pipeline, PlatformSpec, SecretRef, is_protected_namespace
from shipway.core.secrets import Secret
from shipway.core.validation import dns_label

GROUP = "application.kubero.dev"
GLOBAL_SECRET = "kubero-global-registry"
IMPORTED_ANNOTATION = f"{names.GROUP}/imported-from"
BOTH = ["pull", "push"]
_BUILD_FIELDS = ("buildpack", "buildstrategy", "deploymentstrategy", "dockerimage")
_MIGRATED_FIELDS = frozenset({"name", "phases", "registry", "git", *_BUILD_FIELDS})


class Mode(enum.StrEnum):
    INHERITS = "inherits"
    OVERRIDES = "overrides"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was read: its document, kind, namespace, name and resourceVersion."""

    at: str
    kind: str
    namespace: str
    name: str
    resource_version: str | None = None

    def field(self, path: str) -> str:
        return f"{self.at} ({self.kind} {self.namespace}/{self.name}).{path}"


@dataclass(frozen=True, slots=True)
class KuberoPhase:
    name: PhaseName
    enabled: bool
    context: str
    here: bool  # on the cluster Kubero runs in (its own context, or none named)


@dataclass(frozen=True, slots=True)
class KuberoPipeline:
    origin: Origin
    phases: tuple[KuberoPhase, ...]
    create_secret: str  # create, copy or none
    key: str | None  # the registry host as Kubero keys its pull secret
    username: str | None
    credential: AuthEntry | None  # None: no password in Kubero (never set, or scrubbed)
    left_behind: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.origin.name

    @property
    def plaintext(self) -> bool:
        return self.credential is not None


@dataclass(frozen=True, slots=True)
class KuberoInstall:
    origin: Origin
    key: str | None  # None: Kubero's registry is disabled
    username: str | None
    credential: AuthEntry | None
    port: int | None
    context: str


@dataclass(frozen=True, slots=True)
class KuberoExport:
    install: KuberoInstall | None
    pipelines: tuple[KuberoPipeline, ...]
    others: tuple[str, ...] = ()  # other Kubero objects (apps, addons): not migrated


def _flatten(documents: Sequence[Any], source: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for index, doc in enumerate(documents):
        at = f"{source}#{index}"
        if isinstance(doc, Mapping) and str(doc.get("kind")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend((f"{at}.items[{i}]", item) for i, item in enumerate(doc["items"]))
        else:
            out.append((at, doc))
    return out


def _text(obj: Mapping[str, Any], key: str, origin: Origin, path: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise errors.InvalidInput("is missing or empty", field=origin.field(f"{path}{key}"))
        return None
    if not isinstance(value, str):
        raise errors.InvalidInput("must be a string", field=origin.field(f"{path}{key}"))
    return value


def _mapping(obj: Mapping[str, Any], key: str, origin: Origin, path: str = "") -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise errors.InvalidInput("must be a mapping", field=origin.field(f"{path}{key}"))
    return value


def _entry(key: str, username: str, password: str | None, origin: Origin, path: str) -> AuthEntry | None:
    registry = validate_key(key, field=origin.field(f"{path}host"))
    return None if not password else AuthEntry(key=key, registry=registry, username=username,
                                               password=Secret(password))


def _origin(at: str, doc: Mapping[str, Any], namespace: str) -> Origin:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    name, kind = meta.get("name"), str(doc.get("kind"))
    try:
        dns_label(name if isinstance(name, str) else "")
    except ValueError:
        raise errors.InvalidInput("is not a valid name", field=Origin(at, kind, namespace, "?").field("metadata.name")
                                  ) from None
    ns = meta.get("namespace") or namespace
    rv = meta.get("resourceVersion")
    return Origin(at, kind, str(ns), str(name), str(rv) if rv else None)


def _install(origin: Origin, spec: Mapping[str, Any], context: str | None) -> KuberoInstall:
    registry = _mapping(spec, "registry", origin, "spec.")
    home = context or _text(_mapping(spec, "kubero", origin, "spec."), "context", origin, "spec.kubero.") or "default"
    if registry.get("enabled") is not True:
        return KuberoInstall(origin, None, None, None, None, home)
    key = str(_text(registry, "host", origin, "spec.registry.", required=True))
    account = _mapping(registry, "account", origin, "spec.registry.")
    username = str(_text(account, "username", origin, "spec.registry.account.", required=True))
    password = _text(account, "password", origin, "spec.registry.account.")
    port = registry.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port <= 65535):
        raise errors.InvalidInput("must be a port number", field=origin.field("spec.registry.port"))
    return KuberoInstall(origin, key, username, _entry(key, username, password, origin, "spec.registry."), port, home)


def _phases(origin: Origin, spec: Mapping[str, Any], home: str) -> tuple[KuberoPhase, ...]:
    raw = spec.get("phases")
    if not isinstance(raw, list) or not raw:
        raise errors.InvalidInput("must be a non-empty list", field=origin.field("spec.phases"))
    phases: dict[PhaseName, KuberoPhase] = {}
    for index, item in enumerate(raw):
        path = f"spec.phases[{index}]."
        if not isinstance(item, Mapping):
            raise errors.InvalidInput("must be a mapping", field=origin.field(path[:-1]))
        if item.get("name") not in {p.value for p in PhaseName} or PhaseName(item["name"]) in phases:
            raise errors.InvalidInput("must be review, test, stage or production, once each",
                                      field=origin.field(f"{path}name"))
        enabled = item.get("enabled", False)
        if not isinstance(enabled, bool):
            raise errors.InvalidInput("must be true or false", field=origin.field(f"{path}enabled"))
        context = _text(item, "context", origin, path) or ""
        phases[PhaseName(item["name"])] = KuberoPhase(PhaseName(item["name"]), enabled, context,
                                                      context in ("", home))
    return tuple(phases[name] for name in PhaseName if name in phases)


def _left_behind(pipeline: str, spec: Mapping[str, Any], phases: Sequence[KuberoPhase]) -> tuple[str, ...]:
    out = [f"phase {p.name.value}: on cluster context '{p.context}'" for p in phases if not p.here]
    git = spec.get("git") if isinstance(spec.get("git"), Mapping) else {}
    keys = git.get("keys") if isinstance(git.get("keys"), Mapping) else {}
    if keys.get("priv") or keys.get("pub"):
        out.append("git deploy keys (spec.git.keys)")
    if any(git.get(k) for k in ("repository", "webhook", "provider")):
        out.append("git repository and webhook (spec.git)")
    build = [f"spec.{k}" for k in _BUILD_FIELDS if spec.get(k)]
    if build:
        out.append(f"build settings ({', '.join(build)})")
    if spec.get("deploymentstrategy") == "git":
        out.append(f"build push target: Kubero pushes to $KUBERO_BUILD_REGISTRY/{pipeline}-<app>; set "
                   "spec.registry.push yourself")
    other = sorted(f"spec.{k}" for k in spec if k not in _MIGRATED_FIELDS and spec[k])
    if other:
        out.append(f"other settings ({', '.join(other)})")
    return tuple(out)


def _pipeline(origin: Origin, spec: Mapping[str, Any], home: str) -> KuberoPipeline:
    if spec.get("name") not in (None, origin.name):
        raise errors.InvalidInput("differs from metadata.name", field=origin.field("spec.name"))
    phases = _phases(origin, spec, home)
    registry = _mapping(spec, "registry", origin, "spec.")
    mode = registry.get("createSecret") or "copy"  # _helpers.tpl: no value copies registry-login
    if mode not in ("create", "copy", "none"):
        raise errors.InvalidInput("must be create, copy or none", field=origin.field("spec.registry.createSecret"))
    password = _text(registry, "password", origin, "spec.registry.")
    key = _text(registry, "host", origin, "spec.registry.", required=mode == "create")
    username = _text(registry, "username", origin, "spec.registry.", required=mode == "create" and bool(password))
    entry = _entry(key, username or "", password, origin, "spec.registry.") if key else None
    if password and entry is None:
        raise errors.InvalidInput("a password needs a host", field=origin.field("spec.registry.host"))
    return KuberoPipeline(origin, phases, mode, key, username, entry, _left_behind(origin.name, spec, phases))


def read_export(documents: Sequence[Any], *, source: str, namespace: str = "kubero",
                context: str | None = None) -> KuberoExport:
    """Check every Kubero object of ``documents`` (all or nothing); ``context`` overrides Kubero's own name
    for this cluster (the Kubero CR's ``spec.kubero.context``, else ``default``)."""
    installs: list[tuple[Origin, Mapping[str, Any]]] = []
    pipelines: list[tuple[Origin, Mapping[str, Any]]] = []
    others: list[str] = []
    for at, doc in _flatten(documents, source):
        if not isinstance(doc, Mapping) or not isinstance(doc.get("kind"), str):
            raise errors.InvalidInput("must be a mapping with a kind", field=at)
        if not str(doc.get("apiVersion", "")).startswith(f"{GROUP}/"):
            raise errors.InvalidInput(f"is not a Kubero object ({GROUP})", field=f"{at}.apiVersion")
        origin = _origin(at, doc, namespace)
        if not isinstance(doc.get("spec"), Mapping):
            raise errors.InvalidInput("must be a mapping", field=origin.field("spec"))
        if doc["kind"] == "Kubero":
            installs.append((origin, doc["spec"]))
        elif doc["kind"] == "KuberoPipeline":
            pipelines.append((origin, doc["spec"]))
        else:
            others.append(f"{origin.kind} {origin.namespace}/{origin.name}: Kubero apps and addons are not migrated")
    if len(installs) > 1:
        raise errors.InvalidInput("more than one Kubero object", field=installs[1][0].field("metadata"))
    install = _install(*installs[0], context) if installs else None
    home = install.context if install else context or "default"
    read = [_pipeline(origin, spec, home) for origin, spec in pipelines]
    seen: set[str] = set()
    for pipeline in read:
        if pipeline.name in seen:
            raise errors.InvalidInput("a second KuberoPipeline of this name", field=pipeline.origin.field("metadata"))
        seen.add(pipeline.name)
    return KuberoExport(install, tuple(read), tuple(others))


def fingerprint(entry: AuthEntry | None) -> str | None:
    return None if entry is None else entry_fingerprint(entry)


# --- what exists in the cluster, and what each pipeline becomes --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cluster:
    """The objects the migration reads, as the API server returns them (absent ones left out)."""

    platform: Mapping[str, Any] | None = None
    pipelines: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    secrets: Mapping[SecretRef, Mapping[str, Any]] = field(default_factory=dict)
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def system_namespace(self) -> str:
        return str(((self.platform or {}).get("spec") or {}).get("systemNamespace") or "shipway-system")


def own_secret(pipeline: KuberoPipeline) -> SecretRef | None:
    """Where a pipeline's own credential goes: its first enabled phase namespace on this cluster."""
    first = next((p for p in pipeline.phases if p.here and p.enabled), None)
    return None if first is None else SecretRef(namespace=f"{pipeline.name}-{first.name.value}",
                                                name=f"kubero-{pipeline.name}-registry")


def adopted(pipeline: KuberoPipeline) -> list[str]:
    """The namespaces Kubero made for a pipeline on this cluster (enabled phases), which Shipway adopts."""
    return [f"{pipeline.name}-{p.name.value}" for p in pipeline.phases if p.here and p.enabled]


def to_read(export: KuberoExport, *, system_namespace: str) -> tuple[list[str], list[SecretRef], list[str]]:
    """The Pipelines, Secrets and namespaces the migration must read, by name."""
    refs = [SecretRef(namespace=system_namespace, name=GLOBAL_SECRET)]
    refs += [ref for p in export.pipelines if (ref := own_secret(p)) is not None]
    return [p.name for p in export.pipelines], refs, [ns for p in export.pipelines for ns in adopted(p)]


@dataclass(frozen=True, slots=True)
class Decision:
    pipeline: KuberoPipeline
    mode: Mode
    secret: SecretRef | None  # the Shipway Secret that holds its credential (the global one when it inherits)
    notes: tuple[str, ...] = ()


def decide(export: KuberoExport, cluster: Cluster) -> list[Decision]:
    install, system = export.install, cluster.system_namespace
    global_ref = SecretRef(namespace=system, name=GLOBAL_SECRET)
    out = []
    for p in export.pipelines:
        for index, phase in enumerate(p.phases):
            namespace = f"{p.name}-{phase.name.value}"
            if phase.here and phase.enabled and is_protected_namespace(namespace, system_namespace=system):
                raise errors.InvalidInput(f"namespace {namespace} is protected (kube-*, default, the system "
                                          "namespace): Shipway cannot adopt it", field=p.origin.field("metadata.name"))
            owner = NamespaceView.of(cluster.namespaces.get(namespace) or {}).owned_by()
            if phase.here and phase.enabled and owner not in (None, p.name):
                raise errors.Conflict(f"namespace {namespace} belongs to another Shipway pipeline",
                                      field=p.origin.field(f"spec.phases[{index}]"))
        same_as_global = install is not None and install.key is not None and (
            (p.credential is not None and fingerprint(p.credential) == fingerprint(install.credential))
            or (p.credential is None and p.key == install.key and p.username == install.username))
        ref = own_secret(p)
        if p.create_secret == "none":
            out.append(Decision(p, Mode.NONE, None, ("createSecret none: Kubero delivered no registry credential",)))
        elif p.create_secret == "copy" or (same_as_global and (p.credential or ref not in cluster.secrets)):
            note = () if p.create_secret == "create" else ("Kubero copied its global registry-login here",)
            out.append(Decision(p, Mode.INHERITS, global_ref, note))
        elif ref is None:
            out.append(Decision(p, Mode.NONE, None, ("its credential: no enabled phase on this cluster to hold it",)))
        elif p.credential is None and ref not in cluster.secrets:
            out.append(Decision(p, Mode.NONE, None, ("its credential: no password in Kubero and no Shipway Secret",)))
        else:
            out.append(Decision(p, Mode.OVERRIDES, ref))
    return out


def verification(body: Mapping[str, Any] | None, ref: SecretRef, want: str | None) -> tuple[bool, str]:
    """Whether the Verified entries of ``body``'s status for Secret ``ref`` are True (and for fingerprint
    ``want``, when given), and what they say."""
    items = [v for v in ((body or {}).get("status") or {}).get("verifications") or []
             if v.get("secretRef") == {"namespace": ref.namespace, "name": ref.name}]
    if not items:
        return False, "no Verified result yet"
    if want is not None and any(v.get("fingerprint") != want for v in items):
        return False, "its Shipway credential differs from the password in Kubero (import again first)"
    bad = next((v for v in items if v.get("status") != "True"), None)
    return (True, "True") if bad is None else (False, f"{bad.get('status')} ({bad.get('reason')})")


def secret_body(ref: SecretRef, entry: AuthEntry, origin: Origin) -> dict[str, Any]:
    """A source Secret holding one credential, labelled as one, noting where it came from."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": ref.name, "namespace": ref.namespace, "labels": {names.CREDENTIAL_LABEL: "true"},
                         "annotations": {IMPORTED_ANNOTATION: f"{origin.kind} {origin.namespace}/{origin.name}"}},
            "data": {".dockerconfigjson": base64.b64encode(render_dockerconfigjson([entry])).decode("ascii")}}


def stored_fingerprints(body: Mapping[str, Any], ref: SecretRef) -> list[str] | None:
    """The fingerprints of a stored Secret's entries (None: not a docker config Shipway can read)."""
    try:
        return [entry_fingerprint(e) for e in docker_config_of_secret(body, where=f"Secret {ref}").entries]
    except (errors.InvalidInput, ValueError, TypeError, AttributeError):
        return None



# --- the plan: what to write, compared with what exists ------------------------------------------------------------

Action = Literal["create", "patch", "unchanged"]


@dataclass(frozen=True, slots=True)
class Write:
    """One object to create or patch (``body``: the object, or a merge patch), or one already as wanted."""

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
    """A merge patch that fails (409) if the object changed since it was read."""
    version = ((body or {}).get("metadata") or {}).get("resourceVersion")
    return {"metadata": {"resourceVersion": version}, **patch} if version else patch


def _secret_write(ref: SecretRef, entry: AuthEntry, origin: Origin, cluster: Cluster, what: str) -> Write:
    body, wanted = secret_body(ref, entry, origin), entry_fingerprint(entry)
    existing = cluster.secrets.get(ref)
    if existing is None:
        return Write("create", "Secret", ref.name, ref.namespace, what, wanted, body=body)
    if existing.get("type") != body["type"]:
        raise errors.Conflict("exists with a type other than kubernetes.io/dockerconfigjson", field=f"Secret {ref}")
    meta, stored = existing.get("metadata") or {}, stored_fingerprints(existing, ref)
    marked = all((meta.get(part) or {}).get(k) == v for part in ("labels", "annotations")
                 for k, v in body["metadata"][part].items())
    if stored == [wanted] and marked:
        return Write("unchanged", "Secret", ref.name, ref.namespace, what, wanted)
    patch = {"metadata": {p: body["metadata"][p] for p in ("labels", "annotations")}, "data": body["data"]}
    return Write("patch", "Secret", ref.name, ref.namespace, what, wanted,
                 ",".join(stored) if stored else "unreadable", _guarded(existing, patch))


def _platform_write(cluster: Cluster, decisions: Sequence[Decision], global_ref: SecretRef | None) -> Write:
    body = cluster.platform
    spec = dict((body or {}).get("spec") or {})
    registry = dict(spec.get("registry") or {})
    credentials, changes = [dict(c) for c in registry.get("credentials") or []], []
    if global_ref is not None:
        wanted = {"secretRef": {"namespace": global_ref.namespace, "name": global_ref.name}, "usage": BOTH}
        index = next((i for i, c in enumerate(credentials) if c.get("secretRef") == wanted["secretRef"]), None)
        if index is None or sorted(credentials[index].get("usage") or []) != BOTH:
            credentials[len(credentials) if index is None else index:][:1] = [wanted]
            changes.append(f"credentials: {global_ref} [pull, push]")
    adoptions = [dict(a) for a in spec.get("adoptedNamespaces") or []]
    owners = {a.get("namespace"): a.get("pipeline") for a in adoptions}
    for decision in decisions:
        for namespace in adopted(decision.pipeline):
            if owners.get(namespace) not in (None, decision.pipeline.name):
                raise errors.Conflict(f"namespace {namespace} is adopted for another pipeline",
                                      field=f"Platform {names.PLATFORM_NAME}.spec.adoptedNamespaces")
            if namespace not in owners:
                owners[namespace] = decision.pipeline.name
                adoptions.append({"namespace": namespace, "pipeline": decision.pipeline.name})
                changes.append(f"adopt {namespace} for {decision.pipeline.name}")
    spec = {**spec, "registry": {**registry, "credentials": credentials}, "adoptedNamespaces": adoptions}
    validate_model(PlatformSpec, spec, where=f"Platform {names.PLATFORM_NAME}.spec")  # the rules admission applies
    what = "; ".join(changes) or "credential and adoptions in place"
    if body is None:
        return Write("create", "Platform", names.PLATFORM_NAME, None, what, body={
            "apiVersion": names.API_VERSION, "kind": "Platform", "metadata": {"name": names.PLATFORM_NAME},
            "spec": spec})
    if not changes:
        return Write("unchanged", "Platform", names.PLATFORM_NAME, None, what)
    patch = {"spec": {"registry": {"credentials": credentials}, "adoptedNamespaces": adoptions}}
    return Write("patch", "Platform", names.PLATFORM_NAME, None, what, body=_guarded(body, patch))


def _pipeline_write(decision: Decision, cluster: Cluster) -> Write | None:
    kubero, here = decision.pipeline, [p for p in decision.pipeline.phases if p.here]
    if not here:
        return None
    existing = cluster.pipelines.get(kubero.name)
    spec = dict((existing or {}).get("spec") or {})
    old = {p.get("name"): p for p in spec.get("phases") or [] if isinstance(p, Mapping)}
    phases = [{"name": p.name.value, "enabled": p.enabled,
               **({"registry": old[p.name.value]["registry"]} if (old.get(p.name.value) or {}).get("registry")
                  else {})} for p in here]
    registry = dict(spec.get("registry") or {})
    credentials = [dict(c) for c in registry.get("credentials") or []]
    if decision.mode is Mode.OVERRIDES and decision.secret is not None:
        wanted = {"secretRef": {"namespace": decision.secret.namespace, "name": decision.secret.name}, "usage": BOTH}
        credentials = [c for c in credentials if c.get("secretRef") != wanted["secretRef"]] + [wanted]
    registry = {**registry, "inherit": decision.mode is Mode.INHERITS, "credentials": credentials}
    desired = validate_model(Pipeline, {"metadata": {"name": kubero.name}, "spec": {**spec, "phases": phases,
                                        "registry": registry}}, where=kubero.origin.field("spec"))
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
    patch = {"spec": {"phases": phases, "registry": {"inherit": registry["inherit"], "credentials": credentials}}}
    return Write("patch", "Pipeline", kubero.name, None, what, body=_guarded(existing, patch))


@dataclass(frozen=True, slots=True)
class Plan:
    writes: tuple[Write, ...]
    decisions: tuple[Decision, ...]
    left_behind: tuple[tuple[str, str], ...]  # (object, what is not migrated)

    def view(self) -> dict[str, Any]:
        """The plan as secret-free data: writes, what each pipeline becomes, what stays behind."""
        return {"writes": [w.view() for w in self.writes], "pipelines": [{
            "pipeline": d.pipeline.name, "credential": d.mode.value, "secret": str(d.secret) if d.secret else None,
            "registry": d.pipeline.key, "fingerprint": fingerprint(d.pipeline.credential),
            "phases": [{"name": p.name.value, "enabled": p.enabled, "migrated": p.here,
                        "namespace": f"{d.pipeline.name}-{p.name.value}" if p.here else None,
                        "context": p.context or None} for p in d.pipeline.phases],
            "notes": list(d.notes)} for d in self.decisions],
            "notMigrated": [{"object": o, "what": w} for o, w in self.left_behind]}


def _label(origin: Origin) -> str:
    return f"{origin.kind} {origin.namespace}/{origin.name}"


def plan_import(export: KuberoExport, cluster: Cluster) -> Plan:
    """Every write of the import, in order (namespaces, Secrets, the Platform, Pipelines), each compared with
    what exists; raises before anything is written when the import cannot be done."""
    decisions, install = decide(export, cluster), export.install
    global_ref = SecretRef(namespace=cluster.system_namespace, name=GLOBAL_SECRET)
    writes: list[Write] = []
    if install is not None and install.credential is not None:
        writes.append(_secret_write(global_ref, install.credential, install.origin, cluster,
                                    f"Kubero's global registry {install.key}"))
    for d in decisions:
        if d.mode is Mode.OVERRIDES and d.secret is not None and d.pipeline.credential is not None:
            if d.secret.namespace not in cluster.namespaces:
                writes.append(Write("create", "Namespace", d.secret.namespace, None, "a phase namespace Kubero makes",
                                    body={"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": d.secret.namespace}}))
            writes.append(_secret_write(d.secret, d.pipeline.credential, d.pipeline.origin, cluster,
                                        f"registry {d.pipeline.key} of pipeline {d.pipeline.name}"))
    has_global = install is not None and install.key is not None and (
        install.credential is not None or global_ref in cluster.secrets)
    writes.append(_platform_write(cluster, decisions, global_ref if has_global else None))
    writes += [w for d in decisions if (w := _pipeline_write(d, cluster)) is not None]
    left = [(_label(p.origin), item) for p in export.pipelines for item in p.left_behind]
    left += [(_label(p.origin), "the whole pipeline: no phase on this cluster")
             for p in export.pipelines if not any(ph.here for ph in p.phases)]
    left += [(_label(d.pipeline.origin), note) for d in decisions if d.mode is Mode.NONE for note in d.notes]
    left += [(other.split(":")[0], "apps and addons") for other in export.others]
    return Plan(tuple(writes), tuple(decisions), tuple(left))


# --- scrubbing Kubero's plaintext, and where each pipeline stands --------------------------------------------------


def plan_scrub(export: KuberoExport, cluster: Cluster) -> tuple[list[Write], list[tuple[str, str]]]:
    """The patches that remove Kubero's plaintext passwords whose Shipway credential is Verified True (for the
    very same password), and the (object, reason) of every password that stays."""
    install, writes, refused = export.install, [], []
    global_ref = SecretRef(namespace=cluster.system_namespace, name=GLOBAL_SECRET)
    global_print = fingerprint(install.credential) if install else None
    if install is not None and install.credential is not None:
        ok, why = verification(cluster.platform, global_ref, global_print)
        if ok:
            writes.append(Write("patch", "Kubero", install.origin.name, install.origin.namespace,
                                "remove spec.registry.account.password", body=_guarded(
                                    {"metadata": {"resourceVersion": install.origin.resource_version}},
                                    {"spec": {"registry": {"account": {"password": None}}}})))
        else:
            refused.append((_label(install.origin), f"Verified: {why}"))
    for d in decide(export, cluster):
        p = d.pipeline
        if not p.plaintext:
            continue
        if p.name not in cluster.pipelines or d.secret is None:
            refused.append((_label(p.origin), "not imported yet" if d.secret else "no Shipway credential holds it"))
            continue
        inherits = d.mode is Mode.INHERITS
        ok, why = verification(cluster.platform if inherits else cluster.pipelines[p.name], d.secret,
                               global_print if inherits else fingerprint(p.credential))
        if not ok:
            refused.append((_label(p.origin), f"Verified: {why}"))
            continue
        writes.append(Write("patch", "KuberoPipeline", p.name, p.origin.namespace, "remove spec.registry.password",
                            body=_guarded({"metadata": {"resourceVersion": p.origin.resource_version}},
                                          {"spec": {"registry": {"password": None}}})))
    return writes, refused


def migration_status(export: KuberoExport, cluster: Cluster) -> dict[str, Any]:
    """Where the migration stands: Kubero's global registry, and one row per Kubero pipeline."""
    install = export.install
    global_ref = SecretRef(namespace=cluster.system_namespace, name=GLOBAL_SECRET)
    rows = []
    for d in decide(export, cluster):
        p, imported = d.pipeline, d.pipeline.name in cluster.pipelines
        body = cluster.platform if d.mode is Mode.INHERITS else cluster.pipelines.get(p.name)
        rows.append({
            "pipeline": p.name, "imported": imported, "credential": d.mode.value,
            "secret": str(d.secret) if d.secret else None, "inSecret": d.secret in cluster.secrets,
            "verified": verification(body, d.secret, None)[1] if d.secret and imported else None,
            "plaintextInKubero": p.plaintext,
            "phasesNotMigrated": [f"{ph.name.value} ({ph.context})" for ph in p.phases if not ph.here],
            "notMigrated": [item for item in p.left_behind if not item.startswith("phase ")] + list(
                d.notes if d.mode is Mode.NONE else ())})
    registry = None if install is None or install.key is None else {
        "registry": install.key, "secret": str(global_ref), "inSecret": global_ref in cluster.secrets,
        "verified": verification(cluster.platform, global_ref, None)[1], "plaintextInKubero": bool(install.credential)}
    return {"global": registry, "pipelines": rows}
