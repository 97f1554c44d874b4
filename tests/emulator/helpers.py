"""Helpers shared by the emulator tests: fixtures' data, waiting, reading watch streams."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx

WIDGETS_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}
WIDGETS = "/apis/example.com/v1/namespaces/{ns}/widgets"


async def make_namespace(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body

@dataclasses.dataclass
class Completed:
    code: int
    stdout: str
    stderr: str

async def read_events(response: httpx.Response, count: int, *, timeout: float = 3) -> list[dict[str, Any]]:
    """The next ``count`` events of a watch stream."""
    result: list[dict[str, Any]] = []

    lines = getattr(response, "_emulator_test_lines", None)
    if lines is None:  # httpx lets a response be iterated once: keep one line iterator per response
        lines = response.aiter_lines()
        response._emulator_test_lines = lines  # type: ignore[attr-defined]

    async def collect() -> None:
        async for line in lines:
            if line.strip():
                result.append(json.loads(line))
                if len(result) >= count:
                    return

    await asyncio.wait_for(collect(), timeout=timeout)
    return result

async def eventually(check: Any, *, timeout: float = 3.0, interval: float = 0.02) -> None:
    """Wait until ``await check()`` is truthy (for the control-plane's asynchronous controllers)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(interval)

