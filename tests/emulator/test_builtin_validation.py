"""Built-in validation and defaulting of the core kinds, each as kube-apiserver answers (messages word for word).

Sources: ``pkg/apis/core/validation/validation.go`` (ValidateSecret, ValidateSecretUpdate, ValidateConfigMap*,
ValidateNamespace*), ``pkg/apis/rbac/validation/validation.go``, ``pkg/apis/coordination/validation``,
``k8s.io/apimachinery/pkg/api/validation/objectmeta.go``, ``pkg/apis/core/v1/defaults.go``,
``pkg/apis/rbac/v1/defaults.go``, and https://kubernetes.io/docs/concepts/configuration/secret/ (types, immutable
Secrets), https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from .helpers import make_namespace

SECRETS = "/api/v1/namespaces/default/secrets"
CMS = "/api/v1/namespaces/default/configmaps"
SAS = "/api/v1/namespaces/default/serviceaccounts"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
MERGE = {"Content-Type": "application/merge-patch+json"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def created(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(url, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def invalid(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "Invalid"
    return str(response.json()["message"])


# -- Secrets --------------------------------------------------------------------------------------------------
async def test_a_secret_without_type_is_opaque(http: httpx.AsyncClient) -> None:
    secret = await created(http, SECRETS, {"metadata": {"name": "plain"}, "data": {"k": b64("v")}})
    assert secret["type"] == "Opaque"
    assert (await http.get(f"{SECRETS}/plain")).json()["type"] == "Opaque"


async def test_a_secrets_type_is_immutable(http: httpx.AsyncClient) -> None:
    await created(http, SECRETS, {"metadata": {"name": "s"}, "type": "example.com/custom", "data": {"k": b64("v")}})
    changed = await http.patch(f"{SECRETS}/s", json={"type": "Opaque"}, headers=MERGE)
    assert invalid(changed) == 'Secret "s" is invalid: type: Invalid value: "Opaque": field is immutable'
    assert changed.json()["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": 'Invalid value: "Opaque": field is immutable', "field": "type"}]
    # a PUT without type is defaulted to Opaque before the check, so it is refused too
    stored = (await http.get(f"{SECRETS}/s")).json()
    del stored["type"]
    assert "field is immutable" in invalid(await http.put(f"{SECRETS}/s", json=stored))


@pytest.mark.parametrize(("kind", "key"), [("kubernetes.io/dockerconfigjson", ".dockerconfigjson"),
                                           ("kubernetes.io/dockercfg", ".dockercfg")])
async def test_docker_config_secrets_need_their_key_holding_json(http: httpx.AsyncClient, kind: str, key: str) -> None:
    missing = await http.post(SECRETS, json={"metadata": {"name": "d"}, "type": kind, "data": {"other": b64("{}")}})
    assert invalid(missing) == f'Secret "d" is invalid: data[{key}]: Required value'
    assert missing.json()["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": f"data[{key}]"}]
    broken = await http.post(SECRETS, json={"metadata": {"name": "d"}, "type": kind, "data": {key: b64("{nope")}})
    assert invalid(broken) == (f'Secret "d" is invalid: data[{key}]: Invalid value: "<secret contents redacted>": '
                               "invalid character 'n' looking for beginning of object key string")
    listed = await http.post(SECRETS, json={"metadata": {"name": "d"}, "type": kind, "data": {key: b64("[]")}})
    assert invalid(listed).endswith("json: cannot unmarshal array into Go value of type map[string]interface {}")
    good = {"auths": {"registry.example.com": {"auth": b64("u:p")}}}
    await created(http, SECRETS, {"metadata": {"name": "d"}, "type": kind, "stringData": {key: json.dumps(good)}})


async def test_other_secret_types_need_their_keys(http: httpx.AsyncClient) -> None:
    tls = await http.post(SECRETS, json={"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {}})
    assert invalid(tls) == 'Secret "t" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]'
    basic = await http.post(SECRETS, json={"metadata": {"name": "b"}, "type": "kubernetes.io/basic-auth"})
    assert "data[username]: Required value" in invalid(basic)
    token = await http.post(SECRETS, json={"metadata": {"name": "sa"}, "type": "kubernetes.io/service-account-token"})
    assert invalid(token) == ('Secret "sa" is invalid: metadata.annotations[kubernetes.io/service-account.name]: '
                              "Required value")


async def test_an_immutable_secret_keeps_its_data_and_stays_immutable(http: httpx.AsyncClient) -> None:
    await created(http, SECRETS, {"metadata": {"name": "frozen"}, "immutable": True, "data": {"k": b64("v")}})
    changed = await http.patch(f"{SECRETS}/frozen", json={"data": {"k": b64("w")}}, headers=MERGE)
    assert invalid(changed) == 'Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    thawed = await http.patch(f"{SECRETS}/frozen", json={"immutable": False}, headers=MERGE)
    assert invalid(thawed) == ('Secret "frozen" is invalid: immutable: Forbidden: field is immutable when `immutable` '
                               "is set")
    labelled = await http.patch(f"{SECRETS}/frozen", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE)
    assert labelled.status_code == 200  # its metadata may still change
    assert (await http.delete(f"{SECRETS}/frozen")).status_code == 200  # and it can be deleted


async def test_secret_data_must_be_base64_and_keys_config_keys(http: httpx.AsyncClient) -> None:
    bad = await http.post(SECRETS, json={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x"},
                                         "data": {"k": "not base64!"}})
    assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"
    assert bad.json()["message"] == ('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                                     "input byte 3")
    key = await http.post(SECRETS, json={"metadata": {"name": "x"}, "data": {"bad key": b64("v")}})
    assert invalid(key) == (
        'Secret "x" is invalid: data[bad key]: Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
        "validation is '[-._a-zA-Z0-9]+')")


async def test_a_wrong_json_type_is_a_decoding_error(http: httpx.AsyncClient) -> None:
    labels = await http.post(CMS, json={"kind": "ConfigMap", "apiVersion": "v1",
                                        "metadata": {"name": "c", "labels": {"n": 1}}})
    assert labels.status_code == 400
    assert labels.json()["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                                        "unmarshal number into Go struct field ObjectMeta.metadata.labels of type "
                                        "string")
    data = await http.post(CMS, json={"metadata": {"name": "c"}, "data": ["a"]})
    assert data.status_code == 400 and data.json()["message"].endswith(
        "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string")


# -- ConfigMaps -----------------------------------------------------------------------------------------------
async def test_config_map_keys_are_unique_across_data_and_binary_data(http: httpx.AsyncClient) -> None:
    both = await http.post(CMS, json={"metadata": {"name": "c"}, "data": {"k": "v"}, "binaryData": {"k": b64("v")}})
    assert invalid(both) == ('ConfigMap "c" is invalid: data[k]: Invalid value: "k": duplicate of key present in '
                             "binaryData")


async def test_an_immutable_config_map_keeps_its_data(http: httpx.AsyncClient) -> None:
    await created(http, CMS, {"metadata": {"name": "c"}, "immutable": True, "data": {"k": "v"}})
    changed = await http.patch(f"{CMS}/c", json={"data": {"k": "w"}}, headers=MERGE)
    assert invalid(changed) == 'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set'


# -- omitempty and metadata -----------------------------------------------------------------------------------
async def test_empty_lists_and_maps_are_not_returned(http: httpx.AsyncClient) -> None:
    account = await created(http, SAS, {"metadata": {"name": "builder", "labels": {}, "annotations": {},
                                                     "finalizers": [], "ownerReferences": []},
                                        "imagePullSecrets": [], "secrets": []})
    assert "imagePullSecrets" not in account and "secrets" not in account
    assert not {"labels", "annotations", "finalizers", "ownerReferences"} & set(account["metadata"])
    patched = (await http.patch(f"{SAS}/builder", json={"imagePullSecrets": [{"name": "pull"}]}, headers=MERGE)).json()
    assert patched["imagePullSecrets"] == [{"name": "pull"}]
    emptied = (await http.patch(f"{SAS}/builder", json={"imagePullSecrets": []}, headers=MERGE)).json()
    assert "imagePullSecrets" not in emptied
    # a pointer field keeps its zero value: automountServiceAccountToken: false is returned
    kept = (await http.patch(f"{SAS}/builder", json={"automountServiceAccountToken": False}, headers=MERGE)).json()
    assert kept["automountServiceAccountToken"] is False
    # a Role's rules have no omitempty: null when there are none
    role = await created(http, f"{RBAC}/namespaces/default/roles", {"metadata": {"name": "empty"}, "rules": []})
    assert role["rules"] is None


async def test_a_service_account_gets_no_secrets_list(http: httpx.AsyncClient) -> None:
    account = await created(http, SAS, {"metadata": {"name": "plain"}})
    assert set(account) == {"kind", "apiVersion", "metadata"}


async def test_labels_and_annotations_are_validated(http: httpx.AsyncClient) -> None:
    value = await http.post(CMS, json={"metadata": {"name": "c", "labels": {"app": "not ok!"}}})
    assert invalid(value) == (
        'ConfigMap "c" is invalid: metadata.labels: Invalid value: "not ok!": a valid label must be an empty string '
        "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    key = await http.post(CMS, json={"metadata": {"name": "c", "labels": {"-bad": "x"}}})
    assert 'metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric' in invalid(key)
    big = await http.post(CMS, json={"metadata": {"name": "c", "annotations": {"a": "x" * (256 * 1024)}}})
    assert invalid(big) == 'ConfigMap "c" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes'


async def test_no_finalizer_can_be_added_to_an_object_being_deleted(http: httpx.AsyncClient) -> None:
    await created(http, CMS, {"metadata": {"name": "c", "finalizers": ["example.com/a"]}})
    await http.delete(f"{CMS}/c")
    added = await http.patch(f"{CMS}/c", json={"metadata": {"finalizers": ["example.com/a", "example.com/b"]}},
                             headers=MERGE)
    assert invalid(added) == ('ConfigMap "c" is invalid: metadata.finalizers: Forbidden: no new finalizers can be '
                              'added if the object is being deleted, found new finalizers []string{"example.com/b"}')
    unqualified = await http.post(CMS, json={"metadata": {"name": "d", "finalizers": ["mine"]}})
    assert invalid(unqualified).endswith(
        'metadata.finalizers: Invalid value: "mine": name is neither a standard finalizer name nor is it fully '
        "qualified")


async def test_owner_references_are_validated(http: httpx.AsyncClient) -> None:
    response = await http.post(CMS, json={"metadata": {"name": "c", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": ""}]}})
    assert invalid(response) == ('ConfigMap "c" is invalid: metadata.ownerReferences.uid: Invalid value: "": uid must '
                                 "not be empty")


async def test_a_put_with_another_uid_is_a_precondition_conflict(http: httpx.AsyncClient) -> None:
    stored = await created(http, CMS, {"metadata": {"name": "c"}})
    other = {**stored, "metadata": {**stored["metadata"], "uid": "11111111-1111-1111-1111-111111111111"}}
    response = await http.put(f"{CMS}/c", json=other)
    assert response.status_code == 409 and response.json()["message"] == (
        'Operation cannot be fulfilled on configmaps "c": Precondition failed: UID in precondition: '
        f'11111111-1111-1111-1111-111111111111, UID in object meta: {stored["metadata"]["uid"]}')
    patched = await http.patch(f"{CMS}/c", json={"metadata": {"uid": "x"}}, headers=MERGE)
    assert invalid(patched) == 'ConfigMap "c" is invalid: metadata.uid: Invalid value: "x": field is immutable'


# -- Namespaces -------------------------------------------------------------------------------------------------
async def test_a_namespace_gets_the_kubernetes_finalizer_and_the_active_phase(http: httpx.AsyncClient) -> None:
    ns = (await http.post("/api/v1/namespaces", json={"metadata": {"name": "n1"}, "status": {"phase": "Terminating"},
                                                      "spec": {"finalizers": ["example.com/mine"]}})).json()
    assert ns["spec"] == {"finalizers": ["example.com/mine", "kubernetes"]} and ns["status"] == {"phase": "Active"}
    # spec.finalizers change only through /finalize; the phase only through /status, and only to Active
    kept = (await http.patch("/api/v1/namespaces/n1", json={"spec": {"finalizers": []}}, headers=MERGE)).json()
    assert kept["spec"]["finalizers"] == ["example.com/mine", "kubernetes"]
    phase = await http.patch("/api/v1/namespaces/n1/status", json={"status": {"phase": "Terminating"}}, headers=MERGE)
    assert invalid(phase) == ('Namespace "n1" is invalid: status.Phase: Invalid value: "Terminating": may only be '
                              "'Active' if `deletionTimestamp` is empty")
    finalize = {**kept, "spec": {"finalizers": ["kubernetes"]}}
    finalized = await http.put("/api/v1/namespaces/n1/finalize", json=finalize)
    assert finalized.status_code == 200 and finalized.json()["spec"]["finalizers"] == ["kubernetes"]
    bad = await http.put("/api/v1/namespaces/n1/finalize", json={**finalized.json(), "spec": {"finalizers": ["nope"]}})
    assert "name is neither a standard finalizer name nor is it fully qualified" in invalid(bad)


async def test_namespace_names_are_dns_labels(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/namespaces", json={"metadata": {"name": "a.b"}})
    assert invalid(response).startswith('Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": a lowercase '
                                        "RFC 1123 label must consist of")


# -- RBAC -----------------------------------------------------------------------------------------------------
async def test_a_bindings_role_ref_cannot_change(http: httpx.AsyncClient) -> None:
    await make_namespace(http, "team")
    binding = await created(http, f"{RBAC}/namespaces/team/rolebindings", {
        "metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}]})
    # defaults: the roleRef's and the User subject's apiGroup
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]
    changed = await http.patch(f"{RBAC}/namespaces/team/rolebindings/b", json={"roleRef": {"name": "edit"}},
                               headers=MERGE)
    assert invalid(changed) == (
        'RoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:'
        '"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef')
    subjects = await http.patch(f"{RBAC}/namespaces/team/rolebindings/b",
                                json={"subjects": [{"kind": "Group", "name": "team"}]}, headers=MERGE)
    assert subjects.status_code == 200  # subjects may change


async def test_bindings_and_roles_are_validated(http: httpx.AsyncClient) -> None:
    cluster_binding = await http.post(f"{RBAC}/clusterrolebindings", json={
        "metadata": {"name": "c"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa"}]})
    assert invalid(cluster_binding) == (
        'ClusterRoleBinding.rbac.authorization.k8s.io "c" is invalid: [roleRef.kind: Unsupported value: "Role": '
        'supported values: "ClusterRole", subjects[0].namespace: Required value]')
    role = await http.post(f"{RBAC}/namespaces/default/roles", json={"metadata": {"name": "r"}, "rules": [
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, {"apiGroups": [""], "verbs": ["get"]}]})
    assert invalid(role) == (
        'Role.rbac.authorization.k8s.io "r" is invalid: [rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}'
        ": namespaced rules cannot apply to non-resource URLs, rules[1].resources: Required value: resource rules must "
        "supply at least one resource]")


# -- Leases -----------------------------------------------------------------------------------------------------
async def test_lease_fields_have_their_types(http: httpx.AsyncClient) -> None:
    lease = {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "l"}}
    seconds = await http.post(LEASES, json={**lease, "spec": {"leaseDurationSeconds": "15"}})
    assert seconds.status_code == 400 and seconds.json()["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field '
        "LeaseSpec.spec.leaseDurationSeconds of type int32")
    when = await http.post(LEASES, json={**lease, "spec": {"renewTime": "2026-11-01T10:00:00Z"}})
    assert when.status_code == 400 and when.json()["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-11-01T10:00:00Z" as '
        '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"')
    zero = await http.post(LEASES, json={**lease, "spec": {"leaseDurationSeconds": 0}})
    assert invalid(zero) == ('Lease.coordination.k8s.io "l" is invalid: spec.leaseDurationSeconds: Invalid value: 0: '
                             "must be greater than 0")
    good = await created(http, LEASES, {**lease, "spec": {"holderIdentity": "", "leaseDurationSeconds": 15,
                                                          "renewTime": "2026-11-01T12:00:00.123456+02:00"}})
    assert good["spec"] == {"holderIdentity": "", "leaseDurationSeconds": 15,
                            "renewTime": "2026-11-01T10:00:00.123456Z"}  # in UTC; "" kept (a pointer field)
