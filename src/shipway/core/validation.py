"""Validators of Kubernetes names and registry hosts, shared by the resource models and the API."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from shipway.core.images import PATH_COMPONENT

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOST_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY_HOST = re.compile(rf"^(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9a-fA-F:.]+\])(?::(?P<port>[0-9]{{1,5}}))?$")
_REPOSITORY_PATH = re.compile(rf"^{PATH_COMPONENT}(?:/{PATH_COMPONENT})*$")

DNS_LABEL_PATTERN = _DNS_LABEL.pattern
DNS_SUBDOMAIN_PATTERN = _DNS_SUBDOMAIN.pattern
REGISTRY_HOST_PATTERN = _REGISTRY_HOST.pattern.replace("?P<port>", "")
REPOSITORY_PATH_PATTERN = _REPOSITORY_PATH.pattern


def dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError("not a DNS label (lowercase letters, digits and '-', at most 63)")
    return value


def dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError("not a DNS subdomain name (lowercase, digits, '-', '.', at most 253)")
    return value


def registry_host(value: str) -> str:
    """A registry as pushed to: ``host[:port]``, no scheme, no path, no glob."""
    match = _REGISTRY_HOST.match(value)
    if not match or len(value) > 253:
        raise ValueError("not a registry host (host[:port], no scheme or path)")
    port = match.group("port")
    if port is not None and not 0 < int(port) <= 65535:
        raise ValueError("the port is out of range 1-65535")
    return value


def repository_path(value: str) -> str:
    if len(value) > 200 or not _REPOSITORY_PATH.match(value):
        raise ValueError("not a repository path (lowercase components separated by '/')")
    return value


# The JSON schema (and so the CRD) carries the same constraints the validators enforce.
DNSLabel = Annotated[
    str, AfterValidator(dns_label), Field(json_schema_extra={"pattern": DNS_LABEL_PATTERN, "maxLength": 63})
]
DNSSubdomain = Annotated[
    str,
    AfterValidator(dns_subdomain),
    Field(json_schema_extra={"pattern": DNS_SUBDOMAIN_PATTERN, "maxLength": 253}),
]
RegistryHost = Annotated[
    str,
    AfterValidator(registry_host),
    Field(json_schema_extra={"pattern": REGISTRY_HOST_PATTERN, "maxLength": 253}),
]
RepositoryPath = Annotated[
    str,
    AfterValidator(repository_path),
    Field(json_schema_extra={"pattern": REPOSITORY_PATH_PATTERN, "maxLength": 200}),
]
