"""``/api/v1/pipelines``: list, get, create, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api import repository
from shipway.api.deps import Caller, PipelineName, State
from shipway.api.policy import Reviewer, pipeline_refusals, raise_refusals
from shipway.api.routers.views import pipeline_out
from shipway.api.schemas import ERROR_RESPONSES, PipelineCreate, PipelineOut, PipelineUpdate
from shipway.core import names
from shipway.core.documents import stored_model, validate_model
from shipway.core.resources import Pipeline, ReclaimPolicy

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], responses=ERROR_RESPONSES)


def _access(verb: str, name: PipelineName | None = None) -> Access:
    return Access(verb=verb, resource="pipelines", group=names.GROUP, name=name)


def _spec(phases: list[Any], inherit: bool, push: Any, reclaim: ReclaimPolicy | None,
          old: dict[str, Any] | None = None) -> dict[str, Any]:
    old = old or {}
    old_phases = {p.get("name"): p for p in old.get("phases") or []}
    spec_phases = []
    for phase in phases:
        item = phase.model_dump(mode="json", by_alias=True, exclude_none=True)
        kept = (old_phases.get(item["name"]) or {}).get("registry")
        if kept:
            item["registry"] = kept  # the phase layer is edited through the credentials endpoints only
        spec_phases.append(item)
    registry = {**(old.get("registry") or {}), "inherit": inherit,
                "push": push.model_dump(mode="json", by_alias=True) if push else None}
    # None clears it (a merge patch removes the field): the Platform's default applies again.
    return {"phases": spec_phases, "registry": registry, "reclaimPolicy": reclaim.value if reclaim else None}


async def _admit(state: State, user: UserInfo, pipeline: Pipeline, old: Pipeline | None) -> None:
    """The admission webhook's checks, with the caller as requester, before anything is written."""
    reviewer = Reviewer(kube=state.kube, access=state.access)
    raise_refusals(await pipeline_refusals(reviewer, requester=user, pipeline=pipeline, old=old),
                   field=lambda spec: spec.removeprefix("spec.").replace("registry.push.", "push.").replace(
                       "metadata.name", "name"))


@router.get("", response_model=list[PipelineOut])
async def list_pipelines(state: State, user: Caller) -> list[PipelineOut]:
    everything = await state.access.allowed(user, _access("list"))
    out = []
    for body in await state.kube.list(kinds.PIPELINE):
        name = body["metadata"]["name"]
        if not everything and not await state.access.allowed(user, _access("get", name)):
            continue
        model = stored_model(Pipeline, body, where=f"Pipeline {name}")
        out.append(pipeline_out(model, body))
    return out


@router.get("/{name}", response_model=PipelineOut)
async def get_pipeline(name: PipelineName, state: State, user: Caller) -> PipelineOut:
    await state.access.require(user, _access("get", name))
    model, body = await repository.get_pipeline(state.kube, name)
    return pipeline_out(model, body)


@router.post("", response_model=PipelineOut, status_code=status.HTTP_201_CREATED)
async def create_pipeline(body: PipelineCreate, state: State, user: Caller) -> PipelineOut:
    await state.access.require(user, _access("create"))
    document = {"apiVersion": names.API_VERSION, "kind": "Pipeline", "metadata": {"name": body.name},
                "spec": _spec(body.phases, body.inherit, body.push, body.reclaim_policy)}
    model = validate_model(Pipeline, document, where="body")
    await _admit(state, user, model, None)  # RBAC cannot restrict create by name: admission does
    created = await state.kube.create(kinds.PIPELINE, model.to_k8s())
    return pipeline_out(model, created)


@router.put("/{name}", response_model=PipelineOut)
async def update_pipeline(name: PipelineName, body: PipelineUpdate, state: State, user: Caller) -> PipelineOut:
    await state.access.require(user, _access("update", name))

    async def change(current: dict[str, Any]) -> dict[str, Any]:
        spec = _spec(body.phases, body.inherit, body.push, body.reclaim_policy, current.get("spec"))
        new = validate_model(Pipeline, {"metadata": current["metadata"], "spec": spec}, where="body")
        await _admit(state, user, new, stored_model(Pipeline, current, where=f"Pipeline {name}"))
        return spec

    updated = await repository.update_spec(state.kube, kinds.PIPELINE, name, change)
    model = stored_model(Pipeline, updated, where=f"Pipeline {name}")
    return pipeline_out(model, updated)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pipeline(name: PipelineName, state: State, user: Caller) -> Response:
    await state.access.require(user, _access("delete", name))
    await state.kube.get(kinds.PIPELINE, name)  # 404 when it does not exist
    await state.kube.delete(kinds.PIPELINE, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
