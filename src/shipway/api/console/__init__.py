"""The web console: Shipway's pipelines and their layered registry credentials in a browser, under ``/ui/``.

A client of the API's own services inside the API process, with no powers of its own: every page
authenticates the signed-in user's token with the API's access control and asks RBAC exactly what the
matching REST route asks (:mod:`~shipway.api.console.reading`, :mod:`~shipway.api.console.changing`).
Sessions are server-side (:mod:`~shipway.api.console.sessions`); the browser-facing defences (CSP, cookie,
Origin and CSRF checks) are in :mod:`~shipway.api.console.guards`; pages are server-rendered Jinja2 templates
with one small stylesheet and one small script, both served from ``/ui/static/``.

:func:`install` is called by the app factory; nothing is built at import time.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from shipway.api.console import audit, editing, guards, platform, signing, viewing
from shipway.api.console.pages import STATIC, Console

__all__ = ["install"]


def install(app: FastAPI) -> Console:
    """Serve the console from ``app``: its routes, assets and headers, ``/`` redirecting to it, and the
    audit ring attached to the API's audit logger."""
    console = Console()
    audit.attach(console.audit, owner=console)
    app.state.console = console
    app.middleware("http")(guards.security_headers)

    async def to_console() -> Response:
        return RedirectResponse(f"{guards.PREFIX}/", status_code=307)

    app.add_api_route("/", to_console, methods=["GET"], include_in_schema=False)
    app.add_api_route(guards.PREFIX, to_console, methods=["GET"], include_in_schema=False)
    for module in (signing, viewing, editing, platform):
        app.include_router(module.router)
    app.mount(f"{guards.PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    return console
