"""The sandbox's real container registry: the CNCF distribution registry (Debian ``docker-registry``) with
htpasswd auth on a free loopback port, holding a demo image ``apps/hello:1.0`` written by our own code and
pushed with skopeo. The Platform's default credential is this registry's user, so Verified turns True and
the delivered ``shipway-pull`` really pulls. Its data lives under the sandbox's state directory.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from shipway.core.secrets import Secret
from shipway_sandbox.images import skopeo_copy, write_oci_layout

log = logging.getLogger(__name__)
BINARY = "docker-registry"
USERNAME = "shipway-demo"
DEMO_REPOSITORY = "apps/hello"
DEMO_TAG = "1.0"


class RegistryUnavailable(RuntimeError):
    """The registry or its tools are missing (``make run`` installs them), or it did not start."""


@dataclass
class DemoRegistry:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    password: Secret = field(repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def _htpasswd_line(username: str, password: Secret) -> str:
    result = subprocess.run(["htpasswd", "-niB", username], input=password.reveal(), capture_output=True, text=True,
                            timeout=30, check=False)
    if result.returncode != 0:
        raise RegistryUnavailable("htpasswd failed (Debian apache2-utils)")
    return result.stdout.strip() + "\n"


def _listening(port: int, process: subprocess.Popen[bytes], *, deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def start_demo_registry(state_dir: Path) -> DemoRegistry:
    """Start the registry (fresh data each time) and push the demo image into it."""
    for tool in (BINARY, "htpasswd", "skopeo"):
        if shutil.which(tool) is None:
            raise RegistryUnavailable(f"{tool} is not installed: run 'make run' (it installs the Debian packages)")
    directory = state_dir / "registry"
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "data").mkdir(parents=True, mode=0o700)
    password = Secret(secrets.token_urlsafe(24))
    htpasswd = _private(directory / "htpasswd", _htpasswd_line(USERNAME, password))
    port = _free_port()
    config = {
        "version": 0.1, "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        "auth": {"htpasswd": {"realm": "shipway-sandbox", "path": str(htpasswd)}},
    }
    config_file = _private(directory / "config.yml", json.dumps(config))  # JSON is YAML
    log_file = (directory / "registry.log").open("wb")
    process = subprocess.Popen([BINARY, "serve", str(config_file)], stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    registry = DemoRegistry(directory=directory, port=port, process=process, password=password)
    if not _listening(port, process):
        registry.stop()
        raise RegistryUnavailable("the demo registry did not start (see its registry.log)")
    with tempfile.TemporaryDirectory(prefix="shipway-demo-image-") as scratch:  # mode 0700
        auth = base64.b64encode(f"{USERNAME}:{password.reveal()}".encode()).decode()
        authfile = _private(Path(scratch) / "auth.json", json.dumps({"auths": {registry.host: {"auth": auth}}}))
        layout = Path(scratch) / "oci"
        write_oci_layout(layout, tag=DEMO_TAG, content=b"hello from the Shipway sandbox\n")
        try:
            skopeo_copy(layout, DEMO_TAG, f"{registry.host}/{DEMO_REPOSITORY}:{DEMO_TAG}", authfile)
        except RuntimeError:
            registry.stop()
            raise RegistryUnavailable("pushing the demo image failed") from None
    log.info("demo registry %s holds %s:%s", registry.host, DEMO_REPOSITORY, DEMO_TAG)
    return registry
