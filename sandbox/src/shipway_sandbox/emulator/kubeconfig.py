"""A kubeconfig for clients of the emulator: plain HTTP and a bearer token.

Without users the emulator admits any token, so a dummy one is written; with users, pass the admin's
(``ClusterEmulator.kubeconfig_token``) and, over HTTPS, the server's CA (``EmulatorServer.write_kubeconfig``
does both).
"""

from __future__ import annotations

import base64
import os
import pathlib

import yaml

DUMMY_TOKEN = "shipway-emulator-token"  # not a secret: the emulator admits any token


def render(url: str, *, context: str = "shipway-emulator", namespace: str = "default",
           token: str = DUMMY_TOKEN, ca_pem: bytes | None = None) -> str:
    cluster: dict[str, str] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: pathlib.Path, url: str, *, token: str = DUMMY_TOKEN, ca_pem: bytes | None = None) -> pathlib.Path:
    """Write the kubeconfig with mode 0600 (it may hold a real token: never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(render(url, token=token, ca_pem=ca_pem))
    return path
