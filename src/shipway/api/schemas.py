"""Request and response bodies. Separate shapes for create, update and output: a stored object is never
returned as it is, and no output model has a field that could carry a secret value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

from shipway.core.errors import RegistryHostError
from shipway.core.registry_keys import validate_key
from shipway.core.resources import PhaseName, PushTarget, ReclaimPolicy, SecretRef, Usage
from shipway.core.validation import DNSLabel


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _registry_key(value: str) -> str:
    try:
        validate_key(value, field="registry")
    except RegistryHostError as error:
        raise ValueError(error.message) from None
    return value


def _unique_usage(value: list[Usage]) -> list[Usage]:
    if len(set(value)) != len(value):
        raise ValueError("usage lists a value twice")
    return value


def _unique_phases(value: list[PhaseIn]) -> list[PhaseIn]:
    seen: set[str] = set()
    for index, phase in enumerate(value):
        if phase.name in seen:
            raise ValueError(f"phases[{index}].name: phase {phase.name.value!r} is listed twice")
        seen.add(phase.name)
    return value


class PhaseIn(Body):
    name: PhaseName
    namespace: DNSLabel | None = None
    enabled: bool = True


class PipelineCreate(Body):
    name: DNSLabel = Field(max_length=52)
    phases: list[PhaseIn] = Field(min_length=1, max_length=4)
    inherit: bool = True
    push: PushTarget | None = None
    reclaim_policy: ReclaimPolicy | None = Field(default=None, description="Retain or Delete; unset: the "
                                                                          "Platform's default")

    _phases = field_validator("phases")(_unique_phases)


class PipelineUpdate(Body):
    phases: list[PhaseIn] = Field(min_length=1, max_length=4)
    inherit: bool = True
    push: PushTarget | None = None
    reclaim_policy: ReclaimPolicy | None = Field(default=None, description="Retain or Delete; unset: the "
                                                                          "Platform's default")

    _phases = field_validator("phases")(_unique_phases)


class CredentialRefOut(Body):
    secret_ref: SecretRef
    usage: list[Usage]
    managed: bool
    registry: str | None = None


class PhaseOut(Body):
    name: PhaseName
    namespace: str
    enabled: bool
    credentials: list[CredentialRefOut]


class ConditionOut(Body):
    type: str
    status: str
    reason: str
    message: str = ""


class PipelineOut(Body):
    name: str
    phases: list[PhaseOut]
    inherit: bool
    push: PushTarget | None
    credentials: list[CredentialRefOut]
    conditions: list[ConditionOut]
    generation: int | None = None
    reclaim_policy: ReclaimPolicy | None = None  # as set; status.reclaimPolicy says the one in force


class PlatformOut(Body):
    system_namespace: str
    credentials: list[CredentialRefOut]
    push: PushTarget | None
    insecure_registries: list[str]
    allowed_registries: list[str] | None


class PushTargetIn(Body):
    push: PushTarget | None


class CredentialSet(Body):
    """A credential by value: ``username`` and ``password``, or a docker config holding the registry."""

    registry: str = Field(min_length=1, max_length=300)
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = Field(default=None, max_length=8192)
    dockerconfig: SecretStr | None = Field(default=None, max_length=64 * 1024)
    usage: list[Usage] = Field(default_factory=lambda: [Usage.PULL], min_length=1, max_length=2)

    _check_registry = field_validator("registry")(_registry_key)
    _usage = field_validator("usage")(_unique_usage)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or any(ord(c) < 32 for c in value)):
            raise ValueError("a user name may not contain ':' or control characters")
        return value


class CredentialReference(Body):
    """Use an existing Secret (bring your own, e.g. one External Secrets maintains)."""

    secret_ref: SecretRef
    usage: list[Usage] = Field(default_factory=lambda: [Usage.PULL], min_length=1, max_length=2)

    _usage = field_validator("usage")(_unique_usage)


class CredentialChange(Body):
    """What a credential change did, for the caller and the audit trail: fingerprints, never values."""

    layer: Literal["platform", "pipeline", "phase"]
    pipeline: str | None
    phase: str | None
    secret_ref: SecretRef
    registry: str | None
    old_fingerprint: str | None
    new_fingerprint: str | None


class VerifyIn(Body):
    registry: str = Field(min_length=1, max_length=300)
    phase: PhaseName | None = None
    repository: str | None = Field(default=None, max_length=255)
    check_push: bool = False

    _check_registry = field_validator("registry")(_registry_key)


class ExplainTry(Body):
    order: int
    key: str
    registry: str
    layer: str
    secret_ref: SecretRef
    fingerprint: str
    reason: str


class ExplainOut(Body):
    pipeline: str
    phase: str
    image: str
    normalized: str
    tries: list[ExplainTry]
    note: str


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


Outcome = Literal["Verified", "Unauthorized", "Unreachable"]


class CheckOut(Body):
    """One check's result, coarse on purpose: what the registry said about the credential, never why a
    connection failed (verify is no port scanner)."""

    ok: bool
    outcome: Outcome


class VerifyOut(Body):
    """A registry check of a stored credential: outcomes and reasons, never the credential."""

    pipeline: str
    phase: str
    registry: str
    repository: str | None
    source: Literal["platform", "pipeline", "phase"]
    secret_ref: SecretRef
    fingerprint: str
    outcome: Outcome
    valid: CheckOut
    can_pull: CheckOut | None
    can_push: CheckOut | None
    checked_at: str


class ErrorDetail(Body):
    type: str
    message: str
    field: str | None = None


class ErrorOut(Body):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description} for status, description in (
        (401, "no bearer token, or one the Kubernetes API server does not accept"),
        (403, "Kubernetes RBAC, or a missing consent annotation, says no"),
        (404, "no such object"),
        (409, "a concurrent change, or the object exists already"),
        (413, "the request body is too large"),
        (422, "invalid input; `field` names what is wrong"),
    )
}
