"""The web console's isolation and browser defences: team B can neither see nor change team A's pipeline by
any URL (403 pages, nothing changed), an admin sees everything, forged cross-site posts are refused, the
headers and the session cookie are as strict as they should be, and sign-out ends the session.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .browsing import Recorder, World, accessible, csrf_of, new_context, screenshot, sign_in, unchanged

pytestmark = pytest.mark.integration


TEAM_A_PAGES = ("/ui/pipelines/shop", "/ui/pipelines/shop/credentials", "/ui/pipelines/shop/settings",
                "/ui/pipelines/shop/explain?image=busybox&phase=stage", "/ui/pipelines/shop/activity",
                "/ui/pipelines/shop/delete",
                "/ui/pipelines/shop/credentials/remove?layer=pipeline&secretNamespace=x&secretName=y")
TEAM_A_POSTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/ui/pipelines/shop/credentials/set", {"layer": "pipeline", "registry": "quay.io", "username": "b",
                                            "password": "team-b-was-here-123"}),
    ("/ui/pipelines/shop/credentials/reference", {"layer": "pipeline", "secretNamespace": "team-b",
                                                  "secretName": "x"}),
    ("/ui/pipelines/shop/credentials/remove", {"layer": "pipeline", "secretNamespace": "shipway-system",
                                               "secretName": "x", "confirm": "yes"}),
    ("/ui/pipelines/shop/settings", {"phase-stage": "enabled", "reclaimPolicy": "Retain", "confirm": "yes"}),
    ("/ui/pipelines/shop/delete", {"confirm": "yes"}),
    ("/ui/pipelines/shop/verify", {"registry": "quay.io", "phase": "stage"}),
)


def test_team_b_cannot_see_or_change_team_a_pipeline(team_b: Page, world: World, recorder: Recorder) -> None:
    expect(team_b.locator("table.grid tbody tr")).to_have_count(1)
    expect(team_b.locator("main")).not_to_contain_text("shop")
    before = world.sandbox.kube.pipeline("shop")
    for path in TEAM_A_PAGES:
        response = team_b.goto(f"{world.url}{path}")
        assert response is not None and response.status == 403, (path, response and response.status)
        expect(team_b.get_by_role("alert")).to_contain_text("may not get pipelines")
    screenshot(team_b, "forbidden")
    token = csrf_of(team_b, world)
    for path, form in TEAM_A_POSTS:
        answer = team_b.context.request.post(f"{world.url}{path}", form={**form, "csrf": token},
                                             headers={"Origin": world.url}, max_redirects=0)
        recorder.texts.append((f"team-b POST {path}", answer.text()))
        assert answer.status == 403, (path, answer.status)
    assert unchanged(before, world.sandbox.kube.pipeline("shop"))
    missing = team_b.goto(f"{world.url}/ui/pipelines/nothing-here")  # no oracle: the same 403 as for shop
    assert missing is not None and missing.status == 403
    platform = world.sandbox.kube.platform()["spec"]
    answer = team_b.context.request.post(  # team B may read the platform layer, not change it
        f"{world.url}/ui/platform/credentials/set", headers={"Origin": world.url}, max_redirects=0,
        form={"csrf": token, "registry": "quay.io", "username": "b", "password": "team-b-was-here-123"})
    assert answer.status == 403
    assert world.sandbox.kube.platform()["spec"] == platform


def test_an_admin_sees_every_pipeline_and_the_platform_layer(browser: Browser, world: World,
                                                             recorder: Recorder) -> None:
    context = new_context(browser, recorder)
    try:
        page = sign_in(context, world, "admin", recorder)
        names = page.locator("table.grid tbody th").all_inner_texts()
        assert {"shop", "blog"} <= set(names)
        page.get_by_role("link", name="the platform layer").click()
        expect(page.get_by_role("heading", name="Platform layer")).to_be_visible()
        accessible(page)
        expect(page.locator("main")).to_contain_text(world.registry.host)  # in the insecure registries
        recorder.page(page, "platform")
        screenshot(page, "platform")
        missing = page.goto(f"{world.url}/ui/pipelines/nothing-here")  # an admin may get it: it is not there
        assert missing is not None and missing.status == 404
        recorder.storage(context, "admin")
    finally:
        context.close()


class _Forger(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = (f'<!doctype html><form method="post" action="{self.target}">'
                '<input type="hidden" name="layer" value="pipeline"><input type="hidden" name="confirm" value="yes">'
                f'<input type="hidden" name="secretNamespace" value="{self.ref[0]}">'
                f'<input type="hidden" name="secretName" value="{self.ref[1]}">'
                '<button type="submit">Win a prize</button></form>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page)

    ref: tuple[str, str] = ("", "")

    def log_message(self, *args: Any) -> None:
        pass


def test_forged_cross_site_posts_are_refused(team_a: Page, team_b: Page, world: World, recorder: Recorder) -> None:
    before = world.sandbox.kube.pipeline("shop")
    assert before is not None
    credentials = before["spec"]["registry"].get("credentials") or [
        {"secretRef": {"namespace": "shipway-system", "name": "any"}}]  # when run alone: the refusal is the same
    ref = credentials[0]["secretRef"]
    _Forger.target = f"{world.url}/ui/pipelines/shop/credentials/remove"
    _Forger.ref = (ref["namespace"], ref["name"])
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Forger)  # another origin on the same site: the cookie goes along
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        team_a.goto(f"http://127.0.0.1:{evil.server_port}/")
        with team_a.expect_navigation():
            team_a.get_by_role("button", name="Win a prize").click()
        expect(team_a.get_by_role("alert")).to_contain_text("did not come from this console")
        recorder.page(team_a, "forged post")
    finally:
        evil.shutdown()
    token = csrf_of(team_a, world)
    form = {"layer": "pipeline", "secretNamespace": ref["namespace"], "secretName": ref["name"], "confirm": "yes"}
    url = f"{world.url}/ui/pipelines/shop/credentials/remove"
    request = team_a.context.request
    for headers, fields in (({"Origin": "http://evil.example"}, {**form, "csrf": token}),  # right token, foreign
                            ({"Origin": world.url}, form),  # right origin, no token
                            ({"Origin": world.url}, {**form, "csrf": csrf_of(team_b, world)}),  # another's
                            ({}, {**form, "csrf": token})):  # neither Origin nor Referer
        answer = request.post(url, form=fields, headers=headers, max_redirects=0)
        recorder.texts.append(("forged POST", answer.text()))
        assert answer.status == 403, (headers, answer.status)
    assert unchanged(before, world.sandbox.kube.pipeline("shop"))


def test_headers_cookie_and_sign_out(team_a: Page, world: World, recorder: Recorder) -> None:
    response = team_a.goto(f"{world.url}/ui/pipelines/shop")
    assert response is not None
    headers = response.all_headers()
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text() and " style=" not in response.text()
    (cookie,) = [c for c in team_a.context.cookies() if c["name"] == "shipway_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    recorder.storage(team_a.context, "team-a before sign-out")
    team_a.get_by_role("button", name="Sign out").click()
    expect(team_a).to_have_url(re.compile(r"/ui/signin\?signed_out=true$"))
    stale = httpx.get(f"{world.url}/ui/", cookies={"shipway_console": cookie["value"]})
    assert stale.status_code == 303 and stale.headers["location"] == "/ui/signin"  # the session is gone
