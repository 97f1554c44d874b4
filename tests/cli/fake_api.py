"""A stand-in for the Shipway REST API behind the CLI's real client (``ShipwayApi`` over an httpx mock
transport): canned answers shaped as the API's, every request recorded, and errors in the API's shape
(``{"error": {"type", "message", "field"}}``) for the tests of exit codes and field names."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipway.adapters.shipway_api import ShipwayApi
from shipway.cli import profiles
from shipway.core.secrets import Secret

URL = "http://shipway.invalid"
# Long enough that a folded or cut table would show: every one must appear whole in any table output.
FINGERPRINTS = ("sha256:0123456789abcdef", "sha256:fedcba9876543210", "sha256:00ff00ff00ff00ff")
REGISTRY_SECRET = "shipway-pipeline-shop-0123456789-abcdefab-with-a-long-name-to-push-the-table-wide"


def entry(registry: str, fingerprint: str, *, source: str = "pipeline", usage: tuple[str, ...] = ("pull", "push"),
          secret: tuple[str, str] = ("shipway-system", REGISTRY_SECRET)) -> dict[str, Any]:
    return {"registry": registry, "source": source, "secretRef": {"namespace": secret[0], "name": secret[1]},
            "fingerprint": fingerprint, "usage": list(usage), "key": registry, "overrides": [],
            "verified": {"status": "True", "reason": "Verified"}}


def phase_view(phase: str) -> dict[str, Any]:
    push = entry("ghcr.io/team-a", FINGERPRINTS[0])
    return {"pipeline": "shop", "phase": phase, "namespace": f"shop-{phase}",
            "pull": [entry("ghcr.io/team-a", FINGERPRINTS[0]),
                     entry("registry.example.com", FINGERPRINTS[1], source="platform", usage=("pull",),
                           secret=("shipway-system", "default-registry"))],
            "pullFingerprint": FINGERPRINTS[2], "push": push, "pushRepository": "ghcr.io/team-a/shop",
            "findings": []}


def pipeline(name: str = "shop") -> dict[str, Any]:
    return {
        "name": name,
        "phases": [{"name": "stage", "namespace": f"{name}-stage", "enabled": True, "credentials": []},
                   {"name": "production", "namespace": "prod-shop", "enabled": True, "credentials": []}],
        "inherit": True, "push": {"registry": "ghcr.io", "repositoryPrefix": "team-a/shop"},
        "credentials": [{"secretRef": {"namespace": "shipway-system", "name": REGISTRY_SECRET},
                         "usage": ["pull", "push"], "managed": True, "registry": "ghcr.io/team-a"}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "delivered"}],
        "generation": 3, "reclaimPolicy": "Retain",
    }


EXPLAIN = {"pipeline": "shop", "phase": "stage", "image": "ghcr.io/team-a/shop:1.0",
           "normalized": "ghcr.io/team-a/shop",
           "tries": [{"order": 1, "key": "ghcr.io/team-a", "registry": "ghcr.io/team-a", "layer": "pipeline",
                      "secretRef": {"namespace": "shipway-system", "name": REGISTRY_SECRET},
                      "fingerprint": FINGERPRINTS[0], "reason": "key 'ghcr.io/team-a' matches"}],
           "note": "the kubelet tries these in order until a pull succeeds"}
VERIFY = {"pipeline": "shop", "phase": "stage", "registry": "ghcr.io/team-a", "repository": None,
          "source": "pipeline", "secretRef": {"namespace": "shipway-system", "name": REGISTRY_SECRET},
          "fingerprint": FINGERPRINTS[0], "outcome": "Valid", "valid": {"ok": True, "outcome": "Valid"},
          "canPull": None, "canPush": None}


def error(status: int, kind: str, message: str, field: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"type": kind, "message": message}
    if field:
        body["field"] = field
    return httpx.Response(status, json={"error": body})


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeApi:
    pipelines: dict[str, dict[str, Any]] = field(default_factory=lambda: {"shop": pipeline()})
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    overrides: dict[tuple[str, str], Handler] = field(default_factory=dict)

    def answer(self, method: str, path: str, handler: Handler | httpx.Response) -> None:
        """Answer ``method path`` with ``handler`` (or always this response) instead of the canned answer."""
        self.overrides[(method, path)] = handler if callable(handler) else (lambda _request: handler)

    def bodies(self, method: str) -> list[Any]:
        return [body for m, _, body in self.requests if m == method]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        body = json.loads(request.content) if request.content else None
        self.requests.append((method, path, body))
        if (method, path) in self.overrides:
            return self.overrides[(method, path)](request)
        parts = path.removeprefix("/api/v1/pipelines").strip("/").split("/")
        name = parts[0]
        if method == "GET" and path == "/api/v1/pipelines":
            return httpx.Response(200, json=list(self.pipelines.values()))
        if method == "POST" and path == "/api/v1/pipelines":
            created = {**pipeline(body["name"]), "inherit": body["inherit"], "push": body.get("push"),
                       "reclaimPolicy": body.get("reclaimPolicy"),
                       "phases": [{"name": p["name"], "namespace": p.get("namespace") or f"{body['name']}-{p['name']}",
                                   "enabled": p.get("enabled", True), "credentials": []} for p in body["phases"]]}
            self.pipelines[body["name"]] = created
            return httpx.Response(201, json=created)
        if name not in self.pipelines:
            return error(403, "Forbidden", f"user 'team-a' may not get pipelines.shipway.dev {name!r}")
        current = self.pipelines[name]
        if method == "GET" and len(parts) == 1:
            return httpx.Response(200, json=current)
        if method == "PUT" and len(parts) == 1:
            updated = copy.deepcopy(current)
            updated.update(inherit=body["inherit"], push=body["push"], reclaimPolicy=body.get("reclaimPolicy"),
                           phases=[{"name": p["name"], "namespace": p.get("namespace") or f"{name}-{p['name']}",
                                    "enabled": p.get("enabled", True), "credentials": []} for p in body["phases"]])
            self.pipelines[name] = updated
            return httpx.Response(200, json=updated)
        if method == "GET" and parts[1:] == ["effective"]:
            return httpx.Response(200, json={"pipeline": name, "phases": [phase_view(p["name"])
                                                                          for p in current["phases"]]})
        if method == "GET" and parts[1:3] == ["phases", "stage"] and parts[3:] == ["explain"]:
            return httpx.Response(200, json=EXPLAIN)
        if method == "POST" and parts[1:] == ["verify"]:
            return httpx.Response(200, json=VERIFY)
        return error(404, "HTTPError", "Not Found")


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeApi:
    """The CLI logged in to a fake API: a profile in a config file of its own, the client's transport mocked."""
    fake = FakeApi()
    config = tmp_path / "cli-config.yaml"
    profiles.save_profile(name="default", url=URL, token=Secret("a-test-token"), path=config)
    monkeypatch.setenv("SHIPWAY_CONFIG", str(config))
    monkeypatch.delenv("SHIPWAY_PROFILE", raising=False)

    def client(*, url: str, token: Secret) -> ShipwayApi:
        api = ShipwayApi(url=url, token=token)
        api._client.close()
        api._client = httpx.Client(base_url=url, transport=httpx.MockTransport(fake))
        return api

    monkeypatch.setattr(profiles, "ShipwayApi", client)
    return fake
