"""The console's pages that only read: the pipelines list, a pipeline's layer picture, its credentials (with
the forms that change them), its settings, explain, and its activity. Each reads through
:mod:`shipway.api.console.reading`, which asks exactly what the REST route asks.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from shipway.api.console import guards, reading
from shipway.api.console.changing import PHASE_NAMES
from shipway.api.console.handling import Context, problem, run
from shipway.api.console.pictures import LAYERS, delivery_of, picture_of, summary_of
from shipway.core.errors import ShipwayError

router = APIRouter(prefix=guards.PREFIX, include_in_schema=False)
TABS = (("", "Layers"), ("/credentials", "Credentials"), ("/settings", "Settings"), ("/explain", "Explain"),
        ("/activity", "Activity"))


def tabs(name: str) -> list[tuple[str, str]]:
    return [(f"{guards.PREFIX}/pipelines/{name}{suffix}", label) for suffix, label in TABS]


@router.get("/")
async def pipelines_page(request: Request) -> Response:
    async def handler(ctx: Context) -> Response:
        bodies = await reading.visible_pipelines(ctx.state, ctx.user)
        return ctx.page("pipelines.html", title="Pipelines", pipelines=[summary_of(b) for b in bodies],
                        platform_link=await reading.may_read_platform(ctx.state, ctx.user))

    return await run(request, handler)


async def pipeline_context(ctx: Context, name: str) -> dict[str, Any]:
    """What every page of one pipeline shows at the top (and the check that the caller may get it)."""
    out, body = await reading.pipeline(ctx.state, ctx.user, reading.checked_name(name))
    return {"name": out.name, "pipeline": out, "summary": summary_of(body), "tabs": tabs(out.name),
            "delivery": delivery_of(body),
            "phase_names": [p.name.value for p in out.phases]}


@router.get("/pipelines/{name}")
async def layers_page(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        view = await reading.effective_view(ctx.state, ctx.user, top["name"])
        pictures = [picture_of(phase) for phase in view["phases"]]
        return ctx.page("layers.html", title=f"{top['name']}: layers", layers=LAYERS, pictures=pictures, **top)

    return await run(request, handler)


def credential_forms(top: dict[str, Any], **sticky: Any) -> dict[str, Any]:
    """The credentials page's forms; ``sticky`` refills them after a refusal (never a password)."""
    layers = [("pipeline", "Pipeline (every phase)")] + [(f"phase:{p}", f"Phase {p} only")
                                                         for p in top["phase_names"]]
    values = {"layer": "pipeline", "registry": "", "username": "", "usage": ["pull"], "secretNamespace": "",
              "secretName": "", "form": "", **sticky}
    return {**top, "layer_choices": layers, "values": values, "base": f"{guards.PREFIX}/pipelines/{top['name']}"}


@router.get("/pipelines/{name}/credentials")
async def credentials_page(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        return ctx.page("credentials.html", title=f"{top['name']}: credentials", problem=None,
                        **credential_forms(top))

    return await run(request, handler)


def settings_values(top: dict[str, Any]) -> dict[str, Any]:
    pipeline = top["pipeline"]
    states = {p.name.value: ("enabled" if p.enabled else "disabled") for p in pipeline.phases}
    policy = top["summary"].reclaim_policy
    return {"phases": {n: states.get(n, "absent") for n in PHASE_NAMES}, "inherit": pipeline.inherit,
            "reclaimPolicy": policy if policy in ("Retain", "Delete") else "default"}


@router.get("/pipelines/{name}/settings")
async def settings_page(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        return ctx.page("settings.html", title=f"{top['name']}: settings", problem=None,
                        values=settings_values(top), all_phases=PHASE_NAMES, **top)

    return await run(request, handler)


@router.get("/pipelines/{name}/explain")
async def explain_page(request: Request, name: str, image: str | None = None, phase: str | None = None) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        chosen = phase or (top["phase_names"][0] if top["phase_names"] else "")
        result = None
        if image:
            result = await reading.explain(ctx.state, ctx.user, top["name"], phase=chosen, image=image.strip())
        return ctx.page("explain.html", title=f"{top['name']}: explain", image=image or "", phase=chosen,
                        result=result, problem=None, **top)

    async def refused(ctx: Context, error: ShipwayError) -> Response:
        top = await pipeline_context(ctx, name)
        shown = problem(error)
        return ctx.page("explain.html", status_code=shown["status"], title=f"{top['name']}: explain",
                        image=image or "", phase=phase or "", result=None, problem=shown, **top)

    return await run(request, handler, on_error=refused)


@router.get("/pipelines/{name}/activity")
async def activity_page(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        events, unavailable = await reading.events(ctx.state, ctx.user, top["name"])
        return ctx.page("activity.html", title=f"{top['name']}: activity", events=events,
                        events_unavailable=unavailable, audit=ctx.console.audit.recent(top["name"]), **top)

    return await run(request, handler)
