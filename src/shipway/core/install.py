"""The install manifests: CRDs, the system namespace, least-privilege roles, and the two Deployments.

Kubernetes RBAC cannot narrow ``list``/``watch`` by label, so the operator may list Secrets cluster-wide;
it asks only for those labelled ``shipway.dev/credential``. Creating a Role that grants ``get`` on Secrets
requires holding that right (RBAC escalation prevention), hence ``get`` on Secrets for the operator.
"""

from __future__ import annotations

from typing import Any

from shipway import __version__
from shipway.core import names
from shipway.core.crds import custom_resource_definitions

SYSTEM_NAMESPACE = "shipway-system"
DEFAULT_IMAGE = f"shipway:{__version__}"  # build it from this repository: nothing is published


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _cluster_role(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY, **(labels or {})}},
            "rules": rules}


def _binding(name: str, account: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": SYSTEM_NAMESPACE}]}


def _account(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE}}


def _deployment(name: str, account: str, image: str, args: list[str], port: int | None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name, "image": image, "args": args,
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
    }
    if port is not None:
        container["ports"] = [{"containerPort": port, "name": "http"}]
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": port}}
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": port}}
    labels = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"serviceAccountName": account, "containers": [container]}}}}


def peering_crd() -> dict[str, Any]:
    """kopf's cluster-wide peering resource, used to elect one active operator among replicas."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "clusterkopfpeerings.kopf.dev"},
        "spec": {"group": "kopf.dev", "scope": "Cluster",
                 "names": {"kind": "ClusterKopfPeering", "plural": "clusterkopfpeerings",
                           "singular": "clusterkopfpeering"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"status": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}}}]},
    }


def user_roles() -> list[dict[str, Any]]:
    """ClusterRoles for people. Pipelines are cluster-scoped: give a team its pipelines with a ClusterRole
    listing them in ``resourceNames`` (or bind shipway-editor to a group for all pipelines)."""
    group = [names.GROUP]
    read = ["get", "list", "watch"]
    return [
        _cluster_role("shipway-viewer", [_rule(group, ["pipelines", "platforms"], read)]),
        _cluster_role("shipway-editor", [_rule(group, ["pipelines"], [*read, "create", "update", "patch", "delete"]),
                                         _rule(group, ["platforms"], read)]),
        _cluster_role("shipway-admin", [_rule(group, ["pipelines", "platforms"],
                                              [*read, "create", "update", "patch", "delete"])]),
    ]


def install_manifests(*, image: str = DEFAULT_IMAGE) -> list[dict[str, Any]]:
    group = [names.GROUP]
    operator_rules = [
        _rule(group, ["pipelines", "platforms"], ["get", "list", "watch"]),
        _rule(group, ["pipelines/status", "platforms/status"], ["patch"]),
        _rule([""], ["secrets"], ["get", "list", "watch", "create", "patch", "delete"]),
        _rule([""], ["namespaces", "serviceaccounts"], ["get", "list", "watch", "create", "patch", "delete"]),
        _rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["list", "watch", "create", "patch", "delete"]),
        _rule([""], ["events"], ["create"]),
        _rule(["kopf.dev"], ["clusterkopfpeerings"], ["get", "list", "watch", "patch"]),
        _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list", "watch"]),
    ]
    api_rules = [
        _rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
        _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
        _rule(group, ["pipelines", "platforms"], ["get", "list", "watch", "create", "update", "patch", "delete"]),
        _rule([""], ["secrets"], ["get", "create", "patch", "delete"]),
        _rule([""], ["events"], ["create"]),
    ]
    return [
        *custom_resource_definitions(), peering_crd(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}},
        {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "shipway"}},
        _account("shipway-operator"), _cluster_role("shipway-operator", operator_rules),
        _binding("shipway-operator", "shipway-operator"),
        _account("shipway-api"), _cluster_role("shipway-api", api_rules), _binding("shipway-api", "shipway-api"),
        *user_roles(),
        _deployment("shipway-operator", "shipway-operator", image, ["operator", "run", "--metrics-port", "9090"],
                    None),
        _deployment("shipway-api", "shipway-api", image,
                    ["api", "run", "--host", "0.0.0.0", "--port", "8080"], 8080),  # noqa: S104 - the pod IP
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shipway-api", "namespace": SYSTEM_NAMESPACE},
         "spec": {"selector": {"app.kubernetes.io/name": "shipway-api"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
    ]
