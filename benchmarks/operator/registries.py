"""Real registries for the workload: Debian's ``docker-registry`` (CNCF distribution) with htpasswd users, each
behind a counting TCP proxy, all on 127.0.0.1.

The workload's credentials name the proxies' addresses, so every registry check of the operator goes
through a proxy, which forwards the bytes unchanged and reads the head of each HTTP request on the way: its
method, path and the user of its ``Authorization: Basic`` header. One credential's check is one round of
requests (the probe of ``/v2/`` without credentials, then ``/v2/`` with them); the proxy counts a round as the
authenticated ``GET /v2/`` that ends it, by user (one user per credential). The registry's own access log is
kept too, and its count of ``GET /v2/`` answered 200 is reported beside the proxy's as a cross-check.

Passwords are bcrypt hashes of cost 4 in the htpasswd file, which the registry re-reads when it changes
(a rotation updates it, so that checks after a rotation see a valid credential).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.operator.common import BenchmarkError
from benchmarks.operator.processes import Child

REGISTRY_BINARY = "docker-registry"


def registry_available() -> bool:
    return shutil.which(REGISTRY_BINARY) is not None


def _hash(password: str) -> bytes:
    try:
        import bcrypt
    except ImportError:  # the htpasswd tool of apache2-utils does the same
        out = subprocess.run(["htpasswd", "-nbB", "-C", "4", "x", password], check=True, capture_output=True)
        return out.stdout.strip().split(b":", 1)[1]
    return bytes(bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClosedPorts:
    """TCP ports on 127.0.0.1 that are bound but never listen (a connection is refused at once): the registries'
    addresses when docker-registry is not installed."""

    def __init__(self, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            self.sockets.append(sock)
        self.ports = [int(s.getsockname()[1]) for s in self.sockets]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@dataclass
class Request:
    at: float  # monotonic
    method: str
    path: str
    user: str | None  # the Basic user, None without credentials


@dataclass
class CountingProxy:
    """A TCP proxy that records the head of every HTTP request passing from clients to the registry."""

    upstream_port: int
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer, sniff=True), self._pump(up_reader, writer, sniff=False),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, sniff: bool) -> None:
        buffer = b""
        body_left = 0
        sniffing = sniff
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
                if not sniffing:
                    continue
                buffer += chunk
                while sniffing:
                    if body_left:
                        skipped = min(body_left, len(buffer))
                        buffer, body_left = buffer[skipped:], body_left - skipped
                        if body_left:
                            break
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        sniffing = (len(buffer) < 65536 and buffer[:1].isalpha()) or not buffer
                        break
                    head, buffer = buffer[:end].decode("latin-1"), buffer[end + 4:]
                    sniffing, body_left = self._record(head)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _record(self, head: str) -> tuple[bool, int]:
        """Record one request head; answer whether to go on reading heads on this connection, and how many
        body bytes to skip first."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return False, 0  # not HTTP (a TLS handshake, say): stop reading this connection
        user = None
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "authorization" and value.lower().startswith("basic "):
                with contextlib.suppress(ValueError):
                    user = base64.b64decode(value[6:]).decode("utf-8", "replace").split(":", 1)[0]
            elif name == "content-length":
                with contextlib.suppress(ValueError):
                    length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                self.requests.append(Request(time.monotonic(), parts[0], parts[1], user))
                return False, 0  # a chunked body: stop reading heads on this connection
        self.requests.append(Request(time.monotonic(), parts[0], parts[1], user))
        return True, length


class Registry:
    """One ``docker-registry serve`` with htpasswd, behind a :class:`CountingProxy`; ``address`` is the
    proxy's ``127.0.0.1:PORT``, as credentials name it."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.htpasswd = self.directory / "htpasswd"
        self.access_log = self.directory / "registry.log"
        self.users: dict[str, bytes] = {}
        self.port = 0
        self.child: Child | None = None
        self.proxy: CountingProxy | None = None

    @property
    def address(self) -> str:
        assert self.proxy is not None
        return f"127.0.0.1:{self.proxy.port}"

    def set_users(self, users: dict[str, str]) -> None:
        """Add or replace users (name -> password); the registry re-reads the file on its next request."""
        for name, password in users.items():
            self.users[name] = _hash(password)
        self._write()

    def _write(self) -> None:
        temporary = self.htpasswd.with_suffix(".tmp")
        temporary.write_bytes(b"".join(n.encode() + b":" + h + b"\n" for n, h in self.users.items()))
        os.replace(temporary, self.htpasswd)
        stamp = time.time_ns()
        os.utime(self.htpasswd, ns=(stamp, stamp))

    async def start(self) -> None:
        self._write()
        for _ in range(5):  # a free port may be taken between choosing and binding it
            self.port = _free_port()
            config = self.directory / "config.yml"
            config.write_text(json.dumps({
                "version": 0.1,
                "log": {"level": "error", "accesslog": {"disabled": False}},
                "storage": {"filesystem": {"rootdirectory": str(self.directory / "data")},
                            "delete": {"enabled": True}},
                "http": {"addr": f"127.0.0.1:{self.port}", "secret": secrets.token_hex(16)},
                "auth": {"htpasswd": {"realm": "shipway-bench", "path": str(self.htpasswd)}},
            }))
            self.child = Child(f"registry {self.name}", [REGISTRY_BINARY, "serve", str(config)], self.access_log)
            if await self._listening():
                break
            self.child.stop()
        else:
            raise BenchmarkError(f"docker-registry did not start; see {self.access_log}")
        self.proxy = CountingProxy(self.port)
        await self.proxy.start()

    async def _listening(self) -> bool:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            assert self.child is not None
            if not self.child.running():
                return False
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
            await asyncio.sleep(0.02)
        return False

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
        if self.child is not None:
            self.child.stop(timeout=5)

    def checks(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """Credential checks between two monotonic times, by user: the authenticated ``GET /v2/`` of each
        round."""
        assert self.proxy is not None
        return Counter(r.user for r in self.proxy.requests
                       if r.user is not None and r.method == "GET" and r.path == "/v2/" and since <= r.at < until)

    def probes(self, since: float = 0.0, until: float = float("inf")) -> int:
        """Requests of ``/v2/`` without credentials (the first request of each round)."""
        assert self.proxy is not None
        return sum(1 for r in self.proxy.requests
                   if r.user is None and r.path == "/v2/" and since <= r.at < until)

    def access_log_rounds(self) -> int:
        """The registry's own count: ``GET /v2/`` answered 200 in its access log, since it started."""
        with contextlib.suppress(OSError):
            return sum(1 for line in self.access_log.read_text(errors="replace").splitlines()
                       if '"GET /v2/ HTTP/1.1" 200 ' in line)
        return 0
