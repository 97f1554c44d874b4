"""RBAC decisions on RBAC objects stored in the emulator, asked for as a client asks kube-apiserver: by posting
SubjectAccessReviews over HTTP. Each expectation (and each reason string) is what a real API server answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import make_namespace

RBAC = "/apis/rbac.authorization.k8s.io/v1"
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SHIPWAY = "shipway.dev"


async def create(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    response = await http.post(path, json=body)
    assert response.status_code == 201, response.text


async def cluster_role(http: httpx.AsyncClient, name: str, rules: list[dict[str, Any]],
                       **extra: Any) -> None:
    await create(http, f"{RBAC}/clusterroles", {"metadata": {"name": name}, "rules": rules, **extra})


async def role(http: httpx.AsyncClient, namespace: str, name: str, rules: list[dict[str, Any]]) -> None:
    await create(http, f"{RBAC}/namespaces/{namespace}/roles", {"metadata": {"name": name}, "rules": rules})


def subject(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    result = {"kind": kind, "name": name}
    if kind != "ServiceAccount":
        result["apiGroup"] = "rbac.authorization.k8s.io"
    if namespace:
        result["namespace"] = namespace
    return result


async def bind(http: httpx.AsyncClient, name: str, role_kind: str, role_name: str,
               subjects: list[dict[str, Any]], namespace: str | None = None) -> None:
    body = {"metadata": {"name": name}, "subjects": subjects,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}}
    path = f"{RBAC}/namespaces/{namespace}/rolebindings" if namespace else f"{RBAC}/clusterrolebindings"
    await create(http, path, body)


async def review(http: httpx.AsyncClient, user: str = "", groups: tuple[str, ...] = (), /,
                 **attributes: str) -> Any:
    spec: dict[str, Any] = {"user": user, "groups": list(groups)}
    if "path" in attributes:
        spec["nonResourceAttributes"] = attributes
    else:
        spec["resourceAttributes"] = attributes
    response = await http.post(SAR, json={"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                          "spec": spec})
    assert response.status_code == 201, response.text
    return response.json()["status"]


async def allowed(http: httpx.AsyncClient, user: str = "", groups: tuple[str, ...] = (), /,
                  **attributes: str) -> bool:
    return bool((await review(http, user, groups, **attributes))["allowed"])


PIPELINE_EDITOR = [{"apiGroups": [SHIPWAY], "resources": ["pipelines"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]


@pytest.fixture
async def teams(http: httpx.AsyncClient) -> httpx.AsyncClient:
    for name in ("team-a", "team-b"):
        await make_namespace(http, name)
    return http


async def test_a_rolebinding_to_a_clusterrole_grants_the_team_group_its_rules_in_that_namespace_only(
    teams: httpx.AsyncClient,
) -> None:
    http = teams
    await cluster_role(http, "shipway-editor", PIPELINE_EDITOR)
    await bind(http, "editors", "ClusterRole", "shipway-editor", [subject("Group", "team-a")], namespace="team-a")
    status = await review(http, "team-a", ("team-a", "system:authenticated"), verb="update", group=SHIPWAY,
                          resource="pipelines", namespace="team-a", name="web")
    assert status == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "editors/team-a" of ClusterRole'
                                                 ' "shipway-editor" to Group "team-a"'}
    assert not await allowed(http, "team-a", ("team-a",), verb="get", group=SHIPWAY, resource="pipelines",
                             namespace="team-b", name="web")
    # no namespace: "in all namespaces", which only a ClusterRoleBinding could grant
    assert not await allowed(http, "team-a", ("team-a",), verb="list", group=SHIPWAY, resource="pipelines")
    assert not await allowed(http, "team-b", ("team-b",), verb="get", group=SHIPWAY, resource="pipelines",
                             namespace="team-a")
    # another API group or a verb the role lacks
    assert not await allowed(http, "team-a", ("team-a",), verb="get", resource="pipelines", namespace="team-a")
    assert not await allowed(http, "team-a", ("team-a",), verb="deletecollection", group=SHIPWAY,
                             resource="pipelines", namespace="team-a")


async def test_a_denial_without_any_matching_rule_has_no_reason_and_is_not_an_explicit_deny(
    http: httpx.AsyncClient,
) -> None:
    assert await review(http, "nobody", verb="get", resource="secrets", namespace="default") == {"allowed": False}


async def test_a_rolebinding_uses_the_role_of_its_own_namespace(teams: httpx.AsyncClient) -> None:
    http = teams
    await role(http, "team-a", "reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    await role(http, "team-b", "reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    await bind(http, "read", "Role", "reader", [subject("User", "alice")], namespace="team-a")
    assert (await review(http, "alice", verb="get", resource="configmaps", namespace="team-a")) == {
        "allowed": True, "reason": 'RBAC: allowed by RoleBinding "read/team-a" of Role "reader" to User "alice"'}
    assert not await allowed(http, "alice", verb="get", resource="secrets", namespace="team-a")
    assert not await allowed(http, "bob", verb="get", resource="configmaps", namespace="team-a")


async def test_resource_names_restrict_a_rule_to_those_objects_and_nameless_verbs_never_match(
    teams: httpx.AsyncClient,
) -> None:
    http = teams
    await role(http, "team-a", "one-secret", [{"apiGroups": [""], "resources": ["secrets"],
                                               "resourceNames": ["registry-creds"], "verbs": ["get", "list"]}])
    await bind(http, "one-secret", "Role", "one-secret", [subject("Group", "team-a")], namespace="team-a")
    team = ("team-a",)
    assert await allowed(http, "u", team, verb="get", resource="secrets", namespace="team-a", name="registry-creds")
    assert not await allowed(http, "u", team, verb="get", resource="secrets", namespace="team-a", name="other")
    assert not await allowed(http, "u", team, verb="list", resource="secrets", namespace="team-a")


async def test_wildcard_verbs_groups_and_resources_match_everything_they_name(teams: httpx.AsyncClient) -> None:
    http = teams
    await cluster_role(http, "all-shipway", [{"apiGroups": [SHIPWAY], "resources": ["*"], "verbs": ["*"]}])
    await cluster_role(http, "read-anything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}])
    await bind(http, "ops", "ClusterRole", "all-shipway", [subject("User", "ops")], namespace="team-a")
    await bind(http, "auditor", "ClusterRole", "read-anything", [subject("User", "auditor")], namespace="team-b")
    for verb, resource, sub in [("deletecollection", "pipelines", ""), ("escalate", "platforms", ""),
                                ("patch", "pipelines", "status")]:
        assert await allowed(http, "ops", verb=verb, group=SHIPWAY, resource=resource, subresource=sub,
                             namespace="team-a")
    assert not await allowed(http, "ops", verb="get", resource="secrets", namespace="team-a")
    assert await allowed(http, "auditor", verb="get", group="apps", resource="deployments", namespace="team-b")
    assert await allowed(http, "auditor", verb="get", resource="secrets", subresource="anything",
                         namespace="team-b")
    assert not await allowed(http, "auditor", verb="list", resource="secrets", namespace="team-b")


async def test_a_clusterrolebinding_grants_cluster_scoped_resources_and_every_namespace(
    http: httpx.AsyncClient,
) -> None:
    await cluster_role(http, "platform-admin", [
        {"apiGroups": [SHIPWAY], "resources": ["platforms", "pipelines"], "verbs": ["get", "update"]}])
    await bind(http, "platform-admins", "ClusterRole", "platform-admin", [subject("Group", "shipway-admins")])
    admins = ("shipway-admins",)
    status = await review(http, "carol", admins, verb="update", group=SHIPWAY, resource="platforms",
                          name="default")
    assert status == {"allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "platform-admins" of'
                                                 ' ClusterRole "platform-admin" to Group "shipway-admins"'}
    for namespace in ("team-a", "anything", ""):
        assert await allowed(http, "carol", admins, verb="get", group=SHIPWAY, resource="pipelines",
                             namespace=namespace)
    assert not await allowed(http, "carol", ("team-a",), verb="get", group=SHIPWAY, resource="platforms")


async def test_service_account_subjects_match_their_username_and_service_account_groups(
    teams: httpx.AsyncClient,
) -> None:
    http = teams
    await cluster_role(http, "secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    # no namespace on the subject: the RoleBinding's own namespace
    await bind(http, "deployer", "ClusterRole", "secret-reader", [subject("ServiceAccount", "deployer")],
               namespace="team-a")
    deployer = "system:serviceaccount:team-a:deployer"
    status = await review(http, deployer, ("system:serviceaccounts", "system:serviceaccounts:team-a"),
                          verb="get", resource="secrets", namespace="team-a")
    assert status["reason"] == ('RBAC: allowed by RoleBinding "deployer/team-a" of ClusterRole "secret-reader" to'
                                ' ServiceAccount "deployer/team-a"')
    assert not await allowed(http, "system:serviceaccount:team-b:deployer", verb="get", resource="secrets",
                             namespace="team-a")
    assert not await allowed(http, "deployer", verb="get", resource="secrets", namespace="team-a")
    # a ClusterRoleBinding's ServiceAccount subject must name its namespace: kube-apiserver refuses one that does
    # not (ValidateClusterRoleBinding: subjects[0].namespace: Required value), so none can match (this test used
    # to store such a binding, which a real API server never accepts)
    vague = await http.post(f"{RBAC}/clusterrolebindings", json={
        "metadata": {"name": "vague"}, "subjects": [subject("ServiceAccount", "builder")],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"}})
    assert vague.status_code == 422 and "subjects[0].namespace: Required value" in vague.json()["message"]
    await bind(http, "precise", "ClusterRole", "secret-reader", [subject("ServiceAccount", "builder", "team-b")])
    assert await allowed(http, "system:serviceaccount:team-b:builder", verb="get", resource="secrets",
                         namespace="team-b")
    # every service account of a namespace, through the group the API server gives them
    await bind(http, "all-sas", "ClusterRole", "secret-reader", [subject("Group", "system:serviceaccounts:team-b")],
               namespace="team-b")
    assert await allowed(http, "system:serviceaccount:team-b:other", ("system:serviceaccounts",
                                                                      "system:serviceaccounts:team-b"),
                         verb="get", resource="secrets", namespace="team-b")
    # a SubjectAccessReview adds no group: without it, the same user is not allowed
    assert not await allowed(http, "system:serviceaccount:team-b:other", verb="get", resource="secrets",
                             namespace="team-b")


async def test_subresources_are_granted_only_by_their_own_resource_or_a_star_subresource_rule(
    http: httpx.AsyncClient,
) -> None:
    await cluster_role(http, "spec-only", [{"apiGroups": [SHIPWAY], "resources": ["pipelines"], "verbs": ["*"]}])
    await cluster_role(http, "status-only", [{"apiGroups": [SHIPWAY], "resources": ["pipelines/status"],
                                              "verbs": ["patch"]}])
    await cluster_role(http, "any-status", [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}])
    await bind(http, "spec-only", "ClusterRole", "spec-only", [subject("User", "spec")])
    await bind(http, "status-only", "ClusterRole", "status-only", [subject("User", "status")])
    await bind(http, "any-status", "ClusterRole", "any-status", [subject("User", "any")])
    where = {"group": SHIPWAY, "namespace": "team-a", "name": "web"}
    assert await allowed(http, "spec", verb="patch", resource="pipelines", **where)
    assert not await allowed(http, "spec", verb="patch", resource="pipelines", subresource="status", **where)
    assert await allowed(http, "status", verb="patch", resource="pipelines", subresource="status", **where)
    assert not await allowed(http, "status", verb="patch", resource="pipelines", **where)
    assert await allowed(http, "any", verb="get", resource="platforms", subresource="status", **where)
    assert not await allowed(http, "any", verb="get", resource="platforms", **where)
    assert not await allowed(http, "any", verb="get", resource="platforms", subresource="scale", **where)


async def test_system_masters_is_allowed_everything_without_any_rbac_object(http: httpx.AsyncClient) -> None:
    status = await review(http, "root", ("system:masters",), verb="delete", resource="namespaces", name="kube-system")
    assert status == {"allowed": True}  # the privileged-group authorizer gives no reason
    assert await allowed(http, "", ("system:masters",), verb="get", path="/metrics")
    assert not await allowed(http, "root", ("system:authenticated",), verb="delete", resource="namespaces")


async def test_non_resource_urls_match_exactly_or_by_a_trailing_star(http: httpx.AsyncClient) -> None:
    await cluster_role(http, "probe", [{"nonResourceURLs": ["/healthz", "/apis/*"], "verbs": ["get"]}])
    await bind(http, "probe", "ClusterRole", "probe", [subject("Group", "probes")])
    probes = ("probes",)
    assert await allowed(http, "p", probes, verb="get", path="/healthz")
    assert await allowed(http, "p", probes, verb="get", path="/apis/shipway.dev/v1alpha1")
    assert not await allowed(http, "p", probes, verb="get", path="/healthz/etcd")
    assert not await allowed(http, "p", probes, verb="post", path="/healthz")
    assert not await allowed(http, "p", probes, verb="get", path="/metrics")
    # nonResourceURLs rules never grant a resource request
    assert not await allowed(http, "p", probes, verb="get", resource="healthz")


async def test_a_binding_to_a_missing_role_denies_and_says_why(teams: httpx.AsyncClient) -> None:
    http = teams
    await bind(http, "dangling", "ClusterRole", "not-there", [subject("User", "dave")], namespace="team-a")
    assert await review(http, "dave", verb="get", resource="secrets", namespace="team-a") == {
        "allowed": False, "reason": 'RBAC: clusterrole.rbac.authorization.k8s.io "not-there" not found'}


async def test_rules_deleted_or_changed_take_effect_at_once(teams: httpx.AsyncClient) -> None:
    http = teams
    await role(http, "team-a", "reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    await bind(http, "read", "Role", "reader", [subject("User", "erin")], namespace="team-a")
    assert await allowed(http, "erin", verb="get", resource="secrets", namespace="team-a")
    response = await http.delete(f"{RBAC}/namespaces/team-a/rolebindings/read")
    assert response.status_code == 200
    assert not await allowed(http, "erin", verb="get", resource="secrets", namespace="team-a")


async def test_an_aggregated_clusterrole_carries_the_rules_of_the_roles_its_selector_picks(
    http: httpx.AsyncClient,
) -> None:
    await cluster_role(http, "editor", [], aggregationRule={
        "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-editor": "true"}}]})
    await create(http, f"{RBAC}/clusterroles", {
        "metadata": {"name": "pipelines-part", "labels": {"example.com/aggregate-to-editor": "true"}},
        "rules": [{"apiGroups": [SHIPWAY], "resources": ["pipelines"], "verbs": ["create"]}]})
    await bind(http, "editors", "ClusterRole", "editor", [subject("User", "frank")])
    assert await allowed(http, "frank", verb="create", group=SHIPWAY, resource="pipelines", namespace="x")
    assert not await allowed(http, "frank", verb="delete", group=SHIPWAY, resource="pipelines", namespace="x")


async def test_decisions_follow_every_change_of_roles_and_bindings(teams: httpx.AsyncClient) -> None:
    """The rules that apply to a user in a namespace are kept between requests (``RbacAuthorizer``): a Role, a
    RoleBinding, a ClusterRole (aggregated too) or a ClusterRoleBinding written or deleted changes the next
    decision, and one of another namespace does not."""
    http = teams
    get_secrets = {"verb": "get", "resource": "secrets", "namespace": "team-a", "name": "s"}
    assert not await allowed(http, "alice", (), **get_secrets)
    await role(http, "team-a", "reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    await bind(http, "read", "Role", "reader", [subject("User", "alice")], namespace="team-a")
    assert not await allowed(http, "alice", (), **get_secrets)
    patched = await http.patch(f"{RBAC}/namespaces/team-a/roles/reader", json={"rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
        headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert await allowed(http, "alice", (), **get_secrets)
    assert not await allowed(http, "alice", (), **{**get_secrets, "namespace": "team-b"})
    assert (await http.delete(f"{RBAC}/namespaces/team-a/rolebindings/read")).status_code == 200
    assert not await allowed(http, "alice", (), **get_secrets)
    await cluster_role(http, "aggregate", [], aggregationRule={"clusterRoleSelectors": [
        {"matchLabels": {"grant": "secrets"}}]})
    await bind(http, "everywhere", "ClusterRole", "aggregate", [subject("User", "alice")])
    assert not await allowed(http, "alice", (), **get_secrets)
    await create(http, f"{RBAC}/clusterroles", {"metadata": {"name": "secrets", "labels": {"grant": "secrets"}},
                                                "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                                           "verbs": ["get"]}]})
    assert await allowed(http, "alice", (), **{**get_secrets, "namespace": "team-b"})
    assert (await http.delete(f"{RBAC}/clusterrolebindings/everywhere")).status_code == 200
    assert not await allowed(http, "alice", (), **{**get_secrets, "namespace": "team-b"})
