"""The install manifests: CRDs, the system namespace, least-privilege RBAC (:mod:`.manifests.rbac`), the
admission webhook and the operator's fence (:mod:`.manifests.admission`), and the two Deployments.

The webhook's serving certificate comes from cert-manager (an Issuer and a Certificate are included); the
API Deployment mounts it from the Secret ``shipway-webhook-tls``.
"""

from __future__ import annotations

from typing import Any

from shipway import __version__
from shipway.core.crds import custom_resource_definitions
from shipway.core.manifests.admission import (
    WEBHOOK_TLS_SECRET,
    operator_fence,
    webhook_certificate,
    webhook_configuration,
)
from shipway.core.manifests.rbac import API, OPERATOR, SYSTEM_NAMESPACE, shipway_rbac, user_roles

__all__ = ["DEFAULT_IMAGE", "SYSTEM_NAMESPACE", "install_manifests", "user_roles"]
DEFAULT_IMAGE = f"shipway:{__version__}"  # build it from this repository: nothing is published
WEBHOOK_PORT = 8443


def _deployment(name: str, account: str, image: str, args: list[str], port: int | None,
                volumes: list[dict[str, Any]] | None = None, mounts: list[dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name, "image": image, "args": args,
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
    }
    if port is not None:
        container["ports"] = [{"containerPort": port, "name": "http"}]
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": port}}
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": port}}
    if mounts:
        container["volumeMounts"] = mounts
        container.setdefault("ports", []).append({"containerPort": WEBHOOK_PORT, "name": "webhook"})
    labels = {"app.kubernetes.io/name": name}
    pod: dict[str, Any] = {"serviceAccountName": account, "containers": [container]}
    if volumes:
        pod["volumes"] = volumes
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


def install_manifests(*, image: str = DEFAULT_IMAGE) -> list[dict[str, Any]]:
    tls_dir = "/etc/shipway/webhook"
    api_args = ["api", "run", "--host", "0.0.0.0", "--port", "8080",  # noqa: S104 - the pod IP
                "--webhook-port", str(WEBHOOK_PORT), "--tls-cert-file", f"{tls_dir}/tls.crt",
                "--tls-key-file", f"{tls_dir}/tls.key"]
    return [
        *custom_resource_definitions(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}},
        *shipway_rbac(),
        *user_roles(),
        *webhook_certificate(),
        _deployment(OPERATOR, OPERATOR, image, ["operator", "run", "--metrics-port", "9090"], None),
        _deployment(API, API, image, api_args, 8080,
                    volumes=[{"name": "webhook-tls", "secret": {"secretName": WEBHOOK_TLS_SECRET}}],
                    mounts=[{"name": "webhook-tls", "mountPath": tls_dir, "readOnly": True}]),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": API, "namespace": SYSTEM_NAMESPACE},
         "spec": {"selector": {"app.kubernetes.io/name": API},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                            {"name": "webhook", "port": 443, "targetPort": WEBHOOK_PORT}]}},
        webhook_configuration(),
        *operator_fence(),
    ]
