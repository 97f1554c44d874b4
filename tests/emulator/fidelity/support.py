"""Constants and helpers of the fidelity tests (their fixtures are in this directory's conftest)."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ..helpers import Completed

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"
PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
Kubectl = Callable[..., Awaitable[Completed]]


async def pipeline_of(admin: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await admin.get(f"{PIPELINES}/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def cells(table: str) -> list[list[str]]:
    """kubectl's table output as rows of cells (split on runs of two spaces or more)."""
    return [re.split(r"\s{2,}", line.strip()) for line in table.splitlines() if line.strip()]
