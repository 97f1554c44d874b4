"""Pure edits of credential layers, and the Secrets the API manages for credentials set by value.

A credential set through the API from a username and password is stored in ONE Shipway-managed Secret
per (layer, registry) in the platform's system namespace, labelled as a credential source, owned by the
Pipeline (so it goes with it), and referenced from the layer like any other Secret. The value never enters
a custom resource.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from shipway.core import names
from shipway.core.dockerconfig import AuthEntry, render_dockerconfigjson
from shipway.core.layers import Layer
from shipway.core.resources import CredentialRef, SecretRef

API_MANAGER = "shipway-api"
REGISTRY_ANNOTATION = f"{names.GROUP}/registry"
LAYER_ANNOTATION = f"{names.GROUP}/layer"


def with_credential(credentials: list[CredentialRef], credential: CredentialRef) -> list[CredentialRef]:
    """The layer with ``credential`` added, or replacing the one with the same Secret (order kept)."""
    out = [c for c in credentials if c.secret_ref != credential.secret_ref]
    index = next((i for i, c in enumerate(credentials) if c.secret_ref == credential.secret_ref), len(out))
    out.insert(index, credential)
    return out


def without_credential(credentials: list[CredentialRef], ref: SecretRef) -> list[CredentialRef]:
    return [c for c in credentials if c.secret_ref != ref]


def managed_secret_name(*, layer: Layer, registry: str, pipeline: str | None, phase: str | None) -> str:
    digest = hashlib.sha256(registry.encode("utf-8")).hexdigest()[:10]
    parts = ["shipway", layer.value, *(p for p in (pipeline, phase) if p), digest]
    return "-".join(parts)[:253]


def is_managed_name(name: str) -> bool:
    """Whether ``name`` is one :func:`managed_secret_name` makes."""
    return name.startswith(tuple(f"shipway-{layer.value}-" for layer in Layer))


def is_managed(secret: dict[str, Any]) -> bool:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return labels.get(names.MANAGED_BY_LABEL) == API_MANAGER


def managed_secret(*, ref: SecretRef, entry: AuthEntry, layer: Layer, pipeline: str | None,
                   owner: dict[str, Any] | None) -> dict[str, Any]:
    """The Secret holding one credential set by value; ``owner`` is the Pipeline's ownerReference, if any."""
    labels = {names.CREDENTIAL_LABEL: "true", names.MANAGED_BY_LABEL: API_MANAGER}
    if pipeline:
        labels[names.PIPELINE_LABEL] = pipeline
    meta: dict[str, Any] = {
        "name": ref.name, "namespace": ref.namespace, "labels": labels,
        "annotations": {REGISTRY_ANNOTATION: entry.registry.text, LAYER_ANNOTATION: layer.value},
    }
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": meta,
        "data": {".dockerconfigjson": base64.b64encode(render_dockerconfigjson([entry])).decode("ascii")},
    }
