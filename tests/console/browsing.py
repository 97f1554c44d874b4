"""Helpers of the console's browser tests: the sandbox with registry checks on, Debian's chromium as
Playwright drives it, a recorder of everything the browser is given, and the steps the tests share."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.api.helpers import Sandbox
from tests.api.helpers import start_sandbox as start_api_sandbox
from tests.support.registries import RegistryServer

ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed on request (SHIPWAY_SCREENSHOTS=1): a normal run writes them to a
# scratch directory, so running the tests leaves the checkout as it was.
SCREENSHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("SHIPWAY_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / "shipway-console-screenshots")
CHROMIUM = "/usr/bin/chromium"
# The flags test-substrate.md names for Debian's chromium run as root, headless, with nothing phoning home.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
VERIFY_INTERVAL = "3600"  # the operator checks each new credential at once, then hourly


def start_sandbox(workdir: Path) -> Sandbox:
    """``shipway sandbox up`` as tests/api's harness starts it, but with the operator's registry checks on."""
    return start_api_sandbox(workdir, verify_interval=VERIFY_INTERVAL)


@dataclass
class Recorder:
    """What the browser was given: (where, text) pairs, for the canary scan."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def finished(self, request: Any) -> None:
        self.urls.append(request.url)
        try:
            response = request.response()
            if response is None:
                return
            self.texts.append((f"headers of {request.method} {request.url}", repr(response.all_headers())))
            if not 300 <= response.status < 400:
                self.texts.append((f"{request.method} {request.url} -> {response.status}", response.text()))
        except Exception as error:  # a page closed under it; the document's HTML is recorded anyway
            self.texts.append((f"{request.url}", f"unrecorded: {type(error).__name__}"))

    def page(self, page: Page, label: str) -> str:
        html = page.content()
        self.texts.append((f"document {label} ({page.url})", html))
        return html

    def storage(self, context: BrowserContext, label: str) -> None:
        self.texts.append((f"cookies of {label}", repr(context.cookies())))
        for page in context.pages:
            for store in ("localStorage", "sessionStorage"):
                self.texts.append((f"{store} of {label} ({page.url})",
                                   page.evaluate(f"JSON.stringify(Object.entries(window.{store}))")))


def new_context(browser: Browser, recorder: Recorder) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, java_script_enabled=True)
    context.set_default_timeout(15_000)
    context.on("requestfinished", recorder.finished)
    return context


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@dataclass
class World:
    sandbox: Sandbox
    registry: RegistryServer
    url: str
    passwords: list[str]



def sign_in(context: BrowserContext, world: World, user: str, recorder: Recorder, *, shot: str | None = None) -> Page:
    page = context.new_page()
    page.goto(f"{world.url}/")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    accessible(page)
    page.get_by_label("Bearer token").fill(world.sandbox.tokens[user])
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{world.url}/ui/")
    recorder.page(page, f"{user} pipelines")
    return page


def fingerprint_in(page: Page, phase: str, registry: str) -> str:
    """The fingerprint of the entry that serves ``registry`` in ``phase``'s layer picture."""
    cell = page.locator(f"section[aria-labelledby='phase-{phase}'] tr", has_text=registry).locator("td.wins")
    return str(cell.locator("code.fp").inner_text())


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)"""


def accessible(page: Page) -> None:
    """Every control has a label; the skip link comes first in the tab order (the first Tab reaches it where
    no field has the focus already)."""
    assert page.evaluate(UNLABELLED) == [], page.url
    assert page.evaluate("document.querySelector('a[href], button, input:not([type=hidden]), select').className"
                         ) == "skip"
    if page.evaluate("document.activeElement === document.body"):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"


def unchanged(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """The same spec at the same generation (status may move on: the operator writes it)."""
    assert before is not None and after is not None
    return bool(after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"])


def csrf_of(page: Page, world: World) -> str:
    """The session's CSRF token, as its pages carry it in every form."""
    page.goto(f"{world.url}/ui/")
    return str(page.locator("form.signout input[name=csrf]").get_attribute("value"))

