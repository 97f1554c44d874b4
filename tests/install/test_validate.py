"""`kubernetes-validate --strict` (the Kubernetes OpenAPI schemas, shipped offline; unknown fields are errors)
on every object of the install and of the overlays, for each Kubernetes version we support: 1.30 (the
first with ValidatingAdmissionPolicy v1) up to the newest the pinned package knows.

Only what no Kubernetes schema can describe is skipped: cert-manager's kinds (and the Secret the
own-certificate overlay generates is validated like the rest)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, all_versions, validate
from packaging.version import Version

from tests.support.tls import make_server_tls

from .helpers import DEPLOY, kustomize, manifests, one

OLDEST = "1.30"
VERSIONS = sorted({".".join(v.split(".")[:2]) for v in all_versions() if Version(v) >= Version(OLDEST)},
                  key=Version)
NOT_KUBERNETES = {"cert-manager.io/v1"}  # kinds of another project's CRDs


def test_the_supported_versions_are_all_there() -> None:
    assert VERSIONS[0] == OLDEST and len(VERSIONS) >= 2


def validate_all(documents: list[dict[str, Any]], version: str) -> list[str]:
    """Every object validated strictly; the kinds skipped (they must be another project's)."""
    skipped = []
    for document in documents:
        try:
            validate(document, version, strict=True)
        except SchemaNotFoundError:
            assert document["apiVersion"] in NOT_KUBERNETES, f"no schema for {document['kind']} in {version}"
            skipped.append(document["kind"])
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            raise AssertionError(f"{document['kind']} {document['metadata']['name']} is invalid for Kubernetes "
                                 f"{version}: {path}: {error.message}") from None
    return skipped


@pytest.mark.parametrize("version", VERSIONS)
def test_shipway_manifests_pass_strict_validation(version: str) -> None:
    assert validate_all(manifests(), version) == ["Issuer", "Certificate"]


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_the_overlays_and_the_install_without_cert_manager_pass_strict_validation(version: str, tmp_path: Path
                                                                                   ) -> None:
    assert validate_all(manifests(cert_manager=False, webhook_ca_bundle=b"-----BEGIN CERTIFICATE-----"),
                        version) == []
    assert validate_all(kustomize(DEPLOY / "overlays" / "ha"), version) == ["Issuer", "Certificate"]
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    overlay = tmp_path / "deploy" / "overlays" / "own-certificate"
    tls = make_server_tls(tmp_path / "tls")
    for source, name in ((tls.cert_file, "tls.crt"), (tls.key_file, "tls.key"), (tls.ca_file, "ca.crt")):
        shutil.copy(source, overlay / name)
    assert validate_all(kustomize(overlay), version) == []


def test_strict_validation_does_refuse_an_unknown_field() -> None:
    """The check above is not vacuous: a misspelt field fails it."""
    deployment = copy.deepcopy(one(manifests(), "Deployment", "shipway-operator"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(AssertionError, match="readOnlyRootFileSystem"):
        validate_all([deployment], OLDEST)
