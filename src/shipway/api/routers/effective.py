"""``/api/v1/pipelines/{name}/effective``, ``.../phases/{phase}/explain`` and ``.../verify``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shipway.adapters.kube.reviews import Access
from shipway.api import effective as service
from shipway.api.deps import Caller, PipelineName, State
from shipway.api.schemas import ERROR_RESPONSES, ExplainOut, VerifyIn, VerifyOut
from shipway.core import names
from shipway.core.resources import PhaseName

router = APIRouter(prefix="/api/v1/pipelines/{name}", tags=["effective"], responses=ERROR_RESPONSES)


def _get(name: PipelineName) -> Access:
    return Access(verb="get", resource="pipelines", group=names.GROUP, name=name)


@router.get("/effective")
async def effective(name: PipelineName, state: State, user: Caller) -> dict[str, Any]:
    """Per phase: which entry serves which registry key, from which layer and source, with fingerprints."""
    await state.access.require(user, _get(name))
    async with state.fairness.reads.hold(user.username):
        return await service.effective_view(state, name)


@router.get("/phases/{phase}/explain", response_model=ExplainOut)
async def explain(name: PipelineName, phase: PhaseName, image: Annotated[str, Query(min_length=1, max_length=512)],
                  state: State, user: Caller) -> ExplainOut:
    """Which credentials the kubelet will try for IMAGE in this phase, in order, and why."""
    await state.access.require(user, _get(name))
    async with state.fairness.reads.hold(user.username):
        return await service.explain(state, name, phase=phase.value, image=image)


@router.post("/verify", response_model=VerifyOut)
async def verify(name: PipelineName, body: VerifyIn, state: State, user: Caller) -> VerifyOut:
    """Check a stored credential against its registry now: valid, may pull, may push."""
    await state.access.require(user, _get(name))
    async with state.fairness.reads.hold(user.username), state.fairness.verifies.hold(name):
        return await service.verify(state, name, body)
