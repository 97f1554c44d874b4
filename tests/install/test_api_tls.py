"""The REST API over HTTPS (`shipway api run --serve-tls`, as the Deployment runs it): the certificate of the
webhook, reloaded when its files change (cert-manager renews it), and a clear error when the files are
missing instead of a plain-HTTP fallback."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shipway.api.serving import ServingCertificate, TlsFiles
from shipway.cli.main import build_app
from tests.support.tls import make_server_tls

from .conftest import Installed


def test_the_rest_api_answers_over_https_only(installed: Installed) -> None:
    with installed.api.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    plain = installed.api.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plain}/healthz", timeout=5)
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA
        httpx.get(f"{installed.api.url}/healthz", timeout=5)


def _served_certificate(context: ssl.SSLContext, ca_files: list[Path]) -> bytes:
    """Handshake once with a server using ``context``; the DER certificate it presented."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    client = ssl.create_default_context()
    for ca in ca_files:
        client.load_verify_locations(cafile=ca)
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(
                raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    finally:
        thread.join(5)
        listener.close()
    assert der is not None
    return der


@pytest.fixture
def files(tmp_path: Path) -> tuple[TlsFiles, Path, Path]:
    """The files the API serves (``tls.crt``, ``tls.key``) and two CAs: the first's, and the renewal's (its
    certificate and key are left in ``second/`` for the test to put in place)."""
    first, second = make_server_tls(tmp_path / "first"), make_server_tls(tmp_path / "second")
    served = TlsFiles(tmp_path / "tls.crt", tmp_path / "tls.key")
    shutil.copy(first.cert_file, served.cert_file)
    shutil.copy(first.key_file, served.key_file)
    return served, first.ca_file, second.ca_file


def test_a_renewed_certificate_is_served_without_a_restart(files: tuple[TlsFiles, Path, Path], tmp_path: Path
                                                           ) -> None:
    served, first_ca, second_ca = files
    certificate = ServingCertificate(served)
    before = _served_certificate(certificate.context, [first_ca, second_ca])
    assert certificate.reload() is True  # unchanged: nothing to do
    shutil.copy(tmp_path / "second" / "server.crt", served.cert_file)
    # Mid-update (the new certificate, the old key): refused, the old pair is still served.
    assert certificate.reload() is False
    assert _served_certificate(certificate.context, [first_ca, second_ca]) == before
    shutil.copy(tmp_path / "second" / "server.key", served.key_file)
    assert certificate.reload() is True
    after = _served_certificate(certificate.context, [second_ca])
    assert after != before and after == ssl.PEM_cert_to_DER_cert(
        (tmp_path / "second" / "server.crt").read_text())


def test_tls_needs_both_files_and_says_where_they_come_from(tmp_path: Path) -> None:
    runner, app = CliRunner(), build_app()
    result = runner.invoke(app, ["api", "run", "--serve-tls"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --serve-tls: the webhook (and the REST API with --serve-tls) is served over "
                             "TLS: give --tls-cert-file and --tls-key-file\n")
    missing = tmp_path / "tls.crt"
    result = runner.invoke(app, ["api", "run", "--serve-tls", "--tls-cert-file", str(missing),
                                 "--tls-key-file", str(tmp_path / "tls.key")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --tls-cert-file: {missing} does not exist: ")
    assert "shipway-webhook-tls" in result.stderr and "cert-manager" in result.stderr
    missing.write_text("not a certificate")
    (tmp_path / "tls.key").write_text("not a key")
    result = runner.invoke(app, ["api", "run", "--serve-tls", "--tls-cert-file", str(missing),
                                 "--tls-key-file", str(tmp_path / "tls.key")])
    assert result.exit_code == 2 and "are not a certificate and its key" in result.stderr
