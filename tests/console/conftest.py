"""Fixtures of the console's browser tests, shared by the package's modules: one sandbox (``shipway sandbox
up`` as a subprocess, with registry checks on), one real Debian ``docker-registry`` whose user is team A's
credential, one Debian ``chromium`` driven by Playwright (no browser is ever downloaded), and team A's and
team B's signed-in pages.

Everything the browser receives is recorded: every response body and header (``requestfinished``), every
document's HTML, and at the end its storage (cookies, localStorage, sessionStorage). At teardown every canary
password planted by the tests is looked for in all of it, in every API response the tests read, in every
Event, Pipeline and Platform, and in the sandbox's output: zero hits; and no user's token reached the browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.api.helpers import GROUP_PATH, Sandbox, find_canaries
from tests.support import registries
from tests.support.registries import RegistryServer

from .browsing import CHROMIUM, CHROMIUM_FLAGS, Recorder, World, new_context, sign_in, start_sandbox


@pytest.fixture(scope="package")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    directory = tmp_path_factory.mktemp("console-registry")
    yield from registries.running(lambda: registries.start_htpasswd_registry(directory))


@pytest.fixture(scope="package")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("console-sandbox"))
    try:
        yield running
        stored = running.stored_texts()
    finally:
        running.stop()
    hits = find_canaries(running.canaries, [*running.responses, *recorder.texts, *stored,
                                            ("sandbox output", running.output.text)])
    assert hits == [], hits
    tokens = set(running.tokens.values())
    leaked = find_canaries(tokens, [*recorder.texts, ("urls", "\n".join(recorder.urls))])
    assert leaked == [], "a bearer token reached the browser"


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed (make setup installs it)")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="package")
def world(sandbox: Sandbox, registry: RegistryServer) -> World:
    """Team A's pipeline shop and team B's blog (made through the REST API as each team); the registry is
    listed in the Platform's insecureRegistries (it speaks plain HTTP) by the admin."""
    for user, name in (("team-a", "shop"), ("team-b", "blog")):
        with sandbox.client(user) as client:
            response = client.post("/api/v1/pipelines", json={"name": name, "phases": [{"name": "stage"},
                                                                                      {"name": "production"}]})
            assert response.status_code == 201, response.text
    platform = sandbox.kube.platform()["spec"]["registry"]
    sandbox.kube.merge_patch(f"{GROUP_PATH}/platforms/default", {"spec": {"registry": {
        "insecureRegistries": [*(platform.get("insecureRegistries") or []), registry.host]}}})
    return World(sandbox=sandbox, registry=registry, url=sandbox.api_url, passwords=[])


@pytest.fixture(scope="package")
def team_a(browser: Browser, world: World, recorder: Recorder) -> Iterator[Page]:
    context = new_context(browser, recorder)
    page = sign_in(context, world, "team-a", recorder, shot="signin")
    yield page
    recorder.storage(context, "team-a")
    context.close()


@pytest.fixture(scope="package")
def team_b(browser: Browser, world: World, recorder: Recorder) -> Iterator[Page]:
    context = new_context(browser, recorder)
    page = sign_in(context, world, "team-b", recorder)
    yield page
    recorder.storage(context, "team-b")
    context.close()
