"""Rendering the console's pages: Jinja2 templates shipped in the package, autoescaped, with no inline script
or style (the Content-Security-Policy forbids both). Every page gets the signed-in user's name and the
session's CSRF token for its forms; nothing a template is given can hold a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shipway.api.console.audit import AuditRing
from shipway.api.console.sessions import Session, SessionStore
from shipway.core.secrets import redact_text

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["redact"] = redact_text
    return env


@dataclass
class Console:
    """The console's parts, built with the app (never at import time)."""

    templates: jinja2.Environment = field(default_factory=environment)
    sessions: SessionStore = field(default_factory=SessionStore)
    audit: AuditRing = field(default_factory=AuditRing)

    def render(self, request: Request, template: str, *, session: Session | None, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            user=session.username if session else None, csrf=session.csrf if session else "",
            notice=session.take_notice() if session else None, path=request.url.path, **context)
        return HTMLResponse(page, status_code=status_code)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console
