"""Helpers for the end-to-end tests: source Secrets, delivered Secrets read back, skopeo and the CLI.

Everything here talks to real processes: the emulator over HTTP (through ``Api``), ``skopeo`` and
``shipway registry verify`` as subprocesses, with a private HOME so no user's docker config is read.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.core import names
from tests.support.cluster import Api, Cluster

SHIPWAY = Path(sys.executable).with_name("shipway")
DELIVERY_TIMEOUT = 20.0
SYSTEM_NAMESPACE = "shipway-system"  # the Platform's; platform-layer sources live here
CREDENTIALS_NAMESPACE = "e2e-team-credentials"  # pipeline-layer sources, usable with consent


@dataclass(frozen=True)
class User:
    """A registry user whose password is a canary: it must never show up where secrets do not belong."""

    name: str
    password: str

    @classmethod
    def fresh(cls, prefix: str) -> User:
        return cls(f"{prefix}-{secrets.token_hex(3)}", f"canary-{secrets.token_urlsafe(15)}")

    @property
    def auth(self) -> str:
        """The base64 ``user:password`` a docker config carries: a canary too."""
        return base64.b64encode(f"{self.name}:{self.password}".encode()).decode()

    @property
    def canaries(self) -> tuple[str, str]:
        return self.password, self.auth


def dockerconfigjson(registry: str, user: User) -> str:
    payload = {"auths": {registry: {"username": user.name, "password": user.password}}}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def source_secret(namespace: str, name: str, registry: str, user: User, *,
                  allowed_pipelines: str | None = None, allowed_usage: str | None = None) -> dict[str, Any]:
    """A labelled source Secret with ``data`` (as the API server stores it), one auths entry; with
    ``allowed_pipelines`` it consents to them, for ``allowed_usage`` (without it: pull only)."""
    annotations = {names.CONSENT_ANNOTATION: allowed_pipelines} if allowed_pipelines else {}
    if allowed_usage:
        annotations[names.USAGE_ANNOTATION] = allowed_usage
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": namespace, "labels": {names.CREDENTIAL_LABEL: "true"},
                     "annotations": annotations},
        "data": {".dockerconfigjson": dockerconfigjson(registry, user)},
    }


def credential(namespace: str, name: str, *usage: str) -> dict[str, Any]:
    return {"secretRef": {"namespace": namespace, "name": name}, "usage": list(usage)}


def wait_for_secret(api: Api, namespace: str, name: str, *, other_than: str | None = None,
                    timeout: float = DELIVERY_TIMEOUT) -> dict[str, Any]:
    """The Secret once it exists (and, with ``other_than``, once its fingerprint annotation differs)."""

    def check() -> dict[str, Any] | None:
        secret = api.get("v1", "secrets", name, namespace=namespace)
        if secret is None:
            return None
        if other_than is not None and fingerprint(secret) == other_than:
            return None
        return secret

    return dict(api.eventually(check, timeout=timeout))


def fingerprint(secret: dict[str, Any]) -> str:
    return str(secret["metadata"]["annotations"][names.FINGERPRINT_ANNOTATION])


def config_of(secret: dict[str, Any]) -> bytes:
    return base64.b64decode(secret["data"][".dockerconfigjson"])


def users_in(secret: dict[str, Any]) -> dict[str, str]:
    """auths key -> user name of a delivered Secret (read through its base64 ``auth``)."""
    auths = json.loads(config_of(secret))["auths"]
    return {key: base64.b64decode(entry["auth"]).decode().partition(":")[0] for key, entry in auths.items()}


def write_authfile(secret: dict[str, Any], path: Path) -> Path:
    """The delivered ``.dockerconfigjson``, decoded, as a file skopeo and the CLI can read."""
    path.write_bytes(config_of(secret))
    path.chmod(0o600)
    return path


class Tools:
    """``skopeo`` and ``shipway`` as a user would run them, in a private HOME and with our own policy."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.policy = home / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_RUNTIME_DIR")}
        self.env["HOME"] = str(home)

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False,
                              env=self.env, input=stdin)

    def inspect(self, reference: str, authfile: Path) -> subprocess.CompletedProcess[str]:
        return self.run("skopeo", "inspect", "--raw", "--authfile", str(authfile), "--tls-verify=false",
                        f"docker://{reference}")

    def copy(self, layout: Path, tag: str, destination: str, authfile: Path) -> subprocess.CompletedProcess[str]:
        return self.run("skopeo", "--policy", str(self.policy), "copy", "--quiet", "--retry-times", "0",
                        "--authfile", str(authfile), "--dest-tls-verify=false", f"oci:{layout}:{tag}",
                        f"docker://{destination}")

    def digest(self, reference: str, authfile: Path) -> str:
        result = self.run("skopeo", "inspect", "--format", "{{.Digest}}", "--authfile", str(authfile),
                          "--tls-verify=false", f"docker://{reference}")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def verify(self, registry: str, config: Path, *, repository: str, reference: str,
               no_push: bool = False) -> tuple[int, dict[str, Any], str]:
        """``shipway registry verify --json``: (exit code, the JSON document, all its output)."""
        args = [str(SHIPWAY), "registry", "verify", "--registry", registry, "--config", str(config),
                "--repository", repository, "--reference", reference, "--json"]
        if no_push:
            args.append("--no-push")
        result = self.run(*args)
        text = result.stdout + result.stderr
        assert "Traceback" not in text, text
        return result.returncode, json.loads(result.stdout), text


def assert_no_canary(canaries: Iterable[str], **places: str) -> None:
    """No canary (password, or its base64 ``auth``) in any of the named texts."""
    for canary in canaries:
        for where, text in places.items():
            assert canary not in text, f"a registry password reached {where}"


def everything_shipway_reports(cluster: Cluster, pipeline: str) -> dict[str, str]:
    """The places a password must never reach: the Pipeline (status included), the Platform, the operator."""
    api = cluster.api
    assert cluster.operator is not None
    return {
        "the Pipeline": json.dumps(api.get(names.API_VERSION, "pipelines", pipeline)),
        "the Platform": json.dumps(api.get(names.API_VERSION, "platforms", names.PLATFORM_NAME)),
        "the operator's output": cluster.operator.output.text,
    }


def assert_ready(api: Api, pipeline: str) -> None:
    """The Pipeline reports Ready=True and no Degraded finding (e.g. a push target without a credential)."""

    def check() -> bool:
        body = api.get(names.API_VERSION, "pipelines", pipeline) or {}
        conditions = {c["type"]: c for c in (body.get("status") or {}).get("conditions") or []}
        assert conditions["Ready"]["status"] == "True", conditions
        assert conditions["Degraded"]["status"] == "False", conditions
        return True

    api.eventually(check, timeout=DELIVERY_TIMEOUT)
