"""The web console in Debian's Chromium against the sandbox, as team A: it signs in, sees only its pipeline,
sets and rotates a credential and watches the layer picture follow and Verified turn True against a real
registry, overrides it in a phase, explains a pull, reads the activity, is refused a Secret that does not
consent, and changes its settings with a confirmation before anything destructive. Each view's screenshot
goes to docs/screenshots/. The tests run in order on the package's shared sandbox and browser.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.api.helpers import secret_manifest

from .browsing import SCREENSHOTS, Recorder, World, accessible, fingerprint_in, screenshot

pytestmark = pytest.mark.integration
BOT = "team-a-bot"


def set_credential(page: Page, world: World, password: str, recorder: Recorder, *, shot: str | None = None) -> str:
    page.goto(f"{world.url}/ui/pipelines/shop/credentials")
    accessible(page)
    page.get_by_label("Layer").first.select_option("pipeline")
    page.get_by_label("Registry", exact=True).fill(world.registry.host)
    page.get_by_label("User name").fill(BOT)
    page.get_by_label("Password or token").fill(password)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Set the credential").click()
    expect(page).to_have_url(f"{world.url}/ui/pipelines/shop")
    notice = page.get_by_role("status").inner_text()
    assert f"pipeline layer: {world.registry.host}:" in notice
    recorder.page(page, f"after setting {len(world.passwords)}")
    return str(notice.rsplit("-> ", 1)[1].strip())


def test_team_a_signs_in_and_sees_only_its_pipelines(team_a: Page, world: World, recorder: Recorder) -> None:
    rows = team_a.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("shop")
    expect(team_a.locator("main")).not_to_contain_text("blog")
    for header in ("Ready", "Verified", "Phases", "Last change"):
        expect(team_a.get_by_role("columnheader", name=header)).to_be_visible()
    expect(rows.first).to_contain_text("stage, production")


def test_team_a_sets_and_rotates_a_credential_and_sees_verified(team_a: Page, world: World,
                                                                  recorder: Recorder) -> None:
    first, second = (world.sandbox.canary(label) for label in ("first", "second"))
    world.passwords += [first, second]
    world.registry.add_user(BOT, first)
    new = set_credential(team_a, world, first, recorder, shot="credentials")
    assert fingerprint_in(team_a, "stage", world.registry.host) == new
    world.registry.add_user(BOT, second)  # the registry's password changes: the old credential no longer works
    rotated = set_credential(team_a, world, second, recorder)
    assert rotated != new
    assert fingerprint_in(team_a, "stage", world.registry.host) == rotated
    assert f"{new} -> {rotated}" in team_a.get_by_role("status").inner_text()
    for phase in team_a.locator("section.phase").all():  # the old fingerprint is gone from the picture
        assert new not in phase.inner_text()
    # The operator checks the new credential against the real registry: Verified turns True.
    row = team_a.locator("section[aria-labelledby='phase-stage'] tr", has_text=world.registry.host)
    for _ in range(60):
        if row.locator(".badge").inner_text() == "True":
            break
        team_a.wait_for_timeout(250)
        team_a.reload()
    expect(row.locator(".badge")).to_have_text("True")
    # And the on-demand check through the API's verify says the same.
    row.get_by_role("button", name=re.compile("Verify")).click()
    expect(team_a.get_by_role("status")).to_contain_text(f"Checked {world.registry.host} (stage, {rotated}) now: "
                                                        "Verified")
    recorder.page(team_a, "layers")
    screenshot(team_a, "layers")
    team_a.goto(f"{world.url}/ui/")  # the list says so too
    expect(team_a.locator("table.grid tbody tr").first.locator(".badge").nth(1)).to_have_text("True")
    screenshot(team_a, "pipelines")


def test_a_phase_credential_overrides_and_explain_follows(team_a: Page, world: World, recorder: Recorder) -> None:
    password = world.sandbox.canary("production")
    world.registry.add_user("team-a-prod", password)
    team_a.goto(f"{world.url}/ui/pipelines/shop/credentials")
    team_a.locator("#set-layer").select_option("phase:production")
    team_a.get_by_label("Registry", exact=True).fill(world.registry.host)
    team_a.get_by_label("User name").fill("team-a-prod")
    team_a.get_by_label("Password or token").fill(password)
    team_a.get_by_role("button", name="Set the credential").click()
    expect(team_a.get_by_role("status")).to_contain_text("phase production layer")
    production = team_a.locator("section[aria-labelledby='phase-production']")
    row = production.locator("tr", has_text=world.registry.host).first
    expect(row.locator("td.wins")).to_contain_text("managed (set by value)")
    expect(row.locator("td.overridden")).to_contain_text("overridden")  # the pipeline layer's entry
    recorder.page(team_a, "override")
    production.screenshot(path=str(SCREENSHOTS / "layers-override.png"))
    team_a.goto(f"{world.url}/ui/pipelines/shop/explain")
    accessible(team_a)
    team_a.get_by_label("Image reference").fill("Not An Image!")
    team_a.get_by_role("button", name="Explain").click()
    expect(team_a.get_by_role("alert")).to_contain_text("Invalid input (422)")  # the API's answer, in the page
    team_a.get_by_label("Image reference").fill(f"{world.registry.host}/team-a/shop:1.0")
    team_a.get_by_label("Phase").select_option("production")
    team_a.get_by_role("button", name="Explain").click()
    first = team_a.locator("table.grid tbody tr").first
    expect(first).to_contain_text("phase")
    expect(first).to_contain_text(world.registry.host)
    recorder.page(team_a, "explain")
    screenshot(team_a, "explain")


def test_activity_shows_the_audit_entries(team_a: Page, world: World, recorder: Recorder) -> None:
    team_a.goto(f"{world.url}/ui/pipelines/shop/activity")
    audit = team_a.locator("section[aria-labelledby='audit-title'] tbody tr")
    expect(audit).to_have_count(3)
    expect(audit.first).to_contain_text("CredentialSet")
    expect(audit.first).to_contain_text("phase production")
    expect(audit.first).to_contain_text("team-a")
    recorder.page(team_a, "activity")
    screenshot(team_a, "activity")


def test_a_refused_reference_shows_the_consent_rule(team_a: Page, world: World, recorder: Recorder) -> None:
    password = world.sandbox.canary("unconsented")
    world.sandbox.kube.create_secret(secret_manifest("team-a", "unconsented", registry="quay.io", username="x",
                                                     password=password))  # readable by team A, no consent
    before = world.sandbox.kube.pipeline("shop")
    team_a.goto(f"{world.url}/ui/pipelines/shop/credentials")
    team_a.get_by_label("Secret namespace").fill("team-a")
    team_a.get_by_label("Secret name", exact=True).fill("unconsented")
    team_a.get_by_role("button", name="Add the reference").click()
    alert = team_a.get_by_role("alert")
    expect(alert).to_contain_text("SourceNotUsable")
    expect(alert).to_contain_text("shipway.dev/allowed-pipelines")
    expect(team_a.get_by_label("Secret name", exact=True)).to_have_value("unconsented")  # the form is kept
    recorder.page(team_a, "refused reference")
    screenshot(team_a, "refused-reference")
    after = world.sandbox.kube.pipeline("shop")
    assert before is not None and after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_settings_and_a_confirmed_removal(team_a: Page, world: World, recorder: Recorder) -> None:
    team_a.goto(f"{world.url}/ui/pipelines/shop/settings")
    accessible(team_a)
    team_a.get_by_label("Reclaim policy", exact=True).select_option("Delete")
    team_a.get_by_label("Test", exact=True).select_option("enabled")
    team_a.get_by_role("button", name="Save the settings").click()
    expect(team_a.get_by_role("status")).to_have_text("Settings saved")
    spec = world.sandbox.kube.pipeline("shop")["spec"]  # type: ignore[index]
    assert spec["reclaimPolicy"] == "Delete"
    assert [p["name"] for p in spec["phases"]] == ["stage", "production", "test"]
    screenshot(team_a, "settings")
    team_a.get_by_label("Test", exact=True).select_option("absent")
    team_a.get_by_role("button", name="Save the settings").click()
    expect(team_a.get_by_role("heading", name="Remove or disable phases?")).to_be_visible()
    assert [p["name"] for p in world.sandbox.kube.pipeline("shop")["spec"]["phases"]] == [  # type: ignore[index]
        "stage", "production", "test"]  # nothing changed before the confirmation
    team_a.get_by_role("button", name="Apply the change").click()
    expect(team_a.get_by_role("status")).to_have_text("Settings saved")
    assert [p["name"] for p in world.sandbox.kube.pipeline("shop")["spec"]["phases"]] == [  # type: ignore[index]
        "stage", "production"]
    # Removing a credential asks first; cancelling changes nothing.
    team_a.goto(f"{world.url}/ui/pipelines/shop/credentials")
    team_a.get_by_role("link", name=re.compile("Remove")).first.click()
    expect(team_a.get_by_role("heading", name="Remove a credential?")).to_be_visible()
    recorder.page(team_a, "confirm removal")
    screenshot(team_a, "confirm-removal")
    team_a.get_by_role("link", name="Cancel").click()
    assert len(world.sandbox.kube.pipeline("shop")["spec"]["registry"]["credentials"]) == 1  # type: ignore[index]
    # Confirmed, the production phase's own credential goes: the pipeline layer's serves production again.
    team_a.goto(f"{world.url}/ui/pipelines/shop/credentials")
    team_a.get_by_role("link", name=re.compile("from phase production")).click()
    team_a.get_by_role("button", name="Remove the credential").click()
    expect(team_a.get_by_role("status")).to_contain_text("Removed: phase production layer")
    phases = world.sandbox.kube.pipeline("shop")["spec"]["phases"]  # type: ignore[index]
    assert not phases[1].get("registry", {}).get("credentials")
    row = team_a.locator("section[aria-labelledby='phase-production'] tr", has_text=world.registry.host).first
    expect(row.locator("td.wins")).to_contain_text("shipway-pipeline-shop")
