"""The REST API in-process: the real application (routers, access control, admission rules, credential
services) through httpx's ASGI transport, over the in-memory cluster of tests/reconcile (which answers the
TokenReviews and SubjectAccessReviews the real access control asks). Sentence-named cases."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from shipway.adapters.kube import resources as kinds
from shipway.api.app import create_app
from shipway.api.settings import ApiSettings
from tests.reconcile.memory import MemoryCluster

TOKENS = {"token-a": "team-a", "token-admin": "admin"}
CANARY = "canary-inprocess-password"


def authorize(user: str, attributes: Mapping[str, Any]) -> bool:
    """team-a: create any pipeline, everything on ``shop``, read Secrets in its namespace; admin: all."""
    if user == "admin":
        return True
    resource, name, verb = attributes.get("resource"), attributes.get("name"), attributes.get("verb")
    if resource == "pipelines":
        return verb == "create" or name == "shop"
    if resource == "secrets":
        return attributes.get("namespace") == "team-a" and verb == "get"
    return resource == "platforms" and verb == "get"


@pytest.fixture
def cluster() -> MemoryCluster:
    made = MemoryCluster(tokens=TOKENS, authorize=authorize)
    made.put(kinds.PLATFORM, {"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform",
                              "metadata": {"name": "default"}, "spec": {}})
    return made


@pytest.fixture
async def client(cluster: MemoryCluster) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=ApiSettings(), kube=cluster)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as made:
        yield made


def as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_team_creates_its_pipeline_and_not_one_under_a_name_it_could_not_manage(
        client: httpx.AsyncClient, cluster: MemoryCluster) -> None:
    made = await client.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"}]},
                             headers=as_user("token-a"))
    assert made.status_code == 201, made.text
    refused = await client.post("/api/v1/pipelines", json={"name": "news", "phases": [{"name": "stage"}]},
                                headers=as_user("token-a"))
    assert refused.status_code == 403
    assert refused.json()["error"] == {"type": "Forbidden", "field": "name", "message": (
        "whoever creates a pipeline must be able to get, update and delete it: the requester may not get a "
        "pipeline of this name (PipelineNameNotManageable)")}
    assert ("pipelines", "", "news") not in cluster.objects


async def test_a_credential_set_by_value_lands_in_one_managed_secret_the_pipeline_references(
        client: httpx.AsyncClient, cluster: MemoryCluster) -> None:
    await client.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"}]},
                      headers=as_user("token-a"))
    answer = await client.put("/api/v1/pipelines/shop/credentials", headers=as_user("token-a"),
                              json={"registry": "ghcr.io", "username": "bot", "password": CANARY})
    assert answer.status_code == 200, answer.text
    assert CANARY not in answer.text
    ref = answer.json()["secretRef"]
    secret = cluster.objects[("secrets", ref["namespace"], ref["name"])]
    assert secret["metadata"]["labels"]["shipway.dev/pipeline"] == "shop"
    stored = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert stored["auths"]["ghcr.io"]["password"] == CANARY
    spec = cluster.objects[("pipelines", "", "shop")]["spec"]
    assert spec["registry"]["credentials"] == [{"secretRef": ref, "usage": ["pull"]}]


async def test_a_refused_reference_writes_nothing_and_gives_the_one_answer(
        client: httpx.AsyncClient, cluster: MemoryCluster) -> None:
    await client.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"}]},
                      headers=as_user("token-a"))
    before = repr(sorted(cluster.objects.items()))
    refused = await client.post("/api/v1/pipelines/shop/credentials/references", headers=as_user("token-a"),
                                json={"secretRef": {"namespace": "team-b", "name": "theirs"}})
    assert refused.status_code == 403
    assert "SourceNotUsable" in refused.json()["error"]["message"]
    assert repr(sorted(cluster.objects.items())) == before


async def test_no_token_is_401_and_another_teams_pipeline_is_403(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/pipelines/blog")).status_code == 401
    assert (await client.get("/api/v1/pipelines/blog", headers=as_user("token-a"))).status_code == 403
    assert (await client.get("/api/v1/pipelines/blog", headers=as_user("wrong"))).status_code == 401
