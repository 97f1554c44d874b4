"""A tiny OCI image written by Python (an ``oci:`` layout with one small layer, nothing downloaded), and
pushing and inspecting images with skopeo: the sandbox's demo image and the tests' images."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def write_oci_layout(layout: Path, *, tag: str, content: bytes = b"hello from shipway\n") -> str:
    """Write an OCI image layout with one layer holding ``/hello.txt``; returns the manifest digest."""
    layout.mkdir(parents=True, exist_ok=True)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(content), 0o644, 0
        tar.addfile(info, io.BytesIO(content))
    layer_tar = tar_bytes.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    layer_digest = _blob(layout, layer)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }).encode()
    config_digest = _blob(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": len(layer)}],
    }).encode()
    manifest_digest = _blob(layout, manifest)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    return manifest_digest


def _policy(directory: Path) -> Path:
    path = directory / "policy.json"
    if not path.exists():
        path.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    return path


def skopeo_copy(layout: Path, tag: str, destination: str, authfile: Path) -> None:
    """``skopeo copy oci:LAYOUT:TAG docker://DESTINATION`` with our own authfile and policy."""
    result = subprocess.run(
        ["skopeo", "--policy", str(_policy(layout.parent)), "copy", "--quiet", "--authfile", str(authfile),
         "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{destination}"],
        capture_output=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"skopeo copy failed: {result.stderr.decode(errors='replace')[-2000:]}")


def skopeo_inspect(reference: str, authfile: Path) -> subprocess.CompletedProcess[bytes]:
    """``skopeo inspect`` a ``host/repo:tag`` with an authfile (TLS not verified); never raises on failure."""
    return subprocess.run(
        ["skopeo", "inspect", "--raw", "--authfile", str(authfile), "--tls-verify=false",
         f"docker://{reference}"],
        capture_output=True, timeout=60, check=False,
    )
