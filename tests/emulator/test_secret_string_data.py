"""A Secret's ``stringData`` is a write-only convenience: a real API server folds it into ``data`` (base64),
with ``stringData`` winning over ``data`` for the same key, and never returns it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from shipway_sandbox.emulator import EmulatorServer


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with EmulatorServer() as server, httpx.AsyncClient(base_url=server.url) as client:
        yield client


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_string_data_is_folded_into_data_on_create_and_not_returned(api: httpx.AsyncClient) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
              "data": {"a": _b64("from-data"), "b": _b64("kept")}, "stringData": {"a": "from-string-data"}}
    created = (await api.post("/api/v1/namespaces/default/secrets", json=secret)).json()
    assert "stringData" not in created
    assert created["data"] == {"a": _b64("from-string-data"), "b": _b64("kept")}
    read = (await api.get("/api/v1/namespaces/default/secrets/s")).json()
    assert read["data"] == created["data"] and "stringData" not in read


async def test_a_merge_patch_of_string_data_replaces_the_data_key(api: httpx.AsyncClient) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "p"}, "data": {"a": _b64("old")}}
    await api.post("/api/v1/namespaces/default/secrets", json=secret)
    patched = (await api.patch("/api/v1/namespaces/default/secrets/p", json={"stringData": {"a": "new"}},
                               headers={"Content-Type": "application/merge-patch+json"})).json()
    assert patched["data"] == {"a": _b64("new")} and "stringData" not in patched
