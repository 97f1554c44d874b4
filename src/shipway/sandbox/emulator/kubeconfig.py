"""A kubeconfig for clients of the emulator: plain HTTP and a dummy bearer token."""

from __future__ import annotations

import pathlib

import yaml

DUMMY_TOKEN = "shipway-emulator-token"  # not a secret: the emulator admits any token


def render(url: str, *, context: str = "shipway-emulator", namespace: str = "default") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": context, "user": {"token": DUMMY_TOKEN}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: pathlib.Path, url: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(url))
    path.chmod(0o600)
    return path
