"""Helpers of the CLI tests: the canary, its check, and docker configs and Secret manifests that carry it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

CANARY = "canary-7f3a-DO-NOT-LEAK"
CANARY_USER = "canary-user-7f3a"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def assert_clean(stdout: str, stderr: str) -> None:
    """The canary (plain or inside a base64 auth) never shows, and no traceback is printed."""
    for text in (stdout, stderr):
        assert CANARY not in text
        assert CANARY_USER not in text
        assert base64.b64encode(f"{CANARY_USER}:{CANARY}".encode()).decode() not in text
    assert "Traceback" not in stderr


def auths(*keys: str, password: str = CANARY) -> dict[str, Any]:
    return {"auths": {key: {"username": CANARY_USER, "password": password} for key in keys}}


def secret(name: str, payload: dict[str, Any], *, legacy: bool = False, namespace: str = "default",
           as_data: bool = False, consent: bool = True) -> dict[str, Any]:
    """A Secret manifest of type dockerconfigjson (or dockercfg when ``legacy``), in stringData or data,
    labelled as a credential source; with ``consent`` it lets every pipeline use it for pull and push (the
    isolation rules themselves are tested in tests/core/test_isolation.py)."""
    if legacy:
        payload = payload["auths"]
    key = ".dockercfg" if legacy else ".dockerconfigjson"
    text = json.dumps(payload)
    body = ({"data": {key: base64.b64encode(text.encode()).decode()}} if as_data
            else {"stringData": {key: text}})
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"shipway.dev/credential": "true"}}
    if consent:
        meta["annotations"] = {"shipway.dev/allowed-pipelines": "*", "shipway.dev/allowed-usage": "pull,push"}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": f"kubernetes.io/{key[1:]}", **body}
