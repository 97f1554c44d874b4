"""One HTTPS POST of an AdmissionReview to a webhook, and the wording of kube-apiserver when it fails.

* only ``clientConfig.url`` is reachable: the emulator runs no Services, so a ``service`` reference fails
  the way a missing Service does (``service "NAME" not found``);
* the server certificate is always verified: against ``clientConfig.caBundle`` (base64 of PEM) when given,
  else against the system's trusted roots (as the API server does), including the host name;
* ``timeoutSeconds`` bounds the whole call (connect, TLS, request, answer); the URL gets ``?timeout=Ns``
  as client-go adds it;
* httpx is the client, not aiohttp: ``kmock.Server`` patches aiohttp's host resolution for the whole process.

A failure raises :class:`CallFailure` whose text is the ``Reason`` of client-go's ``ErrCallingWebhook``
(``failed to call webhook: Post "URL": dial tcp ...: connect: connection refused``, ``... context deadline
exceeded``, ``... tls: failed to verify certificate: x509: certificate signed by unknown authority``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from shipway_sandbox.emulator import objects

_UNKNOWN_AUTHORITY = frozenset({2, 18, 19, 20, 21})  # X509_V_ERR_* codes of an untrusted chain


class CallFailure(Exception):
    """A webhook could not be called or did not answer an AdmissionReview (the message is the reason)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Endpoint:
    """Where and how to call a webhook: its ``clientConfig`` and ``timeoutSeconds``."""

    url: str | None
    service: Mapping[str, Any] | None
    ca_bundle: str
    timeout: int

    @classmethod
    def of(cls, hook: Mapping[str, Any]) -> Endpoint:
        config = hook.get("clientConfig") or {}
        service = config.get("service")
        timeout = hook.get("timeoutSeconds")
        return cls(url=str(config["url"]) if config.get("url") else None,
                   service=service if isinstance(service, dict) else None,
                   ca_bundle=str(config.get("caBundle") or ""),
                   timeout=timeout if isinstance(timeout, int) and 1 <= timeout <= 30 else 10)

    @property
    def address(self) -> str:
        """The URL posted to, with client-go's ``timeout`` parameter."""
        if self.url is not None:
            base = self.url
        else:
            service = self.service or {}
            path = str(service.get("path") or "/")
            base = f"https://{service.get('name')}.{service.get('namespace')}.svc:{service.get('port', 443)}{path}"
        return f"{base}?timeout={self.timeout}s"


def ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """A client context trusting the bundle (or the system roots when empty); :class:`CallFailure` if bad."""
    if not ca_bundle:
        return ssl.create_default_context()
    try:
        pem = base64.b64decode(ca_bundle, validate=True).decode("ascii")
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, UnicodeDecodeError, ValueError, ssl.SSLError) as exc:
        raise CallFailure(f"could not get REST client: unable to load root certificates: {exc}") from exc


async def post(endpoint: Endpoint, review: objects.Body) -> objects.Body:
    """The JSON a webhook answered to ``review`` (any JSON object); raises :class:`CallFailure`."""
    address = endpoint.address
    if endpoint.url is None:
        service = endpoint.service or {}
        raise CallFailure(f'failed to call webhook: Post "{address}": service "{service.get("name")}" not found')
    context = ssl_context(endpoint.ca_bundle)
    body = json.dumps(review, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
    try:
        async with asyncio.timeout(endpoint.timeout):
            async with httpx.AsyncClient(verify=context, timeout=endpoint.timeout, trust_env=False) as client:
                response = await client.post(address, content=body, headers=headers)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise CallFailure(f'failed to call webhook: Post "{address}": context deadline exceeded') from exc
    except httpx.HTTPError as exc:
        raise CallFailure(f'failed to call webhook: Post "{address}": {_transport_reason(exc, address)}') from exc
    if not 200 <= response.status_code < 300:
        text = response.text.strip()
        reason = (f'an error on the server ("{text[:200]}") has prevented the request from succeeding' if text else
                  f"the server responded with the status code {response.status_code} but did not return more"
                  " information")
        raise CallFailure(f"failed to call webhook: {reason}")
    try:
        answer = json.loads(response.content)
    except ValueError as exc:
        raise CallFailure(f"failed to call webhook: couldn't get version/kind; json parse error: {exc}") from exc
    if not isinstance(answer, dict):
        raise CallFailure("failed to call webhook: couldn't get version/kind; json parse error: the answer is not"
                          " a JSON object")
    return answer


def _transport_reason(exc: BaseException, address: str) -> str:
    """Go's wording for a transport error: TLS verification, a refused connection, else the error itself."""
    found: BaseException | None = exc
    while found is not None:
        if isinstance(found, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: x509: {_x509_reason(found, address)}"
        if isinstance(found, ConnectionRefusedError):
            host = urllib.parse.urlsplit(address)
            return f"dial tcp {host.hostname}:{host.port or 443}: connect: connection refused"
        if isinstance(found, ssl.SSLError):
            return f"remote error: tls: {found.reason or found}"
        found = found.__cause__ or found.__context__
    return str(exc) or type(exc).__name__


def _x509_reason(error: ssl.SSLCertVerificationError, address: str) -> str:
    if error.verify_code in _UNKNOWN_AUTHORITY:
        return "certificate signed by unknown authority"
    if error.verify_code == 10:
        return "certificate has expired or is not yet valid"
    if error.verify_code == 62:
        return f"certificate is not valid for {urllib.parse.urlsplit(address).hostname}"
    return str(error.verify_message)
