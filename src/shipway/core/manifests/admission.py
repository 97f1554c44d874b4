"""Admission objects: Shipway's validating webhook (Pipelines and the Platform, whoever writes them) and the
ValidatingAdmissionPolicy that fences the operator's own writes.

The webhook is served by the API process on its TLS listener (``/admission/v1/validate``) with
``failurePolicy: Fail``: if Shipway cannot answer, no Pipeline or Platform is written. On a cluster its
certificate comes from cert-manager (``cert-manager.io/inject-ca-from`` fills the caBundle), or from the
installer (``cert_manager=False``: a caBundle given, the Secret ``shipway-webhook-tls`` made by hand); the
sandbox passes a URL and a caBundle of its own.
"""

from __future__ import annotations

import base64
from typing import Any

from shipway.core import names
from shipway.core.manifests.rbac import OPERATOR, SYSTEM_NAMESPACE, service_account_user

WEBHOOK_PATH = "/admission/v1/validate"
WEBHOOK_NAME = "shipway"
WEBHOOK_CERTIFICATE = "shipway-webhook"
WEBHOOK_TLS_SECRET = "shipway-webhook-tls"
ADMISSION = "admissionregistration.k8s.io"
FENCE = "shipway-operator-fence"
WEBHOOK_PORT = 8443  # the API's webhook listener, and the port of the Service shipway-api that leads to it


def webhook_configuration(*, url: str | None = None, ca_bundle: bytes | None = None, cert_manager: bool = True
                          ) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration: by ``url`` and ``ca_bundle`` (PEM), or the in-cluster Service (its
    caBundle injected by cert-manager, or ``ca_bundle``)."""
    client: dict[str, Any]
    if url is not None:
        client = {"url": url}
    else:
        client = {"service": {"namespace": SYSTEM_NAMESPACE, "name": "shipway-api", "path": WEBHOOK_PATH,
                              "port": WEBHOOK_PORT}}
    if ca_bundle is not None:
        client["caBundle"] = base64.b64encode(ca_bundle).decode()
    meta: dict[str, Any] = {"name": WEBHOOK_NAME, "labels": {names.PART_OF_LABEL: names.MANAGED_BY}}
    if url is None and cert_manager:
        meta["annotations"] = {"cert-manager.io/inject-ca-from": f"{SYSTEM_NAMESPACE}/{WEBHOOK_CERTIFICATE}"}
    return {
        "apiVersion": f"{ADMISSION}/v1", "kind": "ValidatingWebhookConfiguration", "metadata": meta,
        "webhooks": [{
            "name": f"validate.{names.GROUP}",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 10,
            "matchPolicy": "Equivalent",
            "clientConfig": client,
            "rules": [{"apiGroups": [names.GROUP], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["pipelines", "platforms"], "scope": "Cluster"}],
        }],
    }


def webhook_certificate() -> list[dict[str, Any]]:
    """cert-manager objects for the webhook's serving certificate (a self-signed issuer of its own)."""
    service = f"shipway-api.{SYSTEM_NAMESPACE}.svc"
    return [
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
         "metadata": {"name": "shipway-selfsigned", "namespace": SYSTEM_NAMESPACE}, "spec": {"selfSigned": {}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
         "metadata": {"name": WEBHOOK_CERTIFICATE, "namespace": SYSTEM_NAMESPACE},
         "spec": {"secretName": WEBHOOK_TLS_SECRET, "dnsNames": [service, f"{service}.cluster.local"],
                  "duration": "2160h", "renewBefore": "360h",
                  "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                  "issuerRef": {"kind": "Issuer", "name": "shipway-selfsigned"}}},
    ]


def _labelled(var: str) -> str:
    return (f"has({var}.metadata.labels) && '{names.MANAGED_BY_LABEL}' in {var}.metadata.labels && "
            f"{var}.metadata.labels['{names.MANAGED_BY_LABEL}'] == '{names.MANAGED_BY}'")


def _released(var: str) -> str:
    return (f"has({var}.metadata.labels) && '{names.RELEASED_LABEL}' in {var}.metadata.labels && "
            f"!('{names.MANAGED_BY_LABEL}' in {var}.metadata.labels)")


def operator_fence() -> list[dict[str, Any]]:
    """The operator's ServiceAccount may change only what Shipway labelled (before the change; after it, still
    labelled or released to ``shipway.dev/released-from``), plus the ``default`` ServiceAccounts it appends
    its pull secret to."""
    writes = ["CREATE", "UPDATE", "DELETE"]
    rules = [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": writes,
         "resources": ["secrets", "serviceaccounts", "namespaces"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "apiVersions": ["v1"], "operations": writes,
         "resources": ["roles", "rolebindings"]},
    ]
    default_account = ("request.resource.resource == 'serviceaccounts' && "
                       "(request.operation == 'DELETE' ? oldObject : object).metadata.name == 'default' && "
                       "request.operation != 'DELETE'")
    # An update is between Shipway's states: labelled, or released by reclaim policy Retain (the namespace
    # keeps only shipway.dev/released-from, so that the same pipeline may take it back).
    labelled = (f"request.operation == 'CREATE' ? ({_labelled('object')}) : "
                f"request.operation == 'DELETE' ? ({_labelled('oldObject')}) : "
                f"((({_labelled('oldObject')}) || ({_released('oldObject')})) && "
                f"(({_labelled('object')}) || ({_released('object')})))")
    return [
        {"apiVersion": f"{ADMISSION}/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": FENCE, "labels": {names.PART_OF_LABEL: names.MANAGED_BY}},
         "spec": {
             "failurePolicy": "Fail",
             "matchConstraints": {"resourceRules": rules},
             "matchConditions": [{"name": "operator-only",
                                  "expression": f"request.userInfo.username == '{service_account_user(OPERATOR)}'"}],
             "validations": [{
                 "expression": f"({default_account}) || ({labelled})",
                 "message": f"the Shipway operator may only change objects labelled {names.MANAGED_BY_LABEL}="
                            f"{names.MANAGED_BY} (and append to default ServiceAccounts)",
                 "reason": "Forbidden",
             }],
         }},
        {"apiVersion": f"{ADMISSION}/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": FENCE, "labels": {names.PART_OF_LABEL: names.MANAGED_BY}},
         "spec": {"policyName": FENCE, "validationActions": ["Deny"]}},
    ]
