"""kube-apiserver's printer columns for the built-in kinds the emulator serves (``kubectl get`` of them).

From ``pkg/printers/internalversion/printers.go`` (and, for kinds without a printer there, such as
CustomResourceDefinitions, the registry's default ``Name`` / ``Created At`` table): ConfigMaps ``Data``,
Secrets ``Type`` and ``Data``, ServiceAccounts ``Secrets``, Roles and ClusterRoles ``Created At``,
bindings ``Role`` (``Users``, ``Groups``, ``ServiceAccounts`` with ``-o wide``), Leases ``Holder``, webhook
configurations ``Webhooks``. Namespaces and Events are printed by :mod:`tables` and :mod:`event_table`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from shipway.core.timestamps import kube_time
from shipway_sandbox.emulator import builtin_schemas, objects, resources
from shipway_sandbox.emulator.resources import ResourceSpec

_META = builtin_schemas.OBJECT_META_SCHEMA["properties"]
Age = Callable[[str | None], str]


def _column(name: str, description: str, *, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": kind, "format": "", "description": description, "priority": priority}


_AGE = _column("Age", _META["creationTimestamp"]["description"])
_CREATED_AT = _column("Created At", _META["creationTimestamp"]["description"], kind="date")


def _created_at(body: objects.Body, _age: Age) -> str:
    created = objects.meta_of(body).get("creationTimestamp")
    if not isinstance(created, str):
        return ""
    parsed = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    return kube_time(parsed)


def _age_of(body: objects.Body, age: Age) -> str:
    return age(objects.meta_of(body).get("creationTimestamp"))


def _count(*fields: str) -> Callable[[objects.Body, Age], int]:
    return lambda body, _age: sum(len(body.get(f) or ()) for f in fields)


def _subjects(kind: str) -> Callable[[objects.Body, Age], str]:
    def cell(body: objects.Body, _age: Age) -> str:
        found = []
        for subject in body.get("subjects") or ():
            if not isinstance(subject, dict) or subject.get("kind") != kind:
                continue
            name = str(subject.get("name") or "")
            found.append(f"{subject.get('namespace') or ''}/{name}" if kind == "ServiceAccount" else name)
        return ", ".join(found)
    return cell


def _role(body: objects.Body, _age: Age) -> str:
    ref = body.get("roleRef") or {}
    return f"{ref.get('kind') or ''}/{ref.get('name') or ''}"


_BINDING = [
    (_column("Role", "Role"), _role),
    (_AGE, _age_of),
    (_column("Users", "Users in the roleBinding", priority=1), _subjects("User")),
    (_column("Groups", "Groups in the roleBinding", priority=1), _subjects("Group")),
    (_column("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1), _subjects("ServiceAccount")),
]
_WEBHOOKS = [(_column("Webhooks", "Webhooks indicates the number of webhooks in the configuration.",
                      kind="integer"), _count("webhooks")), (_AGE, _age_of)]

PRINTERS: dict[tuple[str, str, str], list[tuple[dict[str, Any], Callable[[objects.Body, Age], Any]]]] = {
    ("", "v1", "configmaps"): [(_column("Data", "Data contains the configuration data."),
                                _count("data", "binaryData")), (_AGE, _age_of)],
    ("", "v1", "secrets"): [(_column("Type", "The type of the secret"), lambda b, _a: str(b.get("type") or "")),
                            (_column("Data", "The number of items in the secret"), _count("data")),
                            (_AGE, _age_of)],
    ("", "v1", "serviceaccounts"): [(_column("Secrets", "Secrets is a list of the secrets in the same namespace "
                                             "that pods running using this ServiceAccount are allowed to use."),
                                     _count("secrets")), (_AGE, _age_of)],
    (resources.RBAC, "v1", "roles"): [(_CREATED_AT, _created_at)],
    (resources.RBAC, "v1", "clusterroles"): [(_CREATED_AT, _created_at)],
    (resources.RBAC, "v1", "rolebindings"): _BINDING,
    (resources.RBAC, "v1", "clusterrolebindings"): _BINDING,
    ("coordination.k8s.io", "v1", "leases"): [
        (_column("Holder", "HolderIdentity contains the identity of the holder of a current lease."),
         lambda b, _a: str((b.get("spec") or {}).get("holderIdentity") or "")), (_AGE, _age_of)],
    (resources.APIEXTENSIONS, "v1", "customresourcedefinitions"): [(_CREATED_AT, _created_at)],
    (resources.ADMISSIONREGISTRATION, "v1", "validatingwebhookconfigurations"): _WEBHOOKS,
    (resources.ADMISSIONREGISTRATION, "v1", "mutatingwebhookconfigurations"): _WEBHOOKS,
}


def columns(spec: ResourceSpec) -> list[dict[str, Any]] | None:
    """The columns after ``Name`` of a built-in kind with a printer here, else None."""
    printer = PRINTERS.get(spec.key)
    return None if printer is None else [dict(column) for column, _cell in printer]


def cells(spec: ResourceSpec, body: objects.Body, age: Age) -> list[Any] | None:
    printer = PRINTERS.get(spec.key)
    if printer is None:
        return None
    return [objects.meta_of(body).get("name"), *(cell(body, age) for _column, cell in printer)]
