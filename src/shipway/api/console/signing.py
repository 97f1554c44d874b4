"""Signing in and out of the console.

Sign-in takes a bearer token in a password field of a form (never in a URL), has the API's access control
authenticate it (a TokenReview), and starts a server-side session whose random id is the only thing the
browser keeps (an HttpOnly, SameSite=Strict cookie). The sign-in form is protected against login CSRF by its
Origin and a one-time token of its own (a short-lived cookie matched against a hidden field). Sign-out ends
the session on the server and clears the cookie.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shipway.api.console import guards
from shipway.api.console.forms import read_form
from shipway.api.console.handling import SIGNIN, Context, problem, run
from shipway.api.console.pages import console_of
from shipway.api.state import AppState
from shipway.core.errors import Forbidden, InvalidInput, ShipwayError
from shipway.core.secrets import Secret

router = APIRouter(prefix=guards.PREFIX, include_in_schema=False)
MAX_TOKEN = 8192


def _form(request: Request, *, status_code: int = 200, error: ShipwayError | None = None,
          signed_out: bool = False) -> Response:
    nonce = secrets.token_urlsafe(32)
    response = console_of(request).render(request, "signin.html", session=None, status_code=status_code,
                                          title="Sign in", signin_csrf=nonce,
                                          problem=problem(error) if error else None, signed_out=signed_out)
    guards.set_cookie(response, request, guards.SIGNIN_COOKIE, nonce, max_age=guards.SIGNIN_SECONDS)
    return response


@router.get("/signin")
async def signin_page(request: Request, signed_out: bool = False) -> Response:
    if console_of(request).sessions.get(request.cookies.get(guards.SESSION_COOKIE)) is not None:
        return RedirectResponse(f"{guards.PREFIX}/", status_code=303)
    return _form(request, signed_out=signed_out)


@router.post("/signin")
async def signin(request: Request) -> Response:
    console = console_of(request)
    state: AppState = request.app.state.shipway
    try:
        guards.check_origin(request)
        form = await read_form(request)
        expected = request.cookies.get(guards.SIGNIN_COOKIE) or ""
        offered = form.get("csrf") or ""
        if not expected or not hmac.compare_digest(expected.encode(), offered.encode()):
            raise Forbidden("the sign-in form has expired or did not come from this console; try again")
        token = (form.get("token") or "").strip()
        if not token:
            raise InvalidInput("enter a bearer token", field="token")
        if len(token) > MAX_TOKEN or any(ord(c) < 33 for c in token):
            raise InvalidInput("that is not a bearer token", field="token")
        user = await state.access.authenticate(f"Bearer {token}")
    except ShipwayError as error:
        return _form(request, status_code=problem(error)["status"], error=error)
    console.sessions.end(request.cookies.get(guards.SESSION_COOKIE))
    session_id, _ = console.sessions.create(token=Secret(token), username=user.username)
    response = RedirectResponse(f"{guards.PREFIX}/", status_code=303)
    guards.set_cookie(response, request, guards.SESSION_COOKIE, session_id)
    guards.clear_cookie(response, request, guards.SIGNIN_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    async def handler(ctx: Context) -> Response:
        ctx.console.sessions.end(request.cookies.get(guards.SESSION_COOKIE))
        response = RedirectResponse(f"{SIGNIN}?signed_out=true", status_code=303)
        guards.clear_cookie(response, request, guards.SESSION_COOKIE)
        return response

    return await run(request, handler, post=True)
