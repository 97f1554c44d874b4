"""The platform layer in the console, for whoever RBAC lets read it (``GET /api/v1/platform``: ``get`` on
the Platform) and change it (the credential services ask ``update`` on it): its credentials, push target,
registry policy and their verification, and the same set / reference / remove forms as a pipeline's, with the
same confirmation before a removal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shipway.api import repository
from shipway.api.console import changing, guards
from shipway.api.console.editing import changed, sticky
from shipway.api.console.forms import Form
from shipway.api.console.handling import Context, problem, run
from shipway.api.console.pictures import verified_summary
from shipway.api.console.reading import platform_access
from shipway.api.routers.views import platform_out
from shipway.core.errors import NotFound, ShipwayError

router = APIRouter(prefix=guards.PREFIX, include_in_schema=False)
BASE = f"{guards.PREFIX}/platform"


async def platform_context(ctx: Context, **sticky_values: Any) -> dict[str, Any]:
    """``GET /api/v1/platform``, with its verifications, and the forms' state."""
    await ctx.state.access.require(ctx.user, platform_access("get"))
    platform, body = await repository.get_platform(ctx.state.kube)
    if platform is None or body is None:
        raise NotFound("the Platform 'default' does not exist")
    checks = list((body.get("status") or {}).get("verifications") or [])
    values = {"layer": "platform", "registry": "", "username": "", "usage": ["pull"], "secretNamespace": "",
              "secretName": "", "form": "", **sticky_values}
    return {"platform": platform_out(platform), "checks": checks, "verified": verified_summary(checks),
            "base": BASE, "layer_choices": [("platform", "Platform (every pipeline that inherits it)")],
            "values": values, "problem": None}


@router.get("/platform")
async def platform_page(request: Request) -> Response:
    async def handler(ctx: Context) -> Response:
        return ctx.page("platform.html", title="Platform layer", **await platform_context(ctx))

    return await run(request, handler)


def _post(form_name: str) -> tuple[Any, Any]:
    async def handler(ctx: Context) -> Response:
        address = changing.address_of(None, None)
        if form_name == "set":
            change = await changing.set_by_value(ctx.state, ctx.user, address, ctx.form)
        else:
            change = await changing.reference(ctx.state, ctx.user, address, ctx.form)
        return ctx.redirect(BASE, notice=f"Changed: {changed(change)}")

    async def refused(ctx: Context, error: ShipwayError) -> Response:
        shown = problem(error)
        context = {**await platform_context(ctx, **sticky(ctx, form_name)), "problem": shown}
        return ctx.page("platform.html", status_code=shown["status"], title="Platform layer", **context)

    return handler, refused


@router.post("/platform/credentials/set")
async def set_credential(request: Request) -> Response:
    handler, refused = _post("set")
    return await run(request, handler, post=True, on_error=refused)


@router.post("/platform/credentials/reference")
async def reference_secret(request: Request) -> Response:
    handler, refused = _post("reference")
    return await run(request, handler, post=True, on_error=refused)


@router.get("/platform/credentials/remove")
async def remove_page(request: Request, secret_namespace: Annotated[str, Query(alias="secretNamespace")] = "",
                      secret_name: Annotated[str, Query(alias="secretName")] = "") -> Response:
    async def handler(ctx: Context) -> Response:
        await platform_context(ctx)
        ref = changing.secret_ref_of(Form({"secretNamespace": [secret_namespace], "secretName": [secret_name]}))
        return ctx.page("confirm.html", title="Remove a platform credential?",
                        heading="Remove a platform credential?", action=f"{BASE}/credentials/remove",
                        button="Remove the credential", back=BASE,
                        fields={"secretNamespace": ref.namespace, "secretName": ref.name},
                        lines=[f"The platform layer stops using Secret {ref}: every pipeline that inherits it "
                               "loses that credential.",
                               "A credential set by value through Shipway is deleted with it; a referenced Secret "
                               "stays where it is."])

    return await run(request, handler)


@router.post("/platform/credentials/remove")
async def remove_credential(request: Request) -> Response:
    async def handler(ctx: Context) -> Response:
        ref = changing.secret_ref_of(ctx.form)
        if ctx.form.get("confirm") != "yes":
            return ctx.redirect(BASE)
        change = await changing.remove(ctx.state, ctx.user, changing.address_of(None, None), ref)
        return ctx.redirect(BASE, notice=f"Removed: {changed(change)}")

    return await run(request, handler, post=True)
