"""The one place where errors become HTTP statuses. Bodies name the field at fault, never echo input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shipway.core import errors
from shipway.core.secrets import redact_text

log = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins.
HTTP_STATUSES: tuple[tuple[type[errors.ShipwayError], int], ...] = (
    (errors.PayloadTooLarge, 413),
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.TooManyRequests, 429),
    (errors.UpstreamError, 502),
    (errors.ShipwayError, 500),
)


def status_for(error: errors.ShipwayError) -> int:
    return next(code for kind, code in HTTP_STATUSES if isinstance(error, kind))


def error_body(kind: str, message: str, field: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"type": kind, "message": redact_text(message)}
    if field:
        body["field"] = field
    return {"error": body}


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ShipwayError)
    async def shipway_error(request: Request, error: errors.ShipwayError) -> JSONResponse:
        code = status_for(error)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        return JSONResponse(error_body(type(error).__name__, error.message, error.field), status_code=code,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes the input (a password, say): build ours from location and message only.
        first = error.errors()[0] if error.errors() else {"loc": ("body",), "msg": "invalid request"}
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        count = len(error.errors())
        more = f" (and {count - 1} more)" if count > 1 else ""
        return JSONResponse(error_body("InvalidInput", message + more, _location(tuple(first.get("loc", ())))),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body("HTTPError", str(error.detail)), status_code=error.status_code,
                            headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return JSONResponse(error_body("InternalError", "internal error"), status_code=500)
