"""Serving the API with uvicorn, in the foreground or inside another event loop (the sandbox).

The REST API is served over HTTPS when ``tls`` is given (on a cluster: the certificate of the Secret
``shipway-webhook-tls``), and the admission webhook always is (on a cluster, with the same files: both
listeners then share one :class:`ssl.SSLContext`). The files are watched: a renewed certificate
(cert-manager renews it before it expires, the kubelet updates the mounted files) is loaded for new
connections without a restart. Its expiry is a metric
(``shipway_api_tls_certificate_expiry_timestamp_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shipway import __version__
from shipway.adapters.kube.client import KubeClient
from shipway.api import managed
from shipway.api.admission import create_webhook_app
from shipway.api.app import create_app
from shipway.api.settings import ApiSettings
from shipway.core.errors import InvalidInput, ShipwayError

log = logging.getLogger(__name__)
RELOAD_INTERVAL = 10.0  # seconds between looks at the certificate files


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process that embeds it decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A serving certificate (chain, PEM) and its private key (PEM)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class WebhookListener:
    """Where the admission webhook is served: always TLS (kube-apiserver calls webhooks over HTTPS only)."""

    host: str
    port: int
    cert_file: Path
    key_file: Path


class ServingCertificate:
    """One SSLContext for the listeners serving these files, reloaded when the files change."""

    def __init__(self, files: TlsFiles) -> None:
        for path in (files.cert_file, files.key_file):
            if not path.is_file():
                raise InvalidInput(f"{path} does not exist: the API serves TLS with the certificate of the Secret "
                                   "shipway-webhook-tls (issued by cert-manager, or made by the installer)",
                                   field="--tls-cert-file" if path == files.cert_file else "--tls-key-file")
        self.files = files
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._digest = ""
        self.expiry: float | None = None
        if not self.reload():
            raise InvalidInput(f"{files.cert_file} and {files.key_file} are not a certificate and its key",
                               field="--tls-cert-file")

    def _read(self) -> tuple[bytes, str]:
        cert = self.files.cert_file.read_bytes()
        return cert, hashlib.sha256(cert + b"\0" + self.files.key_file.read_bytes()).hexdigest()

    def reload(self) -> bool:
        """Load the files if they changed (checked on a context of their own first: a pair read in the middle
        of an update is left for the next look). True when the files in use are the current ones."""
        try:
            cert, digest = self._read()
            if digest == self._digest:
                return True
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.files.cert_file,
                                                                               self.files.key_file)
            self.context.load_cert_chain(self.files.cert_file, self.files.key_file)
        except (OSError, ssl.SSLError) as error:
            log.warning("the serving certificate was not (re)loaded: %s", type(error).__name__)
            return False
        self._digest, self.expiry = digest, _not_after(cert)
        log.info("serving certificate %s loaded", self.files.cert_file)
        return True


class _Metrics(Collector):
    """The API's version, and when the certificate each TLS listener serves expires."""

    def __init__(self, listeners: dict[str, ServingCertificate]) -> None:
        self.listeners = listeners

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("shipway_api_build_info", "The API's version (always 1)", labels=["version"])
        info.add_metric([__version__], 1)
        expiry = GaugeMetricFamily("shipway_api_tls_certificate_expiry_timestamp_seconds",
                                   "When the certificate a TLS listener serves expires (Unix time)",
                                   labels=["listener"])
        for listener, certificate in sorted(self.listeners.items()):
            if certificate.expiry is not None:
                expiry.add_metric([listener], certificate.expiry)
        yield info
        yield expiry


def _not_after(pem: bytes) -> float | None:
    from cryptography import x509  # only a TLS listener needs it

    try:
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
    except ValueError:
        return None


class ApiServer:
    """The API on ``host:port`` (over HTTPS with ``tls``), and the admission webhook on its own TLS listener;
    ``serve`` returns when ``stop`` is set."""

    def __init__(self, *, kubeconfig: Path | None, host: str, port: int, settings: ApiSettings,
                 webhook: WebhookListener | None = None, tls: TlsFiles | None = None) -> None:
        certificates: dict[TlsFiles, ServingCertificate] = {}

        def certificate(files: TlsFiles) -> ServingCertificate:
            if files not in certificates:
                certificates[files] = ServingCertificate(files)
            return certificates[files]

        self.listeners: dict[str, ServingCertificate] = {}
        if tls is not None:
            self.listeners["rest"] = certificate(tls)
        if webhook is not None:
            self.listeners["webhook"] = certificate(TlsFiles(webhook.cert_file, webhook.key_file))
        self.certificates = list(certificates.values())
        self.kube = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-api", field_manager="shipway-api")
        self.app = create_app(settings=settings, kube=self.kube)
        self.app.state.metrics.registry.register(_Metrics(self.listeners))
        self.server = _EmbeddedServer(self._config(self.app, host, port, self.listeners.get("rest")))
        self.webhook_server: _EmbeddedServer | None = None
        if webhook is not None:
            hook = create_webhook_app(self.app.state.shipway)
            self.webhook_server = _EmbeddedServer(
                self._config(hook, webhook.host, webhook.port, self.listeners["webhook"]))
        self.stop = asyncio.Event()

    @staticmethod
    def _config(app: Any, host: str, port: int, certificate: ServingCertificate | None) -> uvicorn.Config:
        def context(config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            assert certificate is not None
            return certificate.context

        return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
                              server_header=False, ssl_context_factory=context if certificate else None)

    @property
    def url(self) -> str:
        sockets = [s for server in getattr(self.server, "servers", []) for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return f"{'https' if 'rest' in self.listeners else 'http'}://{host}:{port}"

    def _servers(self) -> list[_EmbeddedServer]:
        return [self.server, *([self.webhook_server] if self.webhook_server is not None else [])]

    async def started(self) -> None:
        while not all(server.started for server in self._servers()):
            await asyncio.sleep(0.02)

    async def repair(self) -> None:
        """Finish what a crash between two writes left: unreferenced managed Secrets (never fatal)."""
        settings = self.app.state.shipway.settings
        try:
            await managed.repair(self.kube, system_namespace=settings.system_namespace,
                                 grace=settings.repair_grace_seconds)
        except ShipwayError as error:
            log.warning("repair of managed Secrets skipped: %s", type(error).__name__)
        except Exception:  # a bug: said loudly, never fatal to the API
            log.exception("repair of managed Secrets failed")

    async def _reload_certificates(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            for certificate in self.certificates:
                await asyncio.to_thread(certificate.reload)

    async def serve(self) -> None:
        helpers = [asyncio.create_task(self.repair(), name="shipway-api-repair")]
        if self.certificates:
            helpers.append(asyncio.create_task(self._reload_certificates(), name="shipway-api-certificates"))
        tasks = {asyncio.create_task(server.serve(), name="shipway-api") for server in self._servers()}
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({*tasks, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for server in self._servers():
            server.should_exit = True
        await asyncio.gather(*tasks)
        stopping.cancel()
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await self.kube.close()
