"""Least-privilege RBAC of the operator and the API, each rule with the reason it is there.

Kubernetes RBAC cannot narrow writes by label, so the operator's cluster-wide writes on Secrets,
ServiceAccounts, Namespaces, Roles and RoleBindings are FENCED by the ValidatingAdmissionPolicy of
:mod:`shipway.core.manifests.admission`: its ServiceAccount may only change objects labelled
``app.kubernetes.io/managed-by: shipway`` (and the ``default`` ServiceAccounts it appends a pull secret to).
The API writes Secrets only in the system namespace (a Role there), and Events only in ``default`` (where
Events about cluster-scoped Pipelines live).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.core import names

SYSTEM_NAMESPACE = names.SYSTEM_NAMESPACE
OPERATOR = "shipway-operator"
API = "shipway-api"
RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True, slots=True)
class Rule:
    groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str

    def as_k8s(self) -> dict[str, Any]:
        return {"apiGroups": list(self.groups), "resources": list(self.resources), "verbs": list(self.verbs)}


G = (names.GROUP,)
CORE = ("",)
READ = ("get", "list", "watch")

OPERATOR_RULES = (
    Rule(G, ("pipelines", "platforms"), READ, "watch the specs it reconciles"),
    Rule(G, ("pipelines/status", "platforms/status"), ("patch",), "write status (only when it changed)"),
    Rule(G, ("pipelines/finalizers",), ("update",),
         "set blockOwnerDeletion on the objects it owns (OwnerReferencesPermissionEnforcement)"),
    Rule(CORE, ("secrets",), ("get", "list", "watch", "create", "patch", "delete"),
         "watch labelled credential sources; write shipway-pull/shipway-push (fenced to labelled objects)"),
    Rule(CORE, ("namespaces",), ("get", "list", "watch", "create", "patch", "delete"),
         "create phase namespaces; delete only those it created (fenced to labelled namespaces)"),
    Rule(CORE, ("serviceaccounts",), ("get", "list", "watch", "create", "patch", "delete"),
         "the builder ServiceAccount; append the pull secret to default (fenced)"),
    Rule((RBAC,), ("roles", "rolebindings"), ("get", "list", "watch", "create", "patch", "delete"),
         "the builder's Role that may get only shipway-push (fenced to labelled objects)"),
    Rule(("events.k8s.io",), ("events",), ("create", "patch"), "Events on Pipelines and the Platform (patch: "
                                                                "a repeated Event's series count)"),
    Rule(("coordination.k8s.io",), ("leases",), ("get", "create", "update"),
         "leader election among replicas (the Lease shipway-system/shipway-operator)"),
)
API_CLUSTER_RULES = (
    Rule(("authentication.k8s.io",), ("tokenreviews",), ("create",), "authenticate callers' bearer tokens"),
    Rule(("authorization.k8s.io",), ("subjectaccessreviews",), ("create",), "ask RBAC what each caller may do"),
    Rule(G, ("pipelines",), ("get", "list", "watch", "create", "update", "patch", "delete"),
         "manage pipelines for callers RBAC allows"),
    Rule(G, ("platforms",), ("get", "list", "watch", "update", "patch"), "edit the platform layer for admins"),
    Rule(CORE, ("secrets",), ("get",), "read a referenced Secret once the caller may read it, for the checks"),
    Rule(CORE, ("namespaces",), ("get",), "check phase-namespace claims"),
)
API_SYSTEM_RULES = (
    Rule(CORE, ("secrets",), ("list", "create", "patch", "delete"),
         "credentials set by value live in the system namespace; list: repair after a crash between two writes"),
)
API_EVENT_RULES = (
    Rule(CORE, ("events",), ("create",), "audit Events on Pipelines (cluster-scoped: in default)"),
    Rule(("events.k8s.io",), ("events",), ("list",), "the console's Activity: a pipeline's Events, shown to "
                                                      "those who may get the pipeline"),
)


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {names.PART_OF_LABEL: names.MANAGED_BY}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def role(kind: str, name: str, rules: tuple[Rule, ...] | list[dict[str, Any]], namespace: str | None = None
         ) -> dict[str, Any]:
    raw = [r.as_k8s() if isinstance(r, Rule) else r for r in rules]
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": _meta(name, namespace), "rules": raw}


def binding(kind: str, name: str, *, role_kind: str, account: str, namespace: str | None = None
            ) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": _meta(name, namespace),
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": SYSTEM_NAMESPACE}]}


def account(name: str) -> dict[str, Any]:
    """A ServiceAccount whose token is mounted only into the pods that ask for it (the two Deployments do)."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, SYSTEM_NAMESPACE),
            "automountServiceAccountToken": False}


def service_account_user(name: str) -> str:
    return f"system:serviceaccount:{SYSTEM_NAMESPACE}:{name}"


def shipway_rbac() -> list[dict[str, Any]]:
    """The operator's and the API's ServiceAccounts, roles and bindings, exactly as installed."""
    return [
        account(OPERATOR), role("ClusterRole", OPERATOR, OPERATOR_RULES),
        binding("ClusterRoleBinding", OPERATOR, role_kind="ClusterRole", account=OPERATOR),
        account(API), role("ClusterRole", API, API_CLUSTER_RULES),
        binding("ClusterRoleBinding", API, role_kind="ClusterRole", account=API),
        role("Role", API, API_SYSTEM_RULES, SYSTEM_NAMESPACE),
        binding("RoleBinding", API, role_kind="Role", account=API, namespace=SYSTEM_NAMESPACE),
        role("Role", f"{API}-events", API_EVENT_RULES, "default"),
        binding("RoleBinding", f"{API}-events", role_kind="Role", account=API, namespace="default"),
    ]


def user_roles() -> list[dict[str, Any]]:
    """ClusterRoles for people. Pipelines are cluster-scoped: give a team its pipelines with a ClusterRole
    listing them in ``resourceNames`` (or bind shipway-editor to a group for all pipelines)."""
    read = ["get", "list", "watch"]
    write = [*read, "create", "update", "patch", "delete"]
    rule = [names.GROUP]
    return [
        role("ClusterRole", "shipway-viewer", [{"apiGroups": rule, "resources": ["pipelines", "platforms"],
                                                "verbs": read}]),
        role("ClusterRole", "shipway-editor", [{"apiGroups": rule, "resources": ["pipelines"], "verbs": write},
                                               {"apiGroups": rule, "resources": ["platforms"], "verbs": read}]),
        role("ClusterRole", "shipway-admin", [{"apiGroups": rule, "resources": ["pipelines", "platforms"],
                                               "verbs": write}]),
    ]


def rbac_table() -> str:
    """The README's table: every rule of the operator and the API, and why it is there."""
    rows = ["| who | API group | resources | verbs | why |", "|---|---|---|---|---|"]
    for who, rules in (("operator", OPERATOR_RULES), ("API (cluster)", API_CLUSTER_RULES),
                       (f"API (namespace {SYSTEM_NAMESPACE})", API_SYSTEM_RULES),
                       ("API (namespace default)", API_EVENT_RULES)):
        for r in rules:
            rows.append(f"| {who} | {','.join(g or 'core' for g in r.groups)} | {', '.join(r.resources)} | "
                        f"{', '.join(r.verbs)} | {r.why} |")
    return "\n".join(rows)
