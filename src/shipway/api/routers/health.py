"""Health, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shipway.adapters.kube import resources as kinds
from shipway.api.deps import State
from shipway.core import names
from shipway.core.errors import NotFound, ShipwayError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State, response: Response) -> dict[str, str]:
    try:
        await state.kube.get(kinds.PLATFORM, names.PLATFORM_NAME)
    except NotFound:
        pass  # the API server answered
    except (ShipwayError, OSError):
        response.status_code = 503
        return {"status": "unavailable", "reason": "the Kubernetes API server does not answer"}
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
