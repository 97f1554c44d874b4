"""The resource catalogue: which group/version/plural the emulator serves, and how.

Built-in kinds are declared up front; CustomResourceDefinitions add and remove entries at run time,
as the apiextensions-apiserver does.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shipway_sandbox.emulator import objects

ALL_VERBS = frozenset({"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"})
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResourceSpec:
    """One served resource, as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str = ""
    namespaced: bool = True
    subresources: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: frozenset[str] = ALL_VERBS
    # a CRD version's structural ``openAPIV3Schema`` (see :mod:`schemas`); None for built-in kinds
    schema: Mapping[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group, self.version, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def qualified(self) -> str:
        """``plural.group`` as used in error messages (just ``plural`` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _core(plural: str, kind: str, *, namespaced: bool = True, status: bool = False,
          short: tuple[str, ...] = ()) -> ResourceSpec:
    return ResourceSpec(group="", version="v1", plural=plural, kind=kind, singular=kind.lower(),
                        namespaced=namespaced, short_names=short,
                        subresources=frozenset({"status"}) if status else frozenset())


def _grouped(group: str, version: str, plural: str, kind: str, *, namespaced: bool = True,
             status: bool = False, short: tuple[str, ...] = ()) -> ResourceSpec:
    return ResourceSpec(group=group, version=version, plural=plural, kind=kind, singular=kind.lower(),
                        namespaced=namespaced, short_names=short,
                        subresources=frozenset({"status"}) if status else frozenset())


def _review(group: str, plural: str, kind: str, *, namespaced: bool = False) -> ResourceSpec:
    """A create-only review resource, answered and never stored (see :mod:`reviews`)."""
    return ResourceSpec(group=group, version="v1", plural=plural, kind=kind, singular=kind.lower(),
                        namespaced=namespaced, verbs=frozenset({"create"}))


RBAC = "rbac.authorization.k8s.io"
APIEXTENSIONS = "apiextensions.k8s.io"
AUTHENTICATION = "authentication.k8s.io"
AUTHORIZATION = "authorization.k8s.io"
ADMISSIONREGISTRATION = "admissionregistration.k8s.io"

BUILTIN_RESOURCES: tuple[ResourceSpec, ...] = (
    dataclasses.replace(_core("namespaces", "Namespace", namespaced=False, status=True, short=("ns",)),
                        subresources=frozenset({"status", "finalize"})),
    _core("secrets", "Secret"),
    _core("serviceaccounts", "ServiceAccount", short=("sa",)),
    _core("configmaps", "ConfigMap", short=("cm",)),
    _core("events", "Event", short=("ev",)),
    _grouped("events.k8s.io", "v1", "events", "Event", short=("ev",)),
    _grouped(RBAC, "v1", "roles", "Role"),
    _grouped(RBAC, "v1", "rolebindings", "RoleBinding"),
    _grouped(RBAC, "v1", "clusterroles", "ClusterRole", namespaced=False),
    _grouped(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _grouped(APIEXTENSIONS, "v1", "customresourcedefinitions", "CustomResourceDefinition",
             namespaced=False, status=True, short=("crd", "crds")),
    _grouped("coordination.k8s.io", "v1", "leases", "Lease"),
    _review(AUTHENTICATION, "tokenreviews", "TokenReview"),
    _review(AUTHORIZATION, "subjectaccessreviews", "SubjectAccessReview"),
    _review(AUTHORIZATION, "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    _review(AUTHORIZATION, "localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced=True),
    _grouped(ADMISSIONREGISTRATION, "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
             namespaced=False),
    _grouped(ADMISSIONREGISTRATION, "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
             namespaced=False),
    # added after the others so that the indexes above do not move
    _grouped(ADMISSIONREGISTRATION, "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
             namespaced=False, status=True),
    _grouped(ADMISSIONREGISTRATION, "v1", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding",
             namespaced=False),
    _review(AUTHORIZATION, "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    _review(AUTHENTICATION, "selfsubjectreviews", "SelfSubjectReview"),
)

NAMESPACES = BUILTIN_RESOURCES[0]
SECRETS = BUILTIN_RESOURCES[1]
SERVICEACCOUNTS = BUILTIN_RESOURCES[2]
CRDS = BUILTIN_RESOURCES[10]
TOKEN_REVIEWS, SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_ACCESS_REVIEWS, LOCAL_SUBJECT_ACCESS_REVIEWS = \
    BUILTIN_RESOURCES[12:16]
VALIDATING_WEBHOOK_CONFIGURATIONS, MUTATING_WEBHOOK_CONFIGURATIONS = BUILTIN_RESOURCES[16:18]
VALIDATING_ADMISSION_POLICIES, VALIDATING_ADMISSION_POLICY_BINDINGS = BUILTIN_RESOURCES[18:20]
SELF_SUBJECT_RULES_REVIEWS, SELF_SUBJECT_REVIEWS = BUILTIN_RESOURCES[20:22]


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version priority: GA before beta before alpha, higher numbers first (sort ascending)."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    stage_rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (stage_rank, -int(major), -int(minor or 0), version)


class Catalogue:
    """A mutable registry of served resources, keyed by (group, version, plural)."""

    def __init__(self, specs: Iterable[ResourceSpec] = ()) -> None:
        self._specs: dict[tuple[str, str, str], ResourceSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ResourceSpec) -> None:
        self._specs[spec.key] = spec

    def unregister(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        return self._specs.pop((group, version, plural), None)

    def get(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        return self._specs.get((group, version, plural))

    def __iter__(self) -> Iterator[ResourceSpec]:
        return iter(list(self._specs.values()))

    def in_group_version(self, group: str, version: str) -> list[ResourceSpec]:
        return sorted((s for s in self if s.group == group and s.version == version), key=lambda s: s.plural)

    def groups(self) -> dict[str, list[str]]:
        """Non-core groups with their versions, the preferred version first."""
        result: dict[str, set[str]] = {}
        for spec in self:
            if spec.group:
                result.setdefault(spec.group, set()).add(spec.version)
        return {g: sorted(vs, key=version_priority) for g, vs in sorted(result.items())}


def specs_from_crd(crd: objects.Body) -> list[ResourceSpec]:
    """The resources a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group") or "")
    plural = str(names.get("plural") or "")
    kind = str(names.get("kind") or "")
    if not group or not plural or not kind:
        return []
    result: list[ResourceSpec] = []
    for version in spec.get("versions") or []:
        if not isinstance(version, dict) or not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        result.append(ResourceSpec(
            group=group,
            version=str(version.get("name")),
            plural=plural,
            kind=kind,
            singular=str(names.get("singular") or kind.lower()),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            subresources=frozenset(k for k in ("status", "scale") if k in subresources),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            schema=copy.deepcopy(schema) if isinstance(schema, dict) else None,
        ))
    return result


def crd_accepted_status(crd: objects.Body) -> objects.Body:
    """The status a real apiextensions-apiserver writes once names are accepted and the CRD is served."""
    spec = crd.get("spec") or {}
    now = objects.now_rfc3339()
    stored = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    return {
        "acceptedNames": dict(spec.get("names") or {}),
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    }
