"""Credentials per layer: ``/api/v1/platform/credentials``, ``/api/v1/pipelines/{name}/credentials`` and
``/api/v1/pipelines/{name}/phases/{phase}/credentials``. Values are write-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shipway.api import credentials as service
from shipway.api.credentials import LayerAddress
from shipway.api.deps import Caller, PipelineName, State
from shipway.api.schemas import ERROR_RESPONSES, CredentialChange, CredentialReference, CredentialSet
from shipway.core.documents import validate_model
from shipway.core.layers import Layer
from shipway.core.resources import PhaseName, SecretRef
from shipway.core.validation import DNSLabel, DNSSubdomain

router = APIRouter(prefix="/api/v1", tags=["credentials"], responses=ERROR_RESPONSES)

RegistryQuery = Annotated[str | None, Query(max_length=300, description="the registry key of a managed credential")]
NamespaceQuery = Annotated[DNSLabel | None, Query(alias="secretNamespace")]
NameQuery = Annotated[DNSSubdomain | None, Query(alias="secretName")]


def _ref(namespace: str | None, name: str | None) -> SecretRef | None:
    if namespace is None and name is None:
        return None
    return validate_model(SecretRef, {"namespace": namespace, "name": name}, where="query")


@router.put("/platform/credentials", response_model=CredentialChange)
async def set_platform_credential(body: CredentialSet, state: State, user: Caller) -> CredentialChange:
    return await service.set_credential(state, user, LayerAddress(Layer.PLATFORM), body)


@router.post("/platform/credentials/references", response_model=CredentialChange)
async def reference_platform_secret(body: CredentialReference, state: State, user: Caller) -> CredentialChange:
    return await service.use_secret(state, user, LayerAddress(Layer.PLATFORM), body)


@router.delete("/platform/credentials", response_model=CredentialChange)
async def remove_platform_credential(state: State, user: Caller, registry: RegistryQuery = None,
                                     secret_namespace: NamespaceQuery = None, secret_name: NameQuery = None
                                     ) -> CredentialChange:
    return await service.remove_credential(state, user, LayerAddress(Layer.PLATFORM), registry=registry,
                                           secret_ref=_ref(secret_namespace, secret_name))


@router.put("/pipelines/{name}/credentials", response_model=CredentialChange)
async def set_pipeline_credential(name: PipelineName, body: CredentialSet, state: State, user: Caller
                                  ) -> CredentialChange:
    return await service.set_credential(state, user, LayerAddress(Layer.PIPELINE, name), body)


@router.post("/pipelines/{name}/credentials/references", response_model=CredentialChange)
async def reference_pipeline_secret(name: PipelineName, body: CredentialReference, state: State, user: Caller
                                    ) -> CredentialChange:
    return await service.use_secret(state, user, LayerAddress(Layer.PIPELINE, name), body)


@router.delete("/pipelines/{name}/credentials", response_model=CredentialChange)
async def remove_pipeline_credential(name: PipelineName, state: State, user: Caller, registry: RegistryQuery = None,
                                     secret_namespace: NamespaceQuery = None, secret_name: NameQuery = None
                                     ) -> CredentialChange:
    return await service.remove_credential(state, user, LayerAddress(Layer.PIPELINE, name), registry=registry,
                                           secret_ref=_ref(secret_namespace, secret_name))


@router.put("/pipelines/{name}/phases/{phase}/credentials", response_model=CredentialChange)
async def set_phase_credential(name: PipelineName, phase: PhaseName, body: CredentialSet, state: State, user: Caller
                               ) -> CredentialChange:
    return await service.set_credential(state, user, LayerAddress(Layer.PHASE, name, phase.value), body)


@router.post("/pipelines/{name}/phases/{phase}/credentials/references", response_model=CredentialChange)
async def reference_phase_secret(name: PipelineName, phase: PhaseName, body: CredentialReference, state: State,
                                 user: Caller) -> CredentialChange:
    return await service.use_secret(state, user, LayerAddress(Layer.PHASE, name, phase.value), body)


@router.delete("/pipelines/{name}/phases/{phase}/credentials", response_model=CredentialChange)
async def remove_phase_credential(name: PipelineName, phase: PhaseName, state: State, user: Caller,
                                  registry: RegistryQuery = None, secret_namespace: NamespaceQuery = None,
                                  secret_name: NameQuery = None) -> CredentialChange:
    return await service.remove_credential(state, user, LayerAddress(Layer.PHASE, name, phase.value),
                                           registry=registry, secret_ref=_ref(secret_namespace, secret_name))
