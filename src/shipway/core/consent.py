"""Consent: which Secrets a pipeline may use as credential sources, whoever wrote the reference.

A Secret inside one of the pipeline's own phase namespaces, or in the platform's system namespace (the
platform layer, set by admins), is usable. A Secret anywhere else is usable only when it carries the
annotation ``shipway.dev/allowed-pipelines`` listing the pipeline (comma-separated, ``*`` for any). The API
checks this before writing a reference; the operator checks it again, since ``kubectl`` bypasses the API.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from shipway.core import names
from shipway.core.layers import SourceProblem
from shipway.core.names import Reason
from shipway.core.resources import SecretRef


def allowed_pipelines(annotations: Mapping[str, str]) -> frozenset[str]:
    raw = annotations.get(names.CONSENT_ANNOTATION, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def consent_problem(
    ref: SecretRef, *, annotations: Mapping[str, str], pipeline: str, own_namespaces: Collection[str],
    system_namespace: str,
) -> SourceProblem | None:
    """None when ``pipeline`` may use the Secret ``ref``; otherwise why not."""
    if ref.namespace in own_namespaces or ref.namespace == system_namespace:
        return None
    allowed = allowed_pipelines(annotations)
    if pipeline in allowed or "*" in allowed:
        return None
    return SourceProblem(
        Reason.CONSENT_MISSING,
        f"Secret {ref} is outside the pipeline's namespaces and its annotation "
        f"{names.CONSENT_ANNOTATION} does not name pipeline {pipeline!r}",
    )
