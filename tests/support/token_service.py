"""A small token service for distribution's token auth, run in a thread: RS256 JWTs with per-user scopes.

``GET /token?service=S&scope=repository:NAME:pull,push`` with HTTP Basic answers
``{"token": JWT, "expires_in": N}``; a wrong password gets 401; no credentials get an anonymous token
with no access at all (as Docker Hub does), so "got a token" proves nothing.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import http.server
import json
import threading
import time
import uuid
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

from tests.support.tls import SigningKey


def libtrust_key_id(signer: SigningKey) -> str:
    """The libtrust fingerprint of the signer's public key: base32 of SHA-256(SPKI)[:30], in 4s."""
    spki = signer.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclasses.dataclass(frozen=True)
class TokenRequest:
    """What the service saw: for assertions on scopes and on who sent credentials."""

    username: str | None  # from the Basic header (None: anonymous)
    authenticated: bool
    service: str | None
    scopes: tuple[str, ...]
    granted: tuple[dict[str, Any], ...]


class TokenService:
    def __init__(
        self,
        *,
        signer: SigningKey,
        service: str = "shipway-test-registry",
        issuer: str = "shipway-test-issuer",
        key_id: Literal["kid", "x5c"] = "kid",
        expires_in: int = 300,
    ) -> None:
        self.signer = signer
        self.service = service
        self.issuer = issuer
        self.key_id = key_id
        self.expires_in = expires_in
        self._users: dict[str, tuple[str, dict[str, frozenset[str]]]] = {}
        self._lock = threading.Lock()
        self.requests: list[TokenRequest] = []
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Users and their scopes, changed live.
    def grant(self, username: str, password: str, access: dict[str, str]) -> None:
        """Let ``username`` have ``access`` (repository -> "pull" or "pull,push"); replaces earlier grants."""
        parsed = {repo: frozenset(a.strip() for a in actions.split(",")) for repo, actions in access.items()}
        with self._lock:
            self._users[username] = (password, parsed)

    def revoke(self, username: str) -> None:
        with self._lock:
            self._users.pop(username, None)

    @property
    def realm(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def start(self) -> None:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = service._answer(self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="shipway-test-token"')
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _check(self, authorization: str | None) -> tuple[str | None, bool]:
        """(username, authenticated); username None for anonymous; authenticated False for a bad pair."""
        if not authorization:
            return None, True
        scheme, _, encoded = authorization.partition(" ")
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        with self._lock:
            known = self._users.get(username)
        return username, scheme.lower() == "basic" and known is not None and known[0] == password

    def _answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(path).query)
        scopes = tuple(query.get("scope", []))
        username, authenticated = self._check(authorization)
        granted = self._granted(username, scopes) if authenticated else []
        self.requests.append(
            TokenRequest(username, authenticated, (query.get("service") or [None])[0], scopes, tuple(granted))
        )
        if not authenticated:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        if urlsplit(path).path != "/token":
            return 404, {}
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": username or "", "aud": self.service, "exp": now + self.expires_in,
            "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": granted,
        }
        headers: dict[str, Any] = {"typ": "JWT"}
        if self.key_id == "kid":
            headers["kid"] = libtrust_key_id(self.signer)
        else:
            der = self.signer.cert.public_bytes(serialization.Encoding.DER)
            headers["x5c"] = [base64.b64encode(der).decode()]
        token = jwt.encode(claims, self.signer.key, algorithm="RS256", headers=headers)
        return 200, {"token": token, "access_token": token, "expires_in": self.expires_in}

    def _granted(self, username: str | None, scopes: tuple[str, ...]) -> list[dict[str, Any]]:
        if username is None:
            return []
        with self._lock:
            allowed = self._users[username][1]
        access = []
        for scope in scopes:
            for item in scope.split(" "):
                kind, _, rest = item.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind != "repository" or not name:
                    continue
                given = sorted(set(actions.split(",")) & allowed.get(name, frozenset()))
                if given:
                    access.append({"type": "repository", "name": name, "actions": given})
        return access
