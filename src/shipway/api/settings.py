"""Settings of the API server. Unsafe choices are refused, not defaulted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shipway.core import names


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system_namespace: str = names.SYSTEM_NAMESPACE
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    token_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    registry_timeout: float = Field(default=10.0, gt=0, le=120)
    ca_file: str | None = None
    reads_per_caller: int = Field(default=4, ge=1, le=64)  # effective/explain/verify in flight per caller
    verifies_per_minute: float = Field(default=30.0, gt=0, le=600)  # registry checks per pipeline
    verify_burst: int = Field(default=10, ge=1, le=60)
    # Managed Secrets unreferenced for this long are a crash's leftovers; repaired at start-up.
    repair_grace_seconds: float = Field(default=300.0, ge=0, le=86400)
