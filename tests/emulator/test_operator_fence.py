"""The ValidatingAdmissionPolicy the product installs, verbatim (``operator_fence()``): the operator's
ServiceAccount may write Secrets, ServiceAccounts, Namespaces, Roles and RoleBindings only when Shipway's label
is on them before and after the write (plus appending to ``default`` ServiceAccounts); anyone else is not
concerned. Each caller is authenticated by its own token, as on a real cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from shipway.core.manifests.admission import FENCE, operator_fence
from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, UserInfo

from .helpers import eventually

pytestmark = pytest.mark.integration
OPERATOR = "system:serviceaccount:shipway-system:shipway-operator"
USERS = {"operator-token": UserInfo(username=OPERATOR, groups=(
             "system:serviceaccounts", "system:serviceaccounts:shipway-system", "system:authenticated")),
         "admin-token": UserInfo(username="admin", groups=("system:masters", "system:authenticated"))}
MANAGED = {"app.kubernetes.io/managed-by": "shipway"}
SECRETS = "/api/v1/namespaces/team/secrets"
MERGE = {"Content-Type": "application/merge-patch+json"}
DENIED = (f"ValidatingAdmissionPolicy '{FENCE}' with binding '{FENCE}' denied request: the Shipway operator may"
          " only change objects labelled app.kubernetes.io/managed-by=shipway (and append to default"
          " ServiceAccounts)")


async def authenticate(headers: Mapping[str, str]) -> UserInfo | None:
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    return USERS.get(token)


@pytest.fixture
async def clients() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(admin, operator): the fence installed by the admin, a namespace ``team`` to write in."""
    async with EmulatorServer(ClusterEmulator(authenticator=authenticate, service_account_delay=0.01)) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=5,
                              headers={"Authorization": "Bearer admin-token"}) as admin, \
            httpx.AsyncClient(base_url=server.url, timeout=5,
                              headers={"Authorization": "Bearer operator-token"}) as operator:
        [fence_policy, fence_binding] = operator_fence()
        for body in (fence_policy, fence_binding):
            plural = "validatingadmissionpolicies" if body["kind"] == "ValidatingAdmissionPolicy" else \
                "validatingadmissionpolicybindings"
            created = await admin.post(f"/apis/admissionregistration.k8s.io/v1/{plural}", json=body)
            assert created.status_code == 201, created.text
        assert (await admin.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})).status_code == 201
        yield admin, operator


def secret(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, **({"labels": labels} if labels else {})}, "stringData": {"k": "v"}}


def refused(response: httpx.Response, resource: str, name: str) -> bool:
    body = response.json()
    return (response.status_code, body["reason"], body["message"]) == (
        403, "Forbidden", f'{resource} "{name}" is forbidden: {DENIED}')


async def test_the_operator_creates_only_labelled_objects(clients: tuple[httpx.AsyncClient, ...]) -> None:
    _admin, operator = clients
    assert (await operator.post(SECRETS, json=secret("ours", MANAGED))).status_code == 201
    assert refused(await operator.post(SECRETS, json=secret("bare")), "secrets", "bare")
    dry = await operator.post(SECRETS, json=secret("dry"), params={"dryRun": "All"})
    assert refused(dry, "secrets", "dry")  # a dry run is admitted the same way
    assert refused(await operator.post("/api/v1/namespaces", json={"metadata": {"name": "n1"}}), "namespaces", "n1")
    assert (await operator.post("/api/v1/namespaces", json={"metadata": {"name": "n2", "labels": MANAGED}})
            ).status_code == 201
    roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles"
    assert refused(await operator.post(roles, json={"metadata": {"name": "r"}}), "roles.rbac.authorization.k8s.io",
                   "r")
    bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings"
    role_binding = {"metadata": {"name": "rb", "labels": MANAGED}, "subjects": [],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}}
    assert (await operator.post(bindings, json=role_binding)).status_code == 201
    configmaps = "/api/v1/namespaces/team/configmaps"  # not fenced
    assert (await operator.post(configmaps, json={"metadata": {"name": "c"}})).status_code == 201


async def test_the_label_must_be_there_before_and_after_an_update_and_before_a_delete(
        clients: tuple[httpx.AsyncClient, ...]) -> None:
    admin, operator = clients
    await operator.post(SECRETS, json=secret("ours", MANAGED))
    await admin.post(SECRETS, json=secret("theirs"))
    assert (await operator.patch(f"{SECRETS}/ours", json={"stringData": {"k": "w"}}, headers=MERGE)).status_code == 200
    unlabel = {"metadata": {"labels": {"app.kubernetes.io/managed-by": None}}}
    assert refused(await operator.patch(f"{SECRETS}/ours", json=unlabel, headers=MERGE), "secrets", "ours")
    adopt = {"metadata": {"labels": MANAGED}}
    assert refused(await operator.patch(f"{SECRETS}/theirs", json=adopt, headers=MERGE), "secrets", "theirs")
    assert refused(await operator.delete(f"{SECRETS}/theirs"), "secrets", "theirs")
    assert (await operator.delete(f"{SECRETS}/ours")).status_code == 200


async def test_the_operator_may_append_to_default_service_accounts_but_not_delete_them(
        clients: tuple[httpx.AsyncClient, ...]) -> None:
    _admin, operator = clients
    default = "/api/v1/namespaces/team/serviceaccounts/default"

    async def present() -> bool:
        return (await operator.get(default)).status_code == 200

    await eventually(present)
    appended = await operator.patch(default, json={"imagePullSecrets": [{"name": "shipway-pull"}]}, headers=MERGE)
    assert appended.status_code == 200, appended.text
    assert refused(await operator.delete(default), "serviceaccounts", "default")
    other = "/api/v1/namespaces/team/serviceaccounts"
    assert refused(await operator.post(other, json={"metadata": {"name": "builder"}}), "serviceaccounts", "builder")


async def test_other_users_are_not_concerned(clients: tuple[httpx.AsyncClient, ...]) -> None:
    admin, _operator = clients
    assert (await admin.post(SECRETS, json=secret("bare"))).status_code == 201
    assert (await admin.delete(f"{SECRETS}/bare")).status_code == 200
    assert (await admin.post("/api/v1/namespaces", json={"metadata": {"name": "plain"}})).status_code == 201
