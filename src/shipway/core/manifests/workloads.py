"""The workloads of the install: the operator's and the API's Deployments, the API's Service, a
PodDisruptionBudget and a NetworkPolicy per Deployment.

Both pods meet the Pod Security Standard "restricted" (and the system namespace enforces it): a non-root
user, seccomp ``RuntimeDefault``, no privilege escalation, every capability dropped, a read-only root
filesystem (``/tmp`` is a small memory-backed emptyDir). Both have liveness and readiness probes: the API on
its REST listener (HTTPS), the operator on its metrics port (``/readyz``: its cache is synced). The
NetworkPolicies admit ingress only to the ports that are served; egress stays open (the API server, and the
registries that credentials are checked against, are anywhere).
"""

from __future__ import annotations

from typing import Any

from shipway.core import names
from shipway.core.manifests.admission import WEBHOOK_PORT, WEBHOOK_TLS_SECRET
from shipway.core.manifests.rbac import API, OPERATOR, SYSTEM_NAMESPACE

API_PORT = 8080  # the REST API, over HTTPS (the webhook's certificate)
API_SERVICE_PORT = 443
METRICS_PORT = 9090  # the operator's /metrics, /healthz and /readyz (plain HTTP)
USER_ID = 10001  # the image's user (Dockerfile)
TLS_DIR = "/etc/shipway/tls"
REPLICAS = 2  # the operator's replicas elect a leader on a Lease; the API's serve side by side


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def _labels(name: str) -> dict[str, str]:
    return {**selector(name), names.PART_OF_LABEL: names.MANAGED_BY}


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": _labels(name)}


def _probe(path: str, port: str, *, scheme: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port, "scheme": scheme}, "periodSeconds": period,
            "timeoutSeconds": 3, "failureThreshold": failures}


def _container(name: str, image: str, args: list[str], *, ports: list[tuple[str, int]], scheme: str,
               resources: dict[str, Any], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    probe_port = ports[0][0]
    return {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "args": args,
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": port_name, "containerPort": number, "protocol": "TCP"} for port_name, number in ports],
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID,
            "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": resources,
        "readinessProbe": _probe("/readyz", probe_port, scheme=scheme, period=5, failures=3),
        "livenessProbe": _probe("/healthz", probe_port, scheme=scheme, period=10, failures=6),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *mounts],  # noqa: S108 - an emptyDir
    }


def deployment(name: str, container: dict[str, Any], *, volumes: list[dict[str, Any]]) -> dict[str, Any]:
    pod = {
        "serviceAccountName": name,
        "automountServiceAccountToken": True,  # both talk to the Kubernetes API with their ServiceAccount
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID,
                            "fsGroup": USER_ID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}, *volumes],
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name),
            "spec": {"replicas": REPLICAS, "revisionHistoryLimit": 5, "selector": {"matchLabels": selector(name)},
                     "template": {"metadata": {"labels": _labels(name)}, "spec": pod}}}


def disruption_budget(name: str) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(name)}}}


def network_policy(name: str, ports: list[int]) -> dict[str, Any]:
    """Ingress only to ``ports`` (from anywhere: the API server, users, Prometheus); egress is left open."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(name),
            "spec": {"podSelector": {"matchLabels": selector(name)}, "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"protocol": "TCP", "port": port} for port in ports]}]}}


def api_workload(image: str) -> list[dict[str, Any]]:
    """The API: REST over HTTPS and the admission webhook, both with the certificate of ``shipway-webhook-tls``."""
    args = ["api", "run", "--host", "0.0.0.0", "--port", str(API_PORT), "--serve-tls",  # noqa: S104 - the pod IP
            "--webhook-port", str(WEBHOOK_PORT), "--tls-cert-file", f"{TLS_DIR}/tls.crt",
            "--tls-key-file", f"{TLS_DIR}/tls.key"]
    container = _container(
        API, image, args, ports=[("https", API_PORT), ("webhook", WEBHOOK_PORT)], scheme="HTTPS",
        resources={"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "384Mi"}},
        mounts=[{"name": "tls", "mountPath": TLS_DIR, "readOnly": True}])
    service = {"apiVersion": "v1", "kind": "Service", "metadata": _meta(API),
               "spec": {"type": "ClusterIP", "selector": selector(API),
                        "ports": [{"name": "https", "port": API_SERVICE_PORT, "targetPort": "https", "protocol": "TCP"},
                                  {"name": "webhook", "port": WEBHOOK_PORT, "targetPort": "webhook",
                                   "protocol": "TCP"}]}}
    tls = {"name": "tls", "secret": {"secretName": WEBHOOK_TLS_SECRET, "defaultMode": 0o440}}
    return [network_policy(API, [API_PORT, WEBHOOK_PORT]), service, deployment(API, container, volumes=[tls]),
            disruption_budget(API)]


def operator_workload(image: str) -> list[dict[str, Any]]:
    """The operator: every replica keeps its cache warm; the holder of the Lease reconciles."""
    args = ["operator", "run", "--metrics-port", str(METRICS_PORT), "--identity", "$(POD_NAME)"]
    container = _container(
        OPERATOR, image, args, ports=[("metrics", METRICS_PORT)], scheme="HTTP",
        resources={"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        mounts=[])
    return [network_policy(OPERATOR, [METRICS_PORT]), deployment(OPERATOR, container, volumes=[]),
            disruption_budget(OPERATOR)]
