"""The console's browser-facing defences: response headers, the session cookie, and the checks every
state-changing request passes before anything else runs.

- Every response under ``/ui`` carries a strict Content-Security-Policy (only Shipway's own origin; no inline
  script or style, no plugins, no framing, forms post only to Shipway), ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer``, ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``.
- The session cookie holds only a random id: ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui``, and ``Secure``
  when the console is served over TLS.
- A POST is accepted only when it comes from the console's own origin (its ``Origin``, or the browser's
  ``Sec-Fetch-Site`` where ``no-referrer`` makes the Origin ``null``) and its hidden ``csrf`` field matches
  the session's token (before sign-in: the sign-in form's own token, kept in a short-lived cookie of its
  own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from shipway.core.errors import Forbidden

PREFIX = "/ui"
SESSION_COOKIE = "shipway_console"
SIGNIN_COOKIE = "shipway_signin"
SIGNIN_SECONDS = 10 * 60

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
    "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_console(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """An HTTP middleware: the console's headers on every console response (pages, assets, errors)."""
    response = await call_next(request)
    if is_console(request.url.path):
        for name, value in HEADERS.items():
            response.headers[name] = value
        if not request.url.path.startswith(PREFIX + "/static/"):
            response.headers["Cache-Control"] = "no-store"
    return response


def over_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=over_tls(request))


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=PREFIX, httponly=True, samesite="strict", secure=over_tls(request))


def own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def check_origin(request: Request) -> None:
    """Refuse a request that did not come from the console's own pages: a cross-site (or cross-origin) post.

    Its ``Origin`` must be the console's own. Under ``Referrer-Policy: no-referrer`` a browser sends
    ``Origin: null`` (and no Referer) even for the console's own forms; then the browser's
    ``Sec-Fetch-Site`` must say ``same-origin``. A request with none of these (not from a browser) needs a
    ``Referer`` of the console's own origin. The CSRF token is checked besides, always.
    """
    own = own_origin(request).lower()
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    referer = request.headers.get("referer")
    if origin is not None and origin != "null":
        allowed = origin.lower() == own
    elif site is not None:
        allowed = site == "same-origin"
    else:
        allowed = referer is not None and (_origin_of(referer) or "").lower() == own
    if not allowed:
        raise Forbidden("the request did not come from this console (its Origin is not the console's own)")


def check_csrf(expected: Callable[[str | None], bool], offered: str | None) -> None:
    if not expected(offered):
        raise Forbidden("the form has no valid CSRF token for this session; reload the page and try again")
