"""The console's parts on their own (no sandbox, no browser): sessions, the audit ring, the layer picture,
form errors as the API words them, the Origin check, and the Events filter."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import logging
from typing import Any

import pytest
from starlette.requests import Request

from shipway.adapters.kube.reviews import UserInfo
from shipway.api.console import audit, guards, reading
from shipway.api.console.changing import Settings, address_of, losses, settings_of
from shipway.api.console.forms import Form, build
from shipway.api.console.pictures import picture_of, summary_of, verified_summary
from shipway.api.console.sessions import SessionStore
from shipway.api.schemas import CredentialSet
from shipway.core.errors import Forbidden, InvalidInput
from shipway.core.layers import Layer
from shipway.core.resources import ReclaimPolicy
from shipway.core.secrets import Secret


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_its_idle_time_and_its_lifetime() -> None:
    clock = Clock()
    store = SessionStore(idle=60, lifetime=300, clock=clock)
    session_id, session = store.create(token=Secret("token-of-team-a-123"), username="team-a")
    for _ in range(4):  # used every 50 s: alive while under its lifetime
        clock.now += 50
        assert store.get(session_id) is session
    clock.now += 101  # 301 s after sign-in
    assert store.get(session_id) is None
    other_id, _ = store.create(token=Secret("another-token-1234"), username="team-a")
    clock.now += 61
    assert store.get(other_id) is None


def test_sessions_are_kept_by_a_digest_of_their_id_and_never_print_the_token() -> None:
    store = SessionStore(limit=2)
    first, session = store.create(token=Secret("token-of-team-a-123"), username="team-a")
    assert first not in repr(store.__dict__) and "token-of-team-a-123" not in repr(session)
    assert store.get(first + "x") is None and store.get(None) is None and store.get("a" * 500) is None
    assert session.csrf_matches(session.csrf) and not session.csrf_matches("nope") and not session.csrf_matches(None)
    second, _ = store.create(token=Secret("token-of-team-b-123"), username="team-b")
    store.create(token=Secret("token-of-team-c-123"), username="team-c")  # over the bound: the oldest goes
    assert len(store) == 2 and store.get(first) is None and store.get(second) is not None
    store.end(second)
    assert store.get(second) is None


def _audit_record(details: dict[str, Any]) -> logging.LogRecord:
    return logging.LogRecord("shipway.audit", logging.INFO, __file__, 1, "audit %s",
                             (json.dumps(details, sort_keys=True),), None)


def test_the_audit_ring_keeps_recent_entries_per_pipeline_within_bounds() -> None:
    ring = audit.AuditRing(per_pipeline=2, pipelines=2)
    for n, pipeline in enumerate(["shop", "shop", "shop", "blog", "web"]):
        ring.emit(_audit_record({"user": "team-a", "reason": "CredentialSet", "message": f"change {n}",
                                 "layer": "pipeline", "pipeline": pipeline, "newFingerprint": f"sha256:{n}"}))
    ring.emit(logging.LogRecord("shipway.audit", logging.INFO, __file__, 1, "something else %s", ("x",), None))
    assert ring.recent("shop") == []  # the least recently changed pipeline went first
    assert [e.message for e in ring.recent("blog")] == ["change 3"]
    assert ring.recent("web")[0].new_fingerprint == "sha256:4"


def test_the_audit_ring_reads_a_record_a_redacting_filter_already_formatted() -> None:
    record = _audit_record({"user": "admin", "reason": "CredentialRemoved", "layer": "platform", "pipeline": None})
    record.msg, record.args = record.getMessage(), None
    found = audit.entry_of(record)
    assert found is not None and found[0] == audit.PLATFORM_KEY and found[1].user == "admin"


def test_attaching_the_ring_lets_audit_lines_reach_it_while_its_owner_lives() -> None:
    class Owner:
        pass

    owner = Owner()
    ring = audit.attach(audit.AuditRing(), owner=owner)
    logging.getLogger("shipway.audit").info("audit %s", json.dumps({"pipeline": "shop", "user": "u"}))
    assert [e.user for e in ring.recent("shop")] == ["u"]
    del owner
    gc.collect()
    assert ring not in logging.getLogger("shipway.audit").handlers


PHASE = {
    "phase": "production", "namespace": "shop-production", "pullFingerprint": "sha256:pull",
    "pull": [
        {"registry": "quay.io", "source": "phase", "fingerprint": "sha256:phase", "usage": ["pull"],
         "secretRef": {"namespace": "shipway-system", "name": "shipway-phase-shop-production-ab-cd"},
         "overrides": [{"source": "pipeline", "secretRef": "team-a/team-registry"}],
         "verified": {"status": "False", "reason": "Unauthorized", "lastCheckTime": "2026-01-01T00:00:00Z"}},
        {"registry": "registry.example.com", "source": "platform", "fingerprint": "sha256:platform",
         "usage": ["pull", "push"], "secretRef": {"namespace": "shipway-system", "name": "default-registry"},
         "overrides": [], "verified": None},
    ],
    "push": None, "pushRepository": None,
    "findings": [{"reason": "SourceNotUsable", "message": "Secret team-b/x cannot be used", "layer": "pipeline",
                  "secretRef": "team-b/x"}],
}


def test_the_layer_picture_shows_winner_overridden_inherited_and_findings() -> None:
    picture = picture_of(PHASE)
    first, second = picture.rows
    assert (first.order, first.layer, first.inherited, first.verified) == (1, "phase", False, "False")
    winner = first.cells["phase"]
    assert winner is not None and winner.wins and winner.managed and winner.fingerprint == "sha256:phase"
    loser = first.cells["pipeline"]
    assert loser is not None and not loser.wins and not loser.managed and loser.source == "team-a/team-registry"
    assert first.cells["platform"] is None
    assert second.inherited and second.verified == "Unknown" and second.verified_reason == "not checked yet"
    assert [f.reason for f in picture.findings] == ["SourceNotUsable"]


def test_a_pipeline_summary_takes_its_last_change_and_verification_from_status() -> None:
    body = {"metadata": {"name": "shop"}, "spec": {"phases": [{"name": "stage"}, {"name": "test", "enabled": False}]},
            "status": {"reclaimPolicy": "Retain", "conditions": [
                {"type": "Ready", "status": "False", "reason": "SourceNotUsable", "lastTransitionTime": "2026-01-02"},
                {"type": "Degraded", "status": "True", "reason": "X", "lastTransitionTime": "2026-01-03"}],
                "verifications": [{"status": "True"}, {"status": "False", "reason": "Unreachable",
                                                       "registry": "quay.io"}]}}
    summary = summary_of(body)
    assert (summary.ready, summary.ready_reason, summary.last_change) == ("False", "SourceNotUsable", "2026-01-03")
    assert (summary.verified, summary.verified_reason) == ("False", "Unreachable (quay.io)")
    assert summary.phases == ["stage", "test (disabled)"]
    assert summary.reclaim_policy == "Retain (the platform's default)"
    assert verified_summary([]) == ("Unknown", "not checked yet")


def test_a_form_is_refused_with_the_api_message_and_field_never_the_value() -> None:
    with pytest.raises(InvalidInput) as refused:
        build(CredentialSet, {"registry": "https://", "username": "bot", "password": "hunter2-secret-value"})
    assert refused.value.field == "registry" and "hunter2" not in refused.value.message
    with pytest.raises(InvalidInput) as twice:
        build(CredentialSet, {"registry": "quay.io", "usage": ["pull", "pull"], "password": "x"})
    assert twice.value.message == "usage lists a value twice" and twice.value.field == "usage"


def test_settings_forms_are_validated_and_destructive_changes_found() -> None:
    form = Form({"phase-stage": ["enabled"], "phase-production": ["disabled"], "inherit": ["on"],
                 "reclaimPolicy": ["Delete"]})
    settings = settings_of(form)
    assert settings == Settings(phases={"stage": True, "production": False}, inherit=True,
                                reclaim=ReclaimPolicy.DELETE)
    spec = {"phases": [{"name": "stage"}, {"name": "production"}, {"name": "test"}]}
    assert losses(spec, settings) == ["production (disabled)", "test (removed)"]
    with pytest.raises(InvalidInput, match="at least 1"):
        settings_of(Form({}))
    with pytest.raises(InvalidInput) as bad:
        settings_of(Form({"phase-stage": ["enabled"], "reclaimPolicy": ["Forever"]}))
    assert bad.value.field == "reclaimPolicy"
    assert address_of("shop", "phase:stage").layer is Layer.PHASE
    with pytest.raises(InvalidInput):
        address_of("shop", "phase:nope")


def _request(headers: dict[str, str], *, scheme: str = "http") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8000", **headers}.items()]
    return Request({"type": "http", "method": "POST", "scheme": scheme, "path": "/ui/x", "headers": raw,
                    "server": ("127.0.0.1", 8000), "query_string": b""})


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"origin": "http://127.0.0.1:8000"}, True),
    ({"origin": "null", "sec-fetch-site": "same-origin"}, True),  # no-referrer: the browser says where from
    ({"referer": "http://127.0.0.1:8000/ui/"}, True),  # not a browser: its Referer
    ({"origin": "http://127.0.0.1:9000"}, False),  # same site, another origin
    ({"origin": "https://127.0.0.1:8000"}, False),
    ({"origin": "null", "sec-fetch-site": "same-site"}, False),
    ({"origin": "null", "sec-fetch-site": "cross-site", "referer": "http://127.0.0.1:8000/"}, False),
    ({}, False),
])
def test_only_the_console_s_own_origin_may_post(headers: dict[str, str], allowed: bool) -> None:
    if allowed:
        guards.check_origin(_request(headers))
    else:
        with pytest.raises(Forbidden):
            guards.check_origin(_request(headers))


class FakeAccess:
    def __init__(self, allowed: bool) -> None:
        self.allowed_ = allowed

    async def require(self, user: UserInfo, access: Any) -> None:
        if not self.allowed_:
            raise Forbidden(f"user {user.username!r} may not {access}")


class FakeKube:
    def __init__(self, events: list[dict[str, Any]] | Exception) -> None:
        self.events = events

    async def get(self, kind: Any, name: str, **_: Any) -> dict[str, Any]:
        return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                "metadata": {"name": name, "uid": "u-1"}, "spec": {"phases": [{"name": "stage"}]}}

    async def list(self, kind: Any, **_: Any) -> list[dict[str, Any]]:
        if isinstance(self.events, Exception):
            raise self.events
        return self.events


def run(coroutine: Any) -> Any:
    """Run a coroutine to its end in a thread of its own (the browser tests' Playwright keeps a loop running in
    this one while the package's fixtures live)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _event(name: str, uid: str, at: str, kind: str = "Pipeline") -> dict[str, Any]:
    return {"regarding": {"kind": kind, "name": name, "uid": uid}, "eventTime": at, "reason": "Delivered",
            "note": f"{name} at {at}", "type": "Normal", "reportingController": "shipway.dev/operator"}


def test_events_are_the_pipeline_s_own_newest_first_and_only_for_who_may_get_it() -> None:
    user = UserInfo(username="team-a", groups=())
    events = [_event("shop", "u-1", "2026-01-01"), _event("shop", "u-1", "2026-01-02"),
              _event("shop", "old-uid", "2026-01-03"), _event("blog", "u-2", "2026-01-04"),
              _event("shop", "u-1", "2026-01-05", kind="Platform")]
    state: Any = type("State", (), {"access": FakeAccess(True), "kube": FakeKube(events)})()
    shown, why = run(reading.events(state, user, "shop"))
    assert why is None and [e["at"] for e in shown] == ["2026-01-02", "2026-01-01"]
    state.kube = FakeKube(Forbidden("no"))
    shown, why = run(reading.events(state, user, "shop"))
    assert shown == [] and why is not None and "may not list Events" in why
    state.access = FakeAccess(False)
    with pytest.raises(Forbidden):
        run(reading.events(state, user, "shop"))
