"""``/api/v1/platform``: the platform layer (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import Access
from shipway.api import repository
from shipway.api.deps import Caller, State
from shipway.api.policy import raise_refusals
from shipway.api.routers.views import platform_out
from shipway.api.schemas import ERROR_RESPONSES, PlatformOut, PushTargetIn
from shipway.core import names
from shipway.core.documents import stored_model
from shipway.core.errors import NotFound
from shipway.core.isolation import registry_refusal
from shipway.core.resources import Platform

router = APIRouter(prefix="/api/v1/platform", tags=["platform"], responses=ERROR_RESPONSES)


def _access(verb: str) -> Access:
    return Access(verb=verb, resource="platforms", group=names.GROUP, name=names.PLATFORM_NAME)


@router.get("", response_model=PlatformOut)
async def get_platform(state: State, user: Caller) -> PlatformOut:
    await state.access.require(user, _access("get"))
    platform, _ = await repository.get_platform(state.kube)
    if platform is None:
        raise NotFound("the Platform 'default' does not exist")
    return platform_out(platform)


@router.put("/push", response_model=PlatformOut)
async def set_push_target(body: PushTargetIn, state: State, user: Caller) -> PlatformOut:
    await state.access.require(user, _access("update"))
    if body.push is not None:
        platform, _ = await repository.get_platform(state.kube)
        refusal = registry_refusal(body.push.registry, platform=platform.spec if platform else None,
                                   field="push.registry")
        raise_refusals([refusal] if refusal else [])

    async def change(current: dict[str, Any]) -> dict[str, Any]:
        spec = dict(current.get("spec") or {})
        spec["registry"] = {**(spec.get("registry") or {}),
                            "push": body.push.model_dump(mode="json", by_alias=True) if body.push else None}
        return spec

    updated = await repository.update_spec(state.kube, kinds.PLATFORM, names.PLATFORM_NAME, change)
    return platform_out(stored_model(Platform, updated, where="Platform default"))
