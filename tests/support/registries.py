"""Real registries for tests: Debian's ``docker-registry serve CONFIG`` on free 127.0.0.1 ports.

Three set-ups, each with configs of our own in a temporary directory:

- :func:`start_htpasswd_registry` (``tls=False``): htpasswd users over plain HTTP;
- :func:`start_htpasswd_registry` (``tls=True``): the same over TLS, with a CA made by the test
  (``server.ca_file``);
- :func:`start_token_registry`: token auth whose token service (``server.tokens``) runs in a thread.

Users are changed live (the registry re-reads htpasswd on its next request). Call ``server.stop()`` at
teardown (the pytest fixtures in ``tests/registry/conftest.py`` do). ``server.push_image`` pushes a tiny
OCI image made by :mod:`tests.support.images` with skopeo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import bcrypt
import pytest

from tests.support import images
from tests.support.tls import SigningKey, TlsFiles, make_server_tls, make_signing_key
from tests.support.token_service import TokenService

REGISTRY_BINARY = "docker-registry"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def registry_available() -> bool:
    return shutil.which(REGISTRY_BINARY) is not None and shutil.which("skopeo") is not None


class Htpasswd:
    """An htpasswd file of bcrypt (``$2b$``) entries, rewritten atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._write()

    def add_user(self, username: str, password: str) -> None:
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4))
        with self._lock:
            self._users[username] = hashed
            self._write()

    def remove_user(self, username: str) -> None:
        with self._lock:
            self._users.pop(username, None)
            self._write()

    def _write(self) -> None:
        lines = b"".join(name.encode() + b":" + hashed + b"\n" for name, hashed in self._users.items())
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(lines)
        os.replace(temporary, self.path)
        # The registry reloads when the modification time changes: make sure it does, even within a tick.
        stamp = time.time_ns()
        os.utime(self.path, ns=(stamp, stamp))


def write_authfile(path: Path, registry: str, username: str, password: str) -> Path:
    """A docker config file (``{"auths": {...}}``) with one entry, as skopeo's ``--authfile`` reads it."""
    import base64

    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    path.chmod(0o600)
    return path


@dataclasses.dataclass
class RegistryServer:
    """A running ``docker-registry``. ``host`` is ``127.0.0.1:PORT``, as image references name it."""

    kind: Literal["htpasswd", "htpasswd-tls", "token"]
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    scheme: Literal["http", "https"]
    htpasswd: Htpasswd | None = None
    tls: TlsFiles | None = None
    tokens: TokenService | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls.ca_file if self.tls else None

    def add_user(self, username: str, password: str, access: dict[str, str] | None = None) -> None:
        """Add (or replace) a user. For token auth, ``access`` maps repositories to "pull"/"pull,push"."""
        if self.htpasswd is not None:
            self.htpasswd.add_user(username, password)
        if self.tokens is not None:
            self.tokens.grant(username, password, access or {})

    def remove_user(self, username: str) -> None:
        if self.htpasswd is not None:
            self.htpasswd.remove_user(username)
        if self.tokens is not None:
            self.tokens.revoke(username)

    def authfile(self, username: str, password: str) -> Path:
        path = self.directory / f"auth-{secrets.token_hex(4)}.json"
        return write_authfile(path, self.host, username, password)

    def push_image(self, repository: str, tag: str, *, username: str, password: str) -> str:
        """Push a tiny OCI image with skopeo; returns its manifest digest."""
        layout = self.directory / f"oci-{secrets.token_hex(4)}"
        digest = images.write_oci_layout(layout, tag=tag)
        images.skopeo_copy(layout, tag, f"{self.host}/{repository}:{tag}", self.authfile(username, password))
        return digest

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.tokens is not None:
            self.tokens.stop()

    def log_text(self) -> str:
        return (self.directory / "registry.log").read_text(errors="replace")


def _config(directory: Path, port: int, auth: dict[str, object], tls: TlsFiles | None) -> Path:
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)}
    if tls is not None:
        http["tls"] = {"certificate": str(tls.cert_file), "key": str(tls.key_file)}
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}, "delete": {"enabled": True}},
        "http": http,
        "auth": auth,
    }
    path = directory / "config.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _wait_listening(port: int, process: subprocess.Popen[bytes], deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.02)
    return False


def _launch(directory: Path, auth: dict[str, object], tls: TlsFiles | None) -> tuple[int, subprocess.Popen[bytes]]:
    for _ in range(5):  # a free port may be taken between choosing and binding it
        port = free_port()
        config = _config(directory, port, auth, tls)
        log = (directory / "registry.log").open("ab")
        process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=log)
        log.close()
        if _wait_listening(port, process):
            return port, process
        process.kill()
        process.wait()
    raise RuntimeError(f"docker-registry did not start; see {directory / 'registry.log'}")


def start_htpasswd_registry(directory: Path, *, tls: bool = False) -> RegistryServer:
    directory.mkdir(parents=True, exist_ok=True)
    htpasswd = Htpasswd(directory / "htpasswd")
    tls_files = make_server_tls(directory / "tls") if tls else None
    auth = {"htpasswd": {"realm": "shipway-test", "path": str(htpasswd.path)}}
    port, process = _launch(directory, auth, tls_files)
    return RegistryServer(
        kind="htpasswd-tls" if tls else "htpasswd", port=port, directory=directory, process=process,
        scheme="https" if tls else "http", htpasswd=htpasswd, tls=tls_files,
    )


def start_token_registry(
    directory: Path, *, key_id: Literal["kid", "x5c"] = "kid", signer: SigningKey | None = None
) -> RegistryServer:
    directory.mkdir(parents=True, exist_ok=True)
    signer = signer or make_signing_key()
    service = TokenService(signer=signer, key_id=key_id)
    service.start()
    bundle = directory / "token-signer.crt"
    bundle.write_bytes(signer.cert_pem)
    auth = {
        "token": {
            "realm": service.realm, "service": service.service, "issuer": service.issuer,
            "rootcertbundle": str(bundle),
        }
    }
    try:
        port, process = _launch(directory, auth, None)
    except BaseException:
        service.stop()
        raise
    return RegistryServer(
        kind="token", port=port, directory=directory, process=process, scheme="http", tokens=service
    )


def running(factory: Callable[[], RegistryServer]) -> Iterator[RegistryServer]:
    """A generator for a pytest fixture: the registry ``factory`` starts, stopped at teardown. A machine
    without Debian's docker-registry fails the test (``make setup`` installs it): it is never skipped."""
    if not registry_available():
        pytest.fail("docker-registry and skopeo are needed (make setup installs them)")
    server = factory()
    try:
        yield server
    finally:
        server.stop()
