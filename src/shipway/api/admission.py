"""The validating admission webhook: kube-apiserver sends every Pipeline and Platform create and update here
(AdmissionReview v1), so ``kubectl`` obeys the same rules as the REST API (:mod:`shipway.api.policy`).

Served on its own TLS listener (``shipway api run --webhook-port``), apart from the REST API. A refusal names
the field and the rule, never a value.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from shipway.adapters.kube.reviews import user_info_of
from shipway.api.policy import Reviewer, pipeline_refusals, platform_refusals
from shipway.api.state import AppState
from shipway.core.documents import stored_model
from shipway.core.errors import InvalidInput, ShipwayError
from shipway.core.isolation import Refusal
from shipway.core.resources import Pipeline, Platform

log = logging.getLogger(__name__)
PATH = "/admission/v1/validate"
router = APIRouter()


def _answer(uid: str, refusals: list[Refusal], *, code: int = 403) -> dict[str, Any]:
    response: dict[str, Any] = {"uid": uid, "allowed": not refusals}
    if refusals:
        message = "; ".join(str(r) for r in refusals)
        response["status"] = {"code": code, "reason": "Forbidden" if code == 403 else "Invalid",
                              "message": message}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


async def review(state: AppState, request: dict[str, Any]) -> dict[str, Any]:
    uid = str(request.get("uid", ""))
    operation = request.get("operation")
    kind = (request.get("kind") or {}).get("kind")
    if operation not in ("CREATE", "UPDATE") or kind not in ("Pipeline", "Platform"):
        return _answer(uid, [])
    if request.get("subResource"):
        return _answer(uid, [])  # status is the operator's
    model: type[Pipeline] | type[Platform] = Pipeline if kind == "Pipeline" else Platform
    try:
        new = stored_model(model, request.get("object") or {}, where=kind)
        old = stored_model(model, request["oldObject"], where=kind) if request.get("oldObject") else None
    except InvalidInput as error:
        return _answer(uid, [Refusal("Invalid", error.field or kind, error.message)], code=422)
    reviewer = Reviewer(kube=state.kube, access=state.access)
    requester = user_info_of(request.get("userInfo") or {})
    try:
        if isinstance(new, Pipeline):
            assert old is None or isinstance(old, Pipeline)
            refusals = await pipeline_refusals(reviewer, requester=requester, pipeline=new, old=old)
        else:
            assert old is None or isinstance(old, Platform)
            refusals = await platform_refusals(reviewer, requester=requester, platform=new, old=old)
    except ShipwayError as error:  # the API server could not answer a read or a review: fail closed
        log.warning("admission of %s failed closed: %s", kind, type(error).__name__)
        return _answer(uid, [Refusal("AdmissionUnavailable", kind, "Shipway could not check this request")],
                       code=500)
    if refusals:
        log.info("admission refused a %s %s by %s: %s", operation, kind, requester.username,
                 ", ".join(r.rule for r in refusals))
    return _answer(uid, refusals)


@router.post(PATH, include_in_schema=False)
async def validate(request: Request) -> JSONResponse:
    state: AppState = request.app.state.shipway
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": {"type": "InvalidInput", "message": "not an AdmissionReview"}}, status_code=400)
    inner = body.get("request") if isinstance(body, dict) else None
    if not isinstance(inner, dict) or body.get("kind") != "AdmissionReview":
        return JSONResponse({"error": {"type": "InvalidInput", "message": "not an AdmissionReview"}}, status_code=400)
    return JSONResponse(await review(state, inner))


def create_webhook_app(state: AppState) -> FastAPI:
    """The webhook listener's app: admission and health only, nothing of the REST API."""
    app = FastAPI(title="Shipway admission", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.shipway = state
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
