"""The console's form posts: set a credential by value, reference a Secret, remove one, change a pipeline's
settings, delete it, verify a credential now. Each is a POST that passed the Origin, session and CSRF checks
(:func:`shipway.api.console.handling.run`), calls the API's services as the signed-in user, and answers with a
redirect to a page showing what changed (fingerprints, never values), or the form again with the API's
message. Anything destructive (a removal, a phase removed or disabled, a deletion) is asked for first on a
confirmation page and done only when that page's form comes back with ``confirm=yes``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shipway.api.console import changing, guards, reading
from shipway.api.console.forms import Form, build
from shipway.api.console.handling import Context, problem, run
from shipway.api.console.viewing import credential_forms, pipeline_context, settings_values
from shipway.api.schemas import CredentialChange, VerifyIn
from shipway.core.errors import ShipwayError

router = APIRouter(prefix=guards.PREFIX, include_in_schema=False)


def changed(change: CredentialChange) -> str:
    where = change.layer + (f" {change.phase}" if change.phase else "")
    return (f"{where} layer: {change.registry or change.secret_ref}: "
            f"{change.old_fingerprint or 'none'} -> {change.new_fingerprint or 'none'}")


def sticky(ctx: Context, form_name: str) -> dict[str, Any]:
    """The non-secret fields of a refused credential form, to fill it in again."""
    f = ctx.form
    return {"form": form_name, "layer": f.get("layer") or "pipeline", "registry": f.text("registry") or "",
            "username": f.text("username") or "", "usage": f.all("usage") or ["pull"],
            "secretNamespace": f.text("secretNamespace") or "", "secretName": f.text("secretName") or ""}


def _credential_post(name: str, form_name: str) -> tuple[Any, Any]:
    async def handler(ctx: Context) -> Response:
        pipeline = reading.checked_name(name)
        address = changing.address_of(pipeline, ctx.form.get("layer"))
        if form_name == "set":
            change = await changing.set_by_value(ctx.state, ctx.user, address, ctx.form)
        else:
            change = await changing.reference(ctx.state, ctx.user, address, ctx.form)
        return ctx.redirect(f"{guards.PREFIX}/pipelines/{pipeline}", notice=f"Changed: {changed(change)}")

    async def refused(ctx: Context, error: ShipwayError) -> Response:
        top = await pipeline_context(ctx, name)
        shown = problem(error)
        return ctx.page("credentials.html", status_code=shown["status"], title=f"{top['name']}: credentials",
                        problem=shown, **credential_forms(top, **sticky(ctx, form_name)))

    return handler, refused


@router.post("/pipelines/{name}/credentials/set")
async def set_credential(request: Request, name: str) -> Response:
    handler, refused = _credential_post(name, "set")
    return await run(request, handler, post=True, on_error=refused)


@router.post("/pipelines/{name}/credentials/reference")
async def reference_secret(request: Request, name: str) -> Response:
    handler, refused = _credential_post(name, "reference")
    return await run(request, handler, post=True, on_error=refused)


def _confirm(ctx: Context, top: dict[str, Any], *, action: str, heading: str, lines: list[str], button: str,
             fields: dict[str, str]) -> Response:
    return ctx.page("confirm.html", title=heading, heading=heading, lines=lines, action=action, button=button,
                    fields=fields, back=f"{guards.PREFIX}/pipelines/{top['name']}", **top)


@router.get("/pipelines/{name}/credentials/remove")
async def remove_page(request: Request, name: str, layer: str = "pipeline",
                      secret_namespace: Annotated[str, Query(alias="secretNamespace")] = "",
                      secret_name: Annotated[str, Query(alias="secretName")] = "") -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        address = changing.address_of(top["name"], layer)
        ref = changing.secret_ref_of(Form({"secretNamespace": [secret_namespace], "secretName": [secret_name]}))
        where = address.layer.value + (f" {address.phase}" if address.phase else "")
        return _confirm(ctx, top, action=f"{guards.PREFIX}/pipelines/{top['name']}/credentials/remove",
                        heading="Remove a credential?", button="Remove the credential",
                        lines=[f"The {where} layer of {top['name']} stops using Secret {ref}.",
                               "A credential set by value through Shipway is deleted with it; a referenced Secret "
                               "stays where it is."],
                        fields={"layer": layer, "secretNamespace": ref.namespace, "secretName": ref.name})

    return await run(request, handler)


@router.post("/pipelines/{name}/credentials/remove")
async def remove_credential(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        pipeline = reading.checked_name(name)
        address = changing.address_of(pipeline, ctx.form.get("layer"))
        ref = changing.secret_ref_of(ctx.form)
        if ctx.form.get("confirm") != "yes":
            query = urlencode({"layer": ctx.form.get("layer") or "pipeline", "secretNamespace": ref.namespace,
                               "secretName": ref.name})
            return ctx.redirect(f"{guards.PREFIX}/pipelines/{pipeline}/credentials/remove?{query}")
        change = await changing.remove(ctx.state, ctx.user, address, ref)
        return ctx.redirect(f"{guards.PREFIX}/pipelines/{pipeline}", notice=f"Removed: {changed(change)}")

    return await run(request, handler, post=True)


@router.post("/pipelines/{name}/settings")
async def change_settings(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        settings = changing.settings_of(ctx.form)
        _, body = await reading.pipeline(ctx.state, ctx.user, top["name"])
        lost = changing.losses(body.get("spec") or {}, settings)
        if lost and ctx.form.get("confirm") != "yes":
            policy = settings.reclaim.value if settings.reclaim else top["summary"].reclaim_policy
            fields = {k: v for k, v in ((k, ctx.form.get(k) or "") for k in ctx.form.fields) if k != "csrf"}
            return _confirm(ctx, top, action=f"{guards.PREFIX}/pipelines/{top['name']}/settings",
                            heading="Remove or disable phases?", button="Apply the change", fields=fields,
                            lines=[f"Phases going: {', '.join(lost)}.",
                                   f"Reclaim policy: {policy} (Delete: the namespaces Shipway created for them are "
                                   "deleted; Retain: only Shipway's objects in them are removed)."])
        await changing.change_settings(ctx.state, ctx.user, top["name"], body.get("spec") or {}, settings)
        return ctx.redirect(f"{guards.PREFIX}/pipelines/{top['name']}/settings", notice="Settings saved")

    async def refused(ctx: Context, error: ShipwayError) -> Response:
        top = await pipeline_context(ctx, name)
        shown = problem(error)
        return ctx.page("settings.html", status_code=shown["status"], title=f"{top['name']}: settings",
                        problem=shown, values=settings_values(top), all_phases=changing.PHASE_NAMES, **top)

    return await run(request, handler, post=True, on_error=refused)


@router.get("/pipelines/{name}/delete")
async def delete_page(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        top = await pipeline_context(ctx, name)
        return _confirm(ctx, top, action=f"{guards.PREFIX}/pipelines/{top['name']}/delete",
                        heading=f"Delete the pipeline {top['name']}?", button="Delete the pipeline", fields={},
                        lines=["Everything Shipway made for it goes with it: pull and push Secrets, the builder's "
                               "ServiceAccount and Role, and its credentials set by value.",
                               f"Its namespaces are handled by its reclaim policy ({top['summary'].reclaim_policy})."])

    return await run(request, handler)


@router.post("/pipelines/{name}/delete")
async def delete_pipeline(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        pipeline = reading.checked_name(name)
        if ctx.form.get("confirm") != "yes":
            return ctx.redirect(f"{guards.PREFIX}/pipelines/{pipeline}/delete")
        await changing.delete_pipeline(ctx.state, ctx.user, pipeline)
        return ctx.redirect(f"{guards.PREFIX}/", notice=f"Pipeline {pipeline} deleted")

    return await run(request, handler, post=True)


@router.post("/pipelines/{name}/verify")
async def verify(request: Request, name: str) -> Response:
    async def handler(ctx: Context) -> Response:
        pipeline = reading.checked_name(name)
        body = build(VerifyIn, {"registry": ctx.form.text("registry") or "",
                                         "phase": ctx.form.text("phase")})
        result = await reading.verify(ctx.state, ctx.user, pipeline, body)
        return ctx.redirect(f"{guards.PREFIX}/pipelines/{pipeline}",
                            notice=f"Checked {result.registry} ({result.phase}, {result.fingerprint}) now: "
                                   f"{result.outcome}")

    return await run(request, handler, post=True)
