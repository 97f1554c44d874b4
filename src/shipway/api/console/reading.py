"""What the console reads, each asked exactly as the REST route that answers the same question asks it: the
caller's rights first (a SubjectAccessReview through the API's access control), then the API's own services.
The console has no rights of its own; what the API's ServiceAccount reads is shown only to a caller who may
get the pipeline (as the effective view is).
"""

from __future__ import annotations

from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.events import CLUSTER_SCOPED_EVENTS_NAMESPACE, EVENT_V1
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api import effective, repository
from shipway.api.routers.views import pipeline_out
from shipway.api.schemas import ExplainOut, PipelineOut, VerifyIn, VerifyOut
from shipway.api.state import AppState
from shipway.core import names
from shipway.core.errors import Forbidden, InvalidInput, ShipwayError
from shipway.core.validation import dns_label

MAX_EVENTS = 50


def pipeline_access(verb: str, name: str | None = None) -> Access:
    return Access(verb=verb, resource="pipelines", group=names.GROUP, name=name)


def platform_access(verb: str) -> Access:
    return Access(verb=verb, resource="platforms", group=names.GROUP, name=names.PLATFORM_NAME)


async def may_read_platform(state: AppState, user: UserInfo) -> bool:
    return await state.access.allowed(user, platform_access("get"))


def checked_name(name: str) -> str:
    """A pipeline name from a URL, refused as the REST API's path parameter is (a DNS label)."""
    try:
        return dns_label(name)
    except ValueError as error:
        raise InvalidInput(str(error), field="name") from None


async def visible_pipelines(state: AppState, user: UserInfo) -> list[dict[str, Any]]:
    """The stored Pipelines the caller may see: all of them with ``list``, otherwise those it may ``get``
    (``GET /api/v1/pipelines``)."""
    everything = await state.access.allowed(user, pipeline_access("list"))
    out = []
    for body in await state.kube.list(kinds.PIPELINE):
        name = body["metadata"]["name"]
        if everything or await state.access.allowed(user, pipeline_access("get", name)):
            out.append(body)
    return sorted(out, key=lambda b: str(b["metadata"]["name"]))


async def pipeline(state: AppState, user: UserInfo, name: str) -> tuple[PipelineOut, dict[str, Any]]:
    """``GET /api/v1/pipelines/{name}``, with the stored body beside it (for status times)."""
    await state.access.require(user, pipeline_access("get", name))
    model, body = await repository.get_pipeline(state.kube, name)
    return pipeline_out(model, body), body


async def effective_view(state: AppState, user: UserInfo, name: str) -> dict[str, Any]:
    """``GET /api/v1/pipelines/{name}/effective``."""
    await state.access.require(user, pipeline_access("get", name))
    async with state.fairness.reads.hold(user.username):
        return await effective.effective_view(state, name)


async def explain(state: AppState, user: UserInfo, name: str, *, phase: str, image: str) -> ExplainOut:
    """``GET /api/v1/pipelines/{name}/phases/{phase}/explain?image=``."""
    await state.access.require(user, pipeline_access("get", name))
    if len(image) > 512:
        raise InvalidInput("String should have at most 512 characters", field="image")
    async with state.fairness.reads.hold(user.username):
        return await effective.explain(state, name, phase=phase, image=image)


async def verify(state: AppState, user: UserInfo, name: str, body: VerifyIn) -> VerifyOut:
    """``POST /api/v1/pipelines/{name}/verify``."""
    await state.access.require(user, pipeline_access("get", name))
    async with state.fairness.reads.hold(user.username), state.fairness.verifies.hold(name):
        return await effective.verify(state, name, body)


def _regards(event: dict[str, Any], pipeline: dict[str, Any]) -> bool:
    regarding = event.get("regarding") or {}
    meta = pipeline["metadata"]
    return (regarding.get("kind") == "Pipeline" and regarding.get("name") == meta["name"]
            and regarding.get("uid") in (None, "", meta.get("uid")))


def _event_time(event: dict[str, Any]) -> str:
    series = event.get("series") or {}
    return str(series.get("lastObservedTime") or event.get("eventTime") or event.get("deprecatedLastTimestamp")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")


def event_view(event: dict[str, Any]) -> dict[str, str]:
    series = event.get("series") or {}
    return {"at": _event_time(event), "type": str(event.get("type", "")), "reason": str(event.get("reason", "")),
            "note": str(event.get("note", ""))[:1024], "count": str(series.get("count") or ""),
            "by": str(event.get("reportingController") or (event.get("deprecatedSource") or {}).get("component")
                      or "")}


async def events(state: AppState, user: UserInfo, name: str) -> tuple[list[dict[str, str]], str | None]:
    """The Pipeline's Events (events.k8s.io/v1 in ``default``, regarding it), newest first, read with the
    API's client for a caller who may get the pipeline; (events, why they could not be read)."""
    _, body = await pipeline(state, user, name)
    try:
        found = await state.kube.list(EVENT_V1, namespace=CLUSTER_SCOPED_EVENTS_NAMESPACE)
    except Forbidden:
        return [], ("the API's ServiceAccount may not list Events in namespace "
                    f"{CLUSTER_SCOPED_EVENTS_NAMESPACE} (RBAC)")
    except ShipwayError as error:
        return [], f"the Events could not be read ({type(error).__name__})"
    mine = sorted((e for e in found if _regards(e, body)), key=_event_time, reverse=True)
    return [event_view(e) for e in mine[:MAX_EVENTS]], None
