"""Gathering a pipeline's inputs from the cache: its spec, the platform, and every source Secret.

Nothing here reads the API: the cache holds the Shipway objects and the Secrets labelled
``shipway.dev/credential``. A referenced Secret that is absent from the cache either does not exist or
lacks that label; both are reported as ``SourceSecretMissing`` with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube.cache import Store
from shipway.core import names
from shipway.core.consent import consent_problem
from shipway.core.dockerconfig import DockerConfig
from shipway.core.documents import source_of_secret, stored_model
from shipway.core.errors import InvalidInput
from shipway.core.layers import SourceProblem, referenced_secrets
from shipway.core.names import Reason
from shipway.core.resources import Pipeline, Platform, PlatformSpec, SecretRef, phase_namespace


@dataclass(frozen=True, slots=True)
class PipelineInputs:
    pipeline: Pipeline
    body: dict[str, Any]
    platform: PlatformSpec | None
    sources: dict[SecretRef, DockerConfig | SourceProblem]


def platform_spec(store: Store) -> PlatformSpec | None:
    body = store.get("Platform", names.PLATFORM_NAME)
    if body is None:
        return None
    try:
        return stored_model(Platform, body, where="Platform default").spec
    except InvalidInput:
        return None


def _source(store: Store, ref: SecretRef, *, pipeline: Pipeline, system_namespace: str
            ) -> DockerConfig | SourceProblem:
    secret = store.get("Secret", ref.name, ref.namespace)
    if secret is None:
        return SourceProblem(
            Reason.SOURCE_SECRET_MISSING,
            f"Secret {ref} does not exist or lacks the label {names.CREDENTIAL_LABEL}",
        )
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(names.MANAGED_BY_LABEL) == names.MANAGED_BY:
        return SourceProblem(Reason.INVALID_DOCKER_CONFIG, f"Secret {ref} is written by Shipway, not a source")
    own = {phase_namespace(pipeline.metadata.name, phase) for phase in pipeline.spec.phases}
    refused = consent_problem(ref, annotations=meta.get("annotations") or {}, pipeline=pipeline.metadata.name,
                              own_namespaces=own, system_namespace=system_namespace)
    return refused or source_of_secret(secret, ref=ref)


def gather(store: Store, name: str) -> PipelineInputs | InvalidInput | None:
    """The inputs of pipeline ``name``; None when it is gone; InvalidInput when its spec is not valid."""
    body = store.get("Pipeline", name)
    if body is None:
        return None
    try:
        pipeline = stored_model(Pipeline, body, where=f"Pipeline {name}")
    except InvalidInput as error:
        return error
    platform = platform_spec(store)
    system_namespace = platform.system_namespace if platform else "shipway-system"
    refs = referenced_secrets(platform=platform, pipeline=pipeline.spec)
    sources = {ref: _source(store, ref, pipeline=pipeline, system_namespace=system_namespace) for ref in refs}
    return PipelineInputs(pipeline=pipeline, body=body, platform=platform, sources=sources)
