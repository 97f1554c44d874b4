"""Coming from Kubero: its objects read and checked, and the migration planned. Pure: no I/O.

Field names are Kubero's own, read from its sources (kubero-dev/kubero, kubero-dev/kubero-operator):

* ``server/src/pipelines/pipelines.interface.ts``: ``IPipeline`` (``name``, ``phases[]`` of ``{name, enabled,
  context, domain, defaultEnvvars}``, ``registry {host, username, password}``, ``git.keys {priv, pub}``,
  ``buildpack``, ``buildstrategy``, ``deploymentstrategy``, ``dockerimage``, ``domain``, ``reviewapps``,
  ``access.teams``); a KuberoPipeline's spec is this object.
* ``server/src/config/config.interface.ts``: the Kubero CR's ``spec.registry`` (``IRegistry``: ``enabled``,
  ``create``, ``host``, ``port``, ``account {username, password, hash}``, ...) and ``spec.kubero.context``.
* operator ``config/crd/bases/application.kubero.dev_kuberopipelines.yaml`` and ``..._kuberoes.yaml``: group
  ``application.kubero.dev/v1alpha1``, kinds ``KuberoPipeline`` and ``Kubero`` (plural ``kuberoes``).
* operator ``helm-charts/kuberopipeline/templates/``: ``namespaces.yaml`` makes ``<pipeline>-<phase>`` for
  enabled phases only; ``secret-pull-secret.yaml`` with ``_helpers.tpl`` reads ``spec.registry.createSecret``:
  ``create`` renders the pipeline's host/username/password (auths keyed by ``host`` as written), ``copy`` or
  no value copies the global ``registry-login``, ``none`` renders nothing.
* operator ``helm-charts/kubero/templates/registry.yaml``: ``registry-login`` is keyed by ``spec.registry.host``
  alone (the port is not part of the key, so it is not here either).
* ``server/src/kubernetes/kubernetes.service.ts``: Kubero's own context is ``KUBERO_CONTEXT || 'default'``.
* ``server/src/deployments/deployments.service.ts``: builds push to ``KUBERO_BUILD_REGISTRY/<pipeline>-<app>``;
  ``server/src/deployments/templates/dockerfile.yaml.ts``: with the pipeline's ``kubero-pull-secret`` as
  buildah's auth file, so a build can push only where the pipeline's own credential is valid: its host. A
  pipeline that overrides the global credential gets ``push: {registry: <its host>, repositoryPrefix:
  <pipeline>}`` (``<host>/<pipeline>/<app>``: Shipway's push target cannot say ``<pipeline>-<app>``); without
  one an ``inherit: false`` pipeline would fall back to the Platform's push target, for which it holds no
  push credential (``PushCredentialMissing``). Pipelines that inherit push where the Platform says.

Credentials are compared by fingerprint only (key, username and password), never by printing them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipway.core import errors, names
from shipway.core.dockerconfig import AuthEntry
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.registry_keys import validate_key
from shipway.core.resources import PhaseName
from shipway.core.secrets import Secret
from shipway.core.validation import dns_label

GROUP = "application.kubero.dev"
GLOBAL_SECRET = "kubero-global-registry"
IMPORTED_ANNOTATION = f"{names.GROUP}/imported-from"
BOTH = ["pull", "push"]
_BUILD = ("buildpack", "buildstrategy", "deploymentstrategy", "dockerimage")
_READ = frozenset({"name", "phases", "registry", "git", *_BUILD})


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

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


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
    key: str | None  # the registry host, as Kubero keys its pull secret
    username: str | None
    credential: AuthEntry | None  # None: no password in Kubero (never set, or scrubbed)
    left_behind: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.origin.name


@dataclass(frozen=True, slots=True)
class KuberoInstall:
    origin: Origin
    key: str | None  # None: Kubero's registry is disabled
    username: str | None
    credential: AuthEntry | None
    left_behind: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KuberoExport:
    install: KuberoInstall | None
    pipelines: tuple[KuberoPipeline, ...]
    others: tuple[Origin, ...] = ()  # other Kubero objects (apps, addons): not migrated


def _sub(obj: Mapping[str, Any], key: str, origin: Origin | None = None, path: str = "") -> Mapping[str, Any]:
    """``obj[key]`` when a mapping; absent is empty; anything else is refused (tolerated without ``origin``)."""
    value = obj.get(key)
    if isinstance(value, Mapping):
        return value
    if value is not None and origin is not None:
        raise errors.InvalidInput("must be a mapping", field=origin.field(f"{path}{key}"))
    return {}


def _text(obj: Mapping[str, Any], key: str, origin: Origin, path: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise errors.InvalidInput("is missing or empty", field=origin.field(f"{path}{key}"))
        return None
    if not isinstance(value, str):
        raise errors.InvalidInput("must be a string", field=origin.field(f"{path}{key}"))
    return value


def _entry(key: str, username: str, password: str | None, origin: Origin, path: str) -> AuthEntry | None:
    registry = validate_key(key, field=origin.field(f"{path}host"))
    return AuthEntry(key=key, registry=registry, username=username, password=Secret(password)) if password else None


def _origin(at: str, doc: Mapping[str, Any], namespace: str) -> Origin:
    meta, kind = _sub(doc, "metadata"), str(doc.get("kind"))
    name = meta.get("name")
    try:
        dns_label(name if isinstance(name, str) else "")
    except ValueError:  # never echoed: a bad name may be anything
        raise errors.InvalidInput("is not a valid name", field=Origin(at, kind, namespace, "?").field(
            "metadata.name")) from None
    version = meta.get("resourceVersion")
    return Origin(at, kind, str(meta.get("namespace") or namespace), str(name), str(version) if version else None)


def _install(origin: Origin, spec: Mapping[str, Any]) -> KuberoInstall:
    registry = _sub(spec, "registry", origin, "spec.")
    own = ", ".join(sorted(f"spec.kubero.{k}" for k in _sub(spec, "kubero")))
    left = [f"Kubero's own settings ({own})"] if own else []
    if registry.get("create"):
        left.append("Kubero's own registry (spec.registry.create) and its htpasswd hash stay with Kubero")
    if registry.get("enabled") is not True:
        return KuberoInstall(origin, None, None, None, tuple(left))
    key = str(_text(registry, "host", origin, "spec.registry.", required=True))
    account = _sub(registry, "account", origin, "spec.registry.")
    username = str(_text(account, "username", origin, "spec.registry.account.", required=True))
    password = _text(account, "password", origin, "spec.registry.account.")
    port = registry.get("port")
    if port is not None and (type(port) is not int or not 0 < port <= 65535):
        raise errors.InvalidInput("must be a port number", field=origin.field("spec.registry.port"))
    return KuberoInstall(origin, key, username, _entry(key, username, password, origin, "spec.registry."),
                         tuple(left))


def _phases(origin: Origin, spec: Mapping[str, Any], home: str) -> tuple[KuberoPhase, ...]:
    raw = spec.get("phases")
    if not isinstance(raw, list) or not raw:
        raise errors.InvalidInput("must be a non-empty list", field=origin.field("spec.phases"))
    phases: dict[str, KuberoPhase] = {}
    for index, item in enumerate(raw):
        path = f"spec.phases[{index}]."
        if not isinstance(item, Mapping):
            raise errors.InvalidInput("must be a mapping", field=origin.field(path[:-1]))
        name = item.get("name")
        if name not in {p.value for p in PhaseName} or name in phases:
            raise errors.InvalidInput("must be review, test, stage or production, once each",
                                      field=origin.field(f"{path}name"))
        if not isinstance(item.get("enabled", False), bool):
            raise errors.InvalidInput("must be true or false", field=origin.field(f"{path}enabled"))
        context = _text(item, "context", origin, path) or ""
        phases[name] = KuberoPhase(PhaseName(name), item.get("enabled", False), context, context in ("", home))
    return tuple(phases[p.value] for p in PhaseName if p.value in phases)


def _left_behind(pipeline: str, spec: Mapping[str, Any], phases: Sequence[KuberoPhase]) -> tuple[str, ...]:
    """What of a pipeline Shipway does not take over, by field name (never a value)."""
    out = [f"phase {p.name.value}: on cluster context '{p.context}'" for p in phases if not p.here]
    git = _sub(spec, "git")
    if _sub(git, "keys").get("priv") or _sub(git, "keys").get("pub"):
        out.append("git deploy keys (spec.git.keys)")
    if any(git.get(k) for k in ("repository", "webhook", "provider")):
        out.append("git repository and webhook (spec.git)")
    if build := [f"spec.{k}" for k in _BUILD if spec.get(k)]:
        out.append(f"build settings ({', '.join(build)})")
    if spec.get("deploymentstrategy") == "git":
        out.append(f"build push layout: Kubero pushes to $KUBERO_BUILD_REGISTRY/{pipeline}-<app>, Shipway's builds "
                   "to <registry>/<prefix>/<app> (the Pipeline's spec.registry.push, else the Platform's)")
    if other := sorted(f"spec.{k}" for k in spec if k not in _READ and spec[k]):
        out.append(f"other settings ({', '.join(other)})")
    here = {p.name.value for p in phases if p.here and p.enabled}
    for p in spec["phases"]:
        extra = sorted(k for k in p if k not in ("name", "enabled", "context") and p[k])
        if p.get("name") in here and extra:
            out.append(f"phase {p['name']} settings ({', '.join(extra)})")
    return tuple(out)


def _pipeline(origin: Origin, spec: Mapping[str, Any], home: str) -> KuberoPipeline:
    if spec.get("name") not in (None, origin.name):
        raise errors.InvalidInput("differs from metadata.name", field=origin.field("spec.name"))
    phases = _phases(origin, spec, home)
    registry = _sub(spec, "registry", origin, "spec.")
    mode = registry.get("createSecret") or "copy"  # _helpers.tpl: no value copies registry-login
    if mode not in ("create", "copy", "none"):
        raise errors.InvalidInput("must be create, copy or none", field=origin.field("spec.registry.createSecret"))
    password = _text(registry, "password", origin, "spec.registry.")
    key = _text(registry, "host", origin, "spec.registry.", required=mode == "create" or bool(password))
    username = _text(registry, "username", origin, "spec.registry.", required=mode == "create" and bool(password))
    entry = _entry(key, username or "", password, origin, "spec.registry.") if key else None
    return KuberoPipeline(origin, phases, mode, key, username, entry, _left_behind(origin.name, spec, phases))


def read_export(documents: Sequence[Any], *, source: str, namespace: str = "kubero",
                context: str | None = None) -> KuberoExport:
    """Check every object of ``documents`` (a List or several, as ``kubectl get -o yaml`` prints them): all or
    nothing, errors naming the document and the field. ``context`` is the name Kubero gives this cluster
    (default: the Kubero CR's ``spec.kubero.context``, else ``default``)."""
    found: dict[str, list[tuple[Origin, Mapping[str, Any]]]] = {"Kubero": [], "KuberoPipeline": []}
    others: list[Origin] = []
    for index, doc in enumerate(documents):
        at = f"{source}#{index}"
        items = doc["items"] if isinstance(doc, Mapping) and isinstance(doc.get("items"), list) else None
        for where, item in [(f"{at}.items[{i}]", x) for i, x in enumerate(items)] if items is not None else [(at, doc)]:
            if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
                raise errors.InvalidInput("must be a mapping with a kind", field=where)
            if not str(item.get("apiVersion")).startswith(f"{GROUP}/"):
                raise errors.InvalidInput(f"is not a Kubero object ({GROUP})", field=f"{where}.apiVersion")
            origin = _origin(where, item, namespace)
            if not isinstance(item.get("spec"), Mapping):
                raise errors.InvalidInput("must be a mapping", field=origin.field("spec"))
            if origin.kind in found:
                found[origin.kind].append((origin, item["spec"]))
            else:
                others.append(origin)
    if len(found["Kubero"]) > 1:
        raise errors.InvalidInput("a second Kubero object", field=found["Kubero"][1][0].field("metadata"))
    install, home = None, context
    if found["Kubero"]:
        origin, spec = found["Kubero"][0]
        install = _install(origin, spec)
        home = home or _text(_sub(spec, "kubero", origin, "spec."), "context", origin, "spec.kubero.")
    pipelines = [_pipeline(origin, spec, home or "default") for origin, spec in found["KuberoPipeline"]]
    if len({p.name for p in pipelines}) < len(pipelines):
        raise errors.InvalidInput("two KuberoPipelines of one name", field=f"{source}.metadata.name")
    return KuberoExport(install, tuple(pipelines), tuple(others))


def fingerprint(entry: AuthEntry | None) -> str | None:
    return None if entry is None else entry_fingerprint(entry)


# --- what each pipeline becomes ------------------------------------------------------------------------------------
