"""The one sequence every console request goes through, and the one place its errors become pages.

For a page: the session from its cookie (none: to the sign-in page), the session's token authenticated again
by the API's access control (a TokenReview, briefly cached; refused: the session ends). For a form post,
first of all its Origin, then the session, then its CSRF token. Then the handler, which calls the API's
services as the signed-in user; a :class:`~shipway.core.errors.ShipwayError` becomes the HTTP status the REST
API answers for it (:func:`shipway.api.errors.status_for`) and the API's message, never a value.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shipway.adapters.kube.reviews import UserInfo
from shipway.api.console import guards
from shipway.api.console.forms import Form, read_form
from shipway.api.console.pages import Console, console_of
from shipway.api.console.sessions import Session
from shipway.api.errors import status_for
from shipway.api.state import AppState
from shipway.core.errors import ShipwayError, Unauthenticated
from shipway.core.secrets import redact_text

log = logging.getLogger(__name__)
SIGNIN = f"{guards.PREFIX}/signin"
TITLES = {401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large",
          422: "Invalid input", 429: "Too many requests", 502: "Upstream failure"}


@dataclass
class Context:
    request: Request
    console: Console
    state: AppState
    session: Session
    user: UserInfo
    form: Form

    def page(self, template: str, *, status_code: int = 200, **context: Any) -> Response:
        return self.console.render(self.request, template, session=self.session, status_code=status_code,
                                   **context)

    def redirect(self, url: str, *, notice: str | None = None) -> Response:
        """Post/redirect/get: the next page shows ``notice`` (kept in the session, not in the URL)."""
        if notice is not None:
            self.session.notice = notice
        return RedirectResponse(url, status_code=303)


def problem(error: ShipwayError) -> dict[str, Any]:
    """An error as the pages show it: the REST API's status, message and field."""
    status = status_for(error)
    return {"status": status, "title": TITLES.get(status, "Error"), "type": type(error).__name__,
            "message": redact_text(error.message), "field": error.field or ""}


def error_page(request: Request, console: Console, session: Session | None, error: ShipwayError) -> Response:
    shown = problem(error)
    headers = {"WWW-Authenticate": "Bearer"} if shown["status"] == 401 else None
    response = console.render(request, "error.html", session=session, status_code=shown["status"],
                              problem=shown, title=shown["title"])
    if headers:
        response.headers.update(headers)
    return response


Handler = Callable[[Context], Awaitable[Response]]
OnError = Callable[[Context, ShipwayError], Awaitable[Response]]


async def run(request: Request, handler: Handler, *, post: bool = False, on_error: OnError | None = None) -> Response:
    console = console_of(request)
    state: AppState = request.app.state.shipway
    session: Session | None = None
    try:
        if post:
            guards.check_origin(request)
        session_id = request.cookies.get(guards.SESSION_COOKIE)
        session = console.sessions.get(session_id)
        if session is None:
            if post:
                raise Unauthenticated("the session has ended; sign in again")
            return RedirectResponse(SIGNIN, status_code=303)
        try:
            user = await state.access.authenticate(session.authorization())
        except Unauthenticated:
            console.sessions.end(session_id)
            return RedirectResponse(SIGNIN, status_code=303)
        form = await read_form(request) if post else Form({})
        if post:
            guards.check_csrf(session.csrf_matches, form.get("csrf"))
    except ShipwayError as error:
        return error_page(request, console, session if not post else None, error)
    context = Context(request=request, console=console, state=state, session=session, user=user, form=form)
    try:
        return await handler(context)
    except ShipwayError as error:
        if on_error is not None:
            try:
                return await on_error(context, error)
            except ShipwayError:
                pass  # the form's page cannot be shown either (the caller may not see it): the error alone
        return error_page(request, console, session, error)
    except Exception as error:
        log.error("console: unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return console.render(request, "error.html", session=session, status_code=500, title="Internal error",
                              problem={"status": 500, "title": "Internal error", "type": "InternalError",
                                       "message": "internal error", "field": ""})
