"""The API coordinates of every kind Shipway reads or writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version



NAMESPACE = Kind("", "v1", "Namespace", "namespaces", False)
SECRET = Kind("", "v1", "Secret", "secrets", True)
SERVICE_ACCOUNT = Kind("", "v1", "ServiceAccount", "serviceaccounts", True)
EVENT = Kind("", "v1", "Event", "events", True)
ROLE = Kind("rbac.authorization.k8s.io", "v1", "Role", "roles", True)
ROLE_BINDING = Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True)
CRD = Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False)
PIPELINE = Kind("shipway.dev", "v1alpha1", "Pipeline", "pipelines", False)
PLATFORM = Kind("shipway.dev", "v1alpha1", "Platform", "platforms", False)

BY_KIND = {k.kind: k for k in (NAMESPACE, SECRET, SERVICE_ACCOUNT, EVENT, ROLE, ROLE_BINDING, CRD, PIPELINE,
                               PLATFORM)}
