"""Builders for ValidatingAdmissionPolicies and their bindings, shared by the policy tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

POLICIES = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
WRITES = ("CREATE", "UPDATE", "DELETE")


def rule(resources: Sequence[str] = ("configmaps",), *, operations: Sequence[str] = WRITES,
         groups: Sequence[str] = ("",), versions: Sequence[str] = ("v1",), **extra: Any) -> dict[str, Any]:
    return {"apiGroups": list(groups), "apiVersions": list(versions), "operations": list(operations),
            "resources": list(resources), **extra}


def validation(expression: str, **fields: Any) -> dict[str, Any]:
    return {"expression": expression, **fields}


def policy(name: str, *validations: dict[str, Any], rules: Sequence[dict[str, Any]] | None = None,
           **spec: Any) -> dict[str, Any]:
    constraints = {"resourceRules": list(rules if rules is not None else [rule()]),
                   **spec.pop("matchConstraints", {})}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"matchConstraints": constraints, "validations": list(validations), **spec}}


def binding(name: str, policy_name: str, actions: Sequence[str] = ("Deny",), **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}


async def install(http: httpx.AsyncClient, policy_body: dict[str, Any], *bindings: dict[str, Any]) -> None:
    """Create the policy and its bindings (``binding(NAME-binding, NAME)`` when none is given)."""
    response = await http.post(POLICIES, json=policy_body)
    assert response.status_code == 201, response.text
    name = policy_body["metadata"]["name"]
    for body in bindings or (binding(f"{name}-binding", name),):
        response = await http.post(BINDINGS, json=body)
        assert response.status_code == 201, response.text


def configmap(name: str, *, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
