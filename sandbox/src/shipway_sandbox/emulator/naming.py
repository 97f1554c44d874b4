"""Object names as kube-apiserver validates them on create: a DNS-1123 label for namespaces, any path segment
for RBAC objects (``system:discovery``), a DNS-1123 subdomain for the rest (ValidateObjectMeta with
NameIsDNSSubdomain / NameIsDNSLabel), and for custom objects also the CRD's own schema of ``metadata.name``
(``maxLength``, ``pattern``: the only metadata a CRD may constrain).

Messages follow k8s.io/apimachinery/pkg/util/validation: ``a lowercase RFC 1123 label must consist of ...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import builtin_rules, errors, resources
from shipway_sandbox.emulator.resources import ResourceSpec

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_MESSAGE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                  "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                  "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_SUBDOMAIN_MESSAGE = builtin_rules.subdomain_errors("-")[0]  # one backslash in the regex, as Go prints it
_LABEL_KINDS = frozenset({resources.NAMESPACES.key})
_PATH_SEGMENT_GROUPS = frozenset({"rbac.authorization.k8s.io"})  # ValidateRBACName: any path segment name


def _invalid(spec: ResourceSpec, name: str, detail: str) -> errors.ApiError:
    cause = {"reason": "FieldValueInvalid", "message": f'Invalid value: "{name}": {detail}', "field": "metadata.name"}
    return errors.invalid(spec.kind, spec.group, name, [cause],
                          message=f'{spec.kind}{"." + spec.group if spec.group else ""} "{name}" is invalid: '
                                  f'metadata.name: Invalid value: "{name}": {detail}')


def check_name(spec: ResourceSpec, name: str) -> None:
    """422 Invalid when ``name`` is no name kube-apiserver would accept for ``spec``."""
    if spec.group in _PATH_SEGMENT_GROUPS:
        if name in (".", "..") or "/" in name or "%" in name:
            raise _invalid(spec, name, "may not contain '/' or '%' and may not be '.' or '..'")
        return
    if spec.key in _LABEL_KINDS:
        if len(name) > 63:
            raise _invalid(spec, name, "must be no more than 63 characters")
        if not _LABEL.match(name):
            raise _invalid(spec, name, _LABEL_MESSAGE)
        return
    if len(name) > 253:
        raise _invalid(spec, name, "must be no more than 253 characters")
    if not _SUBDOMAIN.match(name):
        raise _invalid(spec, name, _SUBDOMAIN_MESSAGE)
    schema = _name_schema(spec.schema)
    if schema is None:
        return
    limit = schema.get("maxLength")
    if isinstance(limit, int) and len(name) > limit:
        raise _invalid(spec, name, f"may not be more than {limit} bytes")
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, name):
        raise _invalid(spec, name, f"should match '{pattern}'")


def _name_schema(schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not schema:
        return None
    meta = (schema.get("properties") or {}).get("metadata") or {}
    found = (meta.get("properties") or {}).get("name")
    return found if isinstance(found, Mapping) else None
