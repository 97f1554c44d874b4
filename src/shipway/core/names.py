"""Names Shipway and its users agree on: API group, labels, annotations, object names, condition reasons."""

from __future__ import annotations

from typing import Final

GROUP: Final = "shipway.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
PLATFORM_NAME: Final = "default"
SYSTEM_NAMESPACE: Final = "shipway-system"  # the default system namespace (the Platform may name another)

# Labels
CREDENTIAL_LABEL: Final = f"{GROUP}/credential"  # marks a Secret usable as a credential source (watched)
PIPELINE_LABEL: Final = f"{GROUP}/pipeline"
DELIVERED: Final = "delivered"  # the CREDENTIAL_LABEL value of the Secrets Shipway writes
PHASE_LABEL: Final = f"{GROUP}/phase"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "shipway"
# The install's own objects (RBAC, admission configuration) are ``part-of`` Shipway, never ``managed-by`` it:
# the operator's fence lets it change only managed-by objects, and it must never change its own rights.
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"

# Annotations
FINGERPRINT_ANNOTATION: Final = f"{GROUP}/fingerprint"
SOURCES_ANNOTATION: Final = f"{GROUP}/sources"
CONSENT_ANNOTATION: Final = f"{GROUP}/allowed-pipelines"  # on a source Secret: pipelines that may use it
USAGE_ANNOTATION: Final = f"{GROUP}/allowed-usage"  # on a source Secret: what those pipelines may use it for
RECLAIM_ANNOTATION: Final = f"{GROUP}/reclaim-policy"  # on a namespace Shipway made: what happens when it goes
RELEASED_LABEL: Final = f"{GROUP}/released-from"  # on a retained namespace: the pipeline that may claim it again

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
    PLATFORM_MISSING: Final = "PlatformMissing"
    INVALID_SPEC: Final = "InvalidSpec"
    SOURCE_NOT_USABLE: Final = "SourceNotUsable"  # missing, unlabelled or not consented: one answer, no oracle
    USAGE_NOT_GRANTED: Final = "UsageNotGranted"
    REGISTRY_NOT_ALLOWED: Final = "RegistryNotAllowed"
    NAMESPACE_PROTECTED: Final = "NamespaceProtected"
    NAMESPACE_CLAIMED: Final = "NamespaceClaimed"
    NAMESPACE_NOT_ADOPTED: Final = "NamespaceNotAdopted"
    NAMESPACE_OUTSIDE_PREFIX: Final = "NamespaceOutsidePrefix"
    PIPELINE_NAME_NOT_MANAGEABLE: Final = "PipelineNameNotManageable"
    NAME_TAKEN: Final = "NameTaken"
    SECRET_TOO_LARGE: Final = "SecretTooLarge"
    SERVICE_ACCOUNT_PENDING: Final = "ServiceAccountPending"
    NAMESPACE_TERMINATING: Final = "NamespaceTerminating"
