"""What a fresh sandbox cluster gets before the operator starts: the CRDs, the system namespace, the
operator's and the API's RBAC and the operator's fence (a ValidatingAdmissionPolicy) exactly as ``shipway
manifests`` installs them, a demo default credential (a
random password, never printed) and the Platform ``default`` that uses it. The admission webhook is
registered once the API serves it (:func:`register_webhook`).
"""

from __future__ import annotations

import contextlib
import secrets

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.client import KubeClient
from shipway.core import names
from shipway.core.crds import custom_resource_definitions
from shipway.core.dockerconfig import AuthEntry, render_dockerconfigjson
from shipway.core.errors import Conflict
from shipway.core.install import user_roles
from shipway.core.manifests.admission import operator_fence, webhook_configuration
from shipway.core.manifests.rbac import shipway_rbac
from shipway.core.registry_keys import parse_key
from shipway.core.secrets import Secret

SYSTEM_NAMESPACE = names.SYSTEM_NAMESPACE
DEMO_SECRET = "default-registry"
DEMO_REGISTRY = "registry.shipway.test"


def demo_credential(registry: str = DEMO_REGISTRY, password: Secret | None = None,
                    username: str = "shipway-demo") -> dict[str, object]:
    """The platform's default credential: the sandbox registry's user (a random password, never printed)."""
    entry = AuthEntry(key=registry, registry=parse_key(registry), username=username,
                      password=password or Secret(secrets.token_urlsafe(24)))
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": DEMO_SECRET, "namespace": SYSTEM_NAMESPACE, "labels": {names.CREDENTIAL_LABEL: "true"}},
        "stringData": {".dockerconfigjson": render_dockerconfigjson([entry]).decode()},
    }


def demo_platform(registry: str = DEMO_REGISTRY) -> dict[str, object]:
    return {
        "apiVersion": names.API_VERSION, "kind": "Platform", "metadata": {"name": names.PLATFORM_NAME},
        "spec": {
            "systemNamespace": SYSTEM_NAMESPACE,
            "registry": {
                "credentials": [{"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": DEMO_SECRET},
                                 "usage": ["pull", "push"]}],
                "push": {"registry": registry, "repositoryPrefix": "apps"},
            },
        },
    }


async def _create(client: KubeClient, kind: kinds.Kind, obj: dict[str, object]) -> None:
    with contextlib.suppress(Conflict):  # already there: keep it as it is
        await client.create(kind, obj)


CLUSTER_ROLE = kinds.Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False)
CLUSTER_ROLE_BINDING = kinds.Kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False)
WEBHOOKS = kinds.Kind("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
                      "validatingwebhookconfigurations", False)
POLICIES = kinds.Kind("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
                      "validatingadmissionpolicies", False)
POLICY_BINDINGS = kinds.Kind("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
                             "validatingadmissionpolicybindings", False)
_RBAC_KINDS = {"ValidatingAdmissionPolicy": POLICIES, "ValidatingAdmissionPolicyBinding": POLICY_BINDINGS,
               "ServiceAccount": kinds.SERVICE_ACCOUNT, "ClusterRole": CLUSTER_ROLE,
               "ClusterRoleBinding": CLUSTER_ROLE_BINDING, "Role": kinds.ROLE, "RoleBinding": kinds.ROLE_BINDING}
# The pipelines each demo team may manage: team-a's "shop" (the kubectl walkthrough) and "cart" (the CLI's).
TEAM_PIPELINES = {"team-a": ["shop", "cart"], "team-b": ["blog"]}


def team_rbac(team: str, pipelines: list[str]) -> list[tuple[kinds.Kind, dict[str, object]]]:
    """What a team gets in the sandbox: its namespace, where it may read and write Secrets; the right to
    create pipelines; and every right on the pipelines named for it (and no others)."""
    rbac = "rbac.authorization.k8s.io"
    subject = [{"kind": "Group", "apiGroup": rbac, "name": team}]
    role = f"{team}-pipelines"
    return [
        (kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": team}}),
        (CLUSTER_ROLE, {"apiVersion": f"{rbac}/v1", "kind": "ClusterRole", "metadata": {"name": role}, "rules": [
            {"apiGroups": [names.GROUP], "resources": ["pipelines"], "verbs": ["create"]},
            # list and watch by name too (a fieldSelector on metadata.name): kubectl wait and get -w
            {"apiGroups": [names.GROUP], "resources": ["pipelines"], "resourceNames": pipelines,
             "verbs": ["get", "list", "watch", "update", "patch", "delete"]},
            {"apiGroups": [names.GROUP], "resources": ["platforms"], "verbs": ["get"]},
        ]}),
        (CLUSTER_ROLE_BINDING, {"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": role},
                                "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": role},
                                "subjects": subject}),
        (kinds.ROLE, {"apiVersion": f"{rbac}/v1", "kind": "Role",
                      "metadata": {"name": "team-secrets", "namespace": team},
                      "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                 "verbs": ["get", "list", "create", "update", "patch", "delete"]}]}),
        (kinds.ROLE_BINDING, {"apiVersion": f"{rbac}/v1", "kind": "RoleBinding",
                              "metadata": {"name": "team-secrets", "namespace": team},
                              "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "team-secrets"},
                              "subjects": subject}),
    ]


async def bootstrap(client: KubeClient, *, registry: str = DEMO_REGISTRY, password: Secret | None = None,
                    username: str = "shipway-demo") -> None:
    for crd in custom_resource_definitions():
        await _create(client, kinds.CRD, crd)
    for role in user_roles():
        await _create(client, CLUSTER_ROLE, role)
    for team, pipelines in TEAM_PIPELINES.items():
        for kind, obj in team_rbac(team, pipelines):
            await _create(client, kind, obj)
    await _create(client, kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": SYSTEM_NAMESPACE}})
    for installed in [*shipway_rbac(), *operator_fence()]:
        await _create(client, _RBAC_KINDS[str(installed["kind"])], installed)
    await _create(client, kinds.SECRET, demo_credential(registry, password, username))
    await _create(client, kinds.PLATFORM, demo_platform(registry))


async def register_webhook(client: KubeClient, *, url: str, ca_pem: bytes) -> None:
    """Point kube-apiserver (the emulator) at the API's admission webhook, replacing an older registration."""
    body = webhook_configuration(url=url, ca_bundle=ca_pem)
    try:
        await client.create(WEBHOOKS, body)
    except Conflict:
        await client.patch(WEBHOOKS, body["metadata"]["name"], {"webhooks": body["webhooks"]})

