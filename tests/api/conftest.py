"""Fixtures: one sandbox (``shipway sandbox up`` as a subprocess) per test module, and API clients per user.

At teardown the sandbox is asked to stop with SIGTERM and must exit, with status 0, within a few seconds;
then every canary password the module planted is looked for (plain and base64-encoded) in every recorded
API response, every Event, every Pipeline and Platform, and the sandbox's whole output: zero hits.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .helpers import Kube, Sandbox, find_canaries, start_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield running
        stored = running.stored_texts()
    finally:
        running.stop()
    hits = find_canaries(running.canaries, [*running.responses, *stored, ("sandbox output", running.output.text)])
    assert hits == [], hits


def _client(sandbox: Sandbox, user: str | None) -> Iterator[httpx.Client]:
    with sandbox.client(user) as client:
        yield client


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, "admin")


@pytest.fixture(scope="module")
def team_a(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, "team-a")


@pytest.fixture(scope="module")
def team_b(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, "team-b")


@pytest.fixture(scope="module")
def anonymous(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, None)


@pytest.fixture(scope="module")
def kube(sandbox: Sandbox) -> Kube:
    return sandbox.kube
