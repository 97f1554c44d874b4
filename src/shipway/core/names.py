"""Names Shipway and its users agree on: API group, labels, annotations, object names, condition reasons."""

from __future__ import annotations

from typing import Final

GROUP: Final = "shipway.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
PLATFORM_NAME: Final = "default"

# Labels
CREDENTIAL_LABEL: Final = f"{GROUP}/credential"  # marks a Secret usable as a credential source (watched)
PIPELINE_LABEL: Final = f"{GROUP}/pipeline"
PHASE_LABEL: Final = f"{GROUP}/phase"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "shipway"

# Annotations
FINGERPRINT_ANNOTATION: Final = f"{GROUP}/fingerprint"
SOURCES_ANNOTATION: Final = f"{GROUP}/sources"
CONSENT_ANNOTATION: Final = f"{GROUP}/allowed-pipelines"  # on a source Secret: pipelines that may use it

# Objects Shipway writes into each phase namespace
PULL_SECRET: Final = "shipway-pull"
PUSH_SECRET: Final = "shipway-push"
BUILDER_SERVICE_ACCOUNT: Final = "shipway-builder"
BUILDER_ROLE: Final = "shipway-builder"
DEFAULT_SERVICE_ACCOUNT: Final = "default"
FIELD_MANAGER: Final = "shipway-operator"


class Reason:
    """Condition reasons and finding codes, as named constants."""

    READY: Final = "Ready"
    SOURCE_SECRET_MISSING: Final = "SourceSecretMissing"
    INVALID_DOCKER_CONFIG: Final = "InvalidDockerConfig"
    PUSH_CREDENTIAL_MISSING: Final = "PushCredentialMissing"
    DUPLICATE_REGISTRY_KEY: Final = "DuplicateRegistryKey"
    CONSENT_MISSING: Final = "ConsentMissing"
    PLATFORM_MISSING: Final = "PlatformMissing"
