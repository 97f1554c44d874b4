"""Small HTTP servers written in the tests, for registries that misbehave, run in threads.

A :class:`ScriptedServer` answers every request with a function of the request and records what it
saw (method, path, headers), so tests can assert which host received which credentials. A
:class:`SilentServer` accepts connections and never answers.
"""

from __future__ import annotations

import dataclasses
import http.server
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tests.support.tls import TlsFiles


@dataclasses.dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclasses.dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    body: bytes | Iterable[bytes] = b""


Script = Callable[[SeenRequest, "ScriptedServer"], Answer]


class ScriptedServer:
    def __init__(self, script: Script, *, host: str = "127.0.0.1", tls: TlsFiles | None = None) -> None:
        self.script = script
        self.host = host
        self.tls = tls
        self.requests: list[SeenRequest] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    def __enter__(self) -> ScriptedServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                seen = SeenRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                owner.requests.append(seen)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                answer = owner.script(seen, owner)
                self.send_response(answer.status)
                streamed = not isinstance(answer.body, bytes)
                for name, value in answer.headers:
                    self.send_header(name, value)
                if streamed:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    assert isinstance(answer.body, bytes)
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if streamed:
                        for chunk in answer.body:
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        assert isinstance(answer.body, bytes)
                        self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class SilentServer:
    """Accepts TCP connections and never sends a byte."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((host, 0))
        self._socket.listen(16)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.netloc = f"{host}:{self._socket.getsockname()[1]}"

    def __enter__(self) -> SilentServer:
        def accept() -> None:
            self._socket.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    connection, _ = self._socket.accept()
                except (TimeoutError, OSError):
                    continue
                self._held.append(connection)

        threading.Thread(target=accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for connection in self._held:
            connection.close()
        self._socket.close()
