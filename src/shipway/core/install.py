"""The install manifests: CRDs, the system namespace, least-privilege RBAC (:mod:`.manifests.rbac`), the
certificates, the workloads (:mod:`.manifests.workloads`), then admission (:mod:`.manifests.admission`).

The ORDER is the order of a first ``kubectl apply -f``: what is referred to comes before what refers to it
(CRDs, the namespace, the ServiceAccounts and roles, the cert-manager Issuer and Certificate, the
NetworkPolicies before the pods they admit), and the ValidatingWebhookConfiguration and the operator's fence
come last: nothing above is a Pipeline or a Platform, nor written by the operator's ServiceAccount.

The Platform ``default`` is not in the manifests: its CRD must be established (and the webhook that admits it
served) before it can be created; ``shipway platform init`` makes it (:func:`default_platform`).

The webhook's and the REST API's serving certificate is the Secret ``shipway-webhook-tls``: issued by
cert-manager (an Issuer and a Certificate are included; cert-manager injects the CA into the webhook), or
with ``cert_manager=False`` made by the installer, whose CA is then given as ``webhook_ca_bundle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway import __version__
from shipway.core import names
from shipway.core.crds import custom_resource_definitions
from shipway.core.errors import InvalidInput
from shipway.core.manifests.admission import operator_fence, webhook_certificate, webhook_configuration
from shipway.core.manifests.rbac import SYSTEM_NAMESPACE, shipway_rbac, user_roles
from shipway.core.manifests.workloads import api_workload, operator_workload

__all__ = ["DEFAULT_IMAGE", "SYSTEM_NAMESPACE", "ManifestFile", "default_platform", "install_files",
           "install_manifests", "kustomization", "user_roles"]
DEFAULT_IMAGE = f"shipway:{__version__}"  # build it from this repository: nothing is published
POD_SECURITY = "restricted"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """One file of a kustomize base: its name and the objects it holds, in apply order."""

    name: str
    objects: list[dict[str, Any]]


def system_namespace() -> dict[str, Any]:
    """The system namespace, which enforces the Pod Security Standard "restricted" on every pod in it."""
    labels = {names.PART_OF_LABEL: names.MANAGED_BY}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE, "labels": labels}}


def install_files(*, image: str = DEFAULT_IMAGE, cert_manager: bool = True,
                  webhook_ca_bundle: bytes | None = None) -> list[ManifestFile]:
    """The install, grouped into the files of a kustomize base, in apply order."""
    if not cert_manager and not webhook_ca_bundle:
        raise InvalidInput("without cert-manager, give the CA that signed the certificate of the Secret "
                           "shipway-webhook-tls (PEM): kube-apiserver must trust the webhook",
                           field="--webhook-ca-bundle")
    files = [
        ManifestFile("crds.yaml", custom_resource_definitions()),
        ManifestFile("namespace.yaml", [system_namespace()]),
        ManifestFile("rbac.yaml", shipway_rbac()),
        ManifestFile("user-roles.yaml", user_roles()),
        ManifestFile("certificate.yaml", webhook_certificate() if cert_manager else []),
        ManifestFile("api.yaml", api_workload(image)),
        ManifestFile("operator.yaml", operator_workload(image)),
        ManifestFile("admission.yaml", [
            webhook_configuration(cert_manager=cert_manager, ca_bundle=None if cert_manager else webhook_ca_bundle),
            *operator_fence()]),
    ]
    return [f for f in files if f.objects]


def install_manifests(*, image: str = DEFAULT_IMAGE, cert_manager: bool = True,
                      webhook_ca_bundle: bytes | None = None) -> list[dict[str, Any]]:
    """Every object of the install, in the order a first ``kubectl apply -f`` needs."""
    return [obj for f in install_files(image=image, cert_manager=cert_manager, webhook_ca_bundle=webhook_ca_bundle)
            for obj in f.objects]


def kustomization(files: list[ManifestFile]) -> dict[str, Any]:
    """The kustomization of a base made of ``files``: its resources kept in the order given (``fifo``)."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [f.name for f in files], "sortOptions": {"order": "fifo"}}


def default_platform(system_namespace: str = SYSTEM_NAMESPACE) -> dict[str, Any]:
    """The Platform ``default`` with nothing but its system namespace: no platform credential yet."""
    return {"apiVersion": names.API_VERSION, "kind": "Platform",
            "metadata": {"name": names.PLATFORM_NAME, "labels": {names.PART_OF_LABEL: names.MANAGED_BY}},
            "spec": {"systemNamespace": system_namespace}}
