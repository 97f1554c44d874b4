"""The Kubero export fixture, its canaries, and a stand-in for the API server's merge patch."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.api.helpers import find_canaries

FIXTURE = Path(__file__).parent / "fixtures" / "kubero-export.yaml"
FIXTURE_REGISTRY = "registry.kubero.example.com"  # the global registry, and webshop's and blog's
DOCS_REGISTRY = "ghcr.io"
GLOBAL_PASSWORD = "CANARYKUBEROGLOBAL7d1c0e9a44b25f3e8a6b"
BLOG_PASSWORD = "CANARYBLOGPIPELINE5e0b7f2c9d4a1e3b6c8f"
DOCS_PASSWORD = "CANARYDOCSPIPELINE9a3f1c7e5b2d0a8e4f6c"
GIT_KEYS = ("CANARYGITKEYwebshop3f9a7c2e1b4d8f605", "CANARYGITKEYblog8e2d4c6a0f7b1e93d5")
CANARIES = (GLOBAL_PASSWORD, BLOG_PASSWORD, DOCS_PASSWORD, *GIT_KEYS)


def fixture_text(*, registry: str = FIXTURE_REGISTRY, docs_registry: str = DOCS_REGISTRY) -> str:
    """The export, its registries moved (the sandbox tests point them at real, local registries)."""
    return FIXTURE.read_text().replace(FIXTURE_REGISTRY, registry).replace(
        f"host: {DOCS_REGISTRY}", f"host: {docs_registry}")


def fixture_documents(text: str | None = None) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text or fixture_text()) if doc is not None]


def items(text: str | None = None) -> list[dict[str, Any]]:
    return list(fixture_documents(text)[0]["items"])


def leaks(texts: Iterable[tuple[str, str]]) -> list[str]:
    """Every canary (plain, base64 at any alignment, base64 twice) found in the texts."""
    return find_canaries(CANARIES, texts)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies ``application/merge-patch+json``."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def secret_password_entries(secret: Mapping[str, Any]) -> dict[str, Any]:
    """The auths of a stored dockerconfigjson Secret."""
    return dict(json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"])
