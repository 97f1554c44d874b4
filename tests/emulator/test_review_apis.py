"""The review APIs kubectl uses: SelfSubjectRulesReview (``kubectl auth can-i --list``), SelfSubjectReview
(``kubectl auth whoami``), and SubjectAccessReview honouring the groups and extra it names.

Sources: https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access
(SelfSubjectRulesReview, "should not be used by external systems to drive authorization decisions"),
https://kubernetes.io/docs/reference/access-authn-authz/authentication/#self-subject-review (``kubectl auth whoami``,
``authentication.k8s.io/v1`` since 1.28), the API reference of ``SubjectAccessReviewSpec`` (``user``, ``groups``,
``extra``, ``uid``), ``pkg/registry/authorization/selfsubjectrulesreview/rest.go`` ("no namespace on request") and
``plugin/pkg/auth/authorizer/rbac/rbac.go`` (``RulesFor``), ``AlwaysAllow``'s ``RulesFor``.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Mapping
from typing import Any

import httpx

from shipway_sandbox.emulator import ClusterEmulator, Decision, EmulatorServer, RequestAttributes, UserInfo

from .helpers import Completed
from .secured_support import RBAC, secured

SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def rules_review(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace}}


async def test_a_rules_review_lists_the_callers_rules_in_the_namespace() -> None:
    async with secured() as cluster:
        await cluster.grant("team-a", "cm-reader", [{"apiGroups": [""], "resources": ["configmaps"],
                                                     "verbs": ["get", "list"], "resourceNames": ["one"]}],
                            group="team-a")
        team = cluster.clients["team-a"]
        response = await team.post(SSRR, json=rules_review("team-a"))
        assert response.status_code == 201
        body = response.json()
        assert body["metadata"] == {"creationTimestamp": None} and body["spec"] == {"namespace": "team-a"}
        status = body["status"]
        assert status["incomplete"] is False and "evaluationError" not in status
        assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": ["one"]} in status["resourceRules"]
        assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in status["resourceRules"]
        assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} in \
            status["nonResourceRules"]
        elsewhere = (await team.post(SSRR, json=rules_review("team-b"))).json()["status"]["resourceRules"]
        assert not [r for r in elsewhere if r.get("resources") == ["configmaps"]]
        admin = (await cluster.admin.post(SSRR, json=rules_review("team-a"))).json()["status"]
        assert {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]} in admin["resourceRules"]
        nameless = await team.post(SSRR, json={"kind": "SelfSubjectRulesReview", "spec": {}})
        assert nameless.status_code == 400 and nameless.json()["message"] == "no namespace on request"
        await cluster.create(f"{RBAC}/namespaces/team-a/rolebindings", {
            "metadata": {"name": "dangling"}, "subjects": [{"kind": "Group", "name": "team-a"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "missing"}})
        broken = (await team.post(SSRR, json=rules_review("team-a"))).json()["status"]
        assert broken["evaluationError"] == 'role.rbac.authorization.k8s.io "missing" not found'


async def test_without_an_authorizer_everything_is_listed(http: httpx.AsyncClient) -> None:
    status = (await http.post(SSRR, json=rules_review("default"))).json()["status"]
    assert status == {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                      "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}


async def test_a_self_subject_review_tells_who_the_caller_is(http: httpx.AsyncClient) -> None:
    async with secured() as cluster:
        response = await cluster.clients["team-b"].post(SSR, json={"apiVersion": "authentication.k8s.io/v1",
                                                                   "kind": "SelfSubjectReview"})
        assert response.status_code == 201
        assert response.json() == {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                                   "metadata": {"creationTimestamp": None}, "status": {"userInfo": {
                                       "username": "team-b", "groups": ["team-b", "system:authenticated"]}}}
    anonymous = (await http.post(SSR, json={"kind": "SelfSubjectReview"})).json()["status"]["userInfo"]
    assert anonymous == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


async def test_a_subject_access_review_decides_for_the_groups_and_extra_it_names() -> None:
    seen: list[UserInfo] = []

    async def authenticate(_headers: Mapping[str, str]) -> UserInfo:
        return UserInfo(username="caller", groups=("system:authenticated",))

    async def authorize(user: UserInfo, attributes: RequestAttributes) -> Decision:
        if attributes.resource == "secrets":
            seen.append(user)
            return Decision("auditors" in user.groups and user.extra.get("scopes") == ("read",), "custom")
        return Decision(True)

    emulator = ClusterEmulator(authenticator=authenticate, authorizer=authorize)
    async with EmulatorServer(emulator) as server, httpx.AsyncClient(base_url=server.url) as http:
        spec = {"user": "alice", "uid": "u-1", "groups": ["auditors"], "extra": {"scopes": ["read"]},
                "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "default"}}
        allowed = await http.post(SAR, json={"kind": "SubjectAccessReview", "spec": spec})
        assert allowed.status_code == 201 and allowed.json()["status"] == {"allowed": True, "reason": "custom"}
        assert seen[-1] == UserInfo(username="alice", uid="u-1", groups=("auditors",), extra={"scopes": ("read",)})
        narrower = await http.post(SAR, json={"kind": "SubjectAccessReview", "spec": {**spec, "extra": {}}})
        assert narrower.json()["status"]["allowed"] is False
        bad = await http.post(SAR, json={"kind": "SubjectAccessReview", "spec": {**spec, "extra": {"scopes": "read"}}})
        assert bad.status_code == 400


async def test_a_subject_access_review_for_a_masters_member_is_allowed_by_rbac(http: httpx.AsyncClient) -> None:
    spec = {"user": "root", "groups": ["system:masters"],
            "resourceAttributes": {"verb": "delete", "resource": "namespaces", "name": "kube-system"}}
    assert (await http.post(SAR, json={"kind": "SubjectAccessReview", "spec": spec})).json()["status"] == {
        "allowed": True}


# -- the real kubectl -------------------------------------------------------------------------------------------
async def kubectl(config: pathlib.Path, *args: str) -> Completed:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(config), "--request-timeout", "10s", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return Completed(process.returncode or 0, out.decode(), err.decode())


async def test_kubectl_auth_whoami_and_can_i_list(tmp_path: pathlib.Path) -> None:
    async with secured() as cluster:
        await cluster.grant("team-a", "cm-editor", [{"apiGroups": [""], "resources": ["configmaps"],
                                                     "verbs": ["get", "create"]}], group="team-a")
        config = cluster.kubeconfig(tmp_path / "team-a", "team-a")
        whoami = await kubectl(config, "auth", "whoami")
        assert whoami.code == 0, whoami.stderr
        assert [line.split(None, 1) for line in whoami.stdout.splitlines()] == [
            ["ATTRIBUTE", "VALUE"], ["Username", "team-a"], ["Groups", "[team-a system:authenticated]"]]
        listed = await kubectl(config, "auth", "can-i", "--list", "-n", "team-a")
        assert listed.code == 0, listed.stderr
        rows = [line.split() for line in listed.stdout.splitlines()]
        assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
        assert ["configmaps", "[]", "[]", "[get", "create]"] in rows
        assert ["selfsubjectreviews.authentication.k8s.io", "[]", "[]", "[create]"] in rows
        other = await kubectl(config, "auth", "can-i", "--list", "-n", "team-b")
        assert "configmaps " not in other.stdout
        single = await kubectl(config, "auth", "can-i", "create", "configmaps", "-n", "team-a")
        assert single.stdout.strip() == "yes"
        denied = await kubectl(config, "auth", "can-i", "delete", "configmaps", "-n", "team-a")
        assert denied.stdout.strip() == "no" and denied.code == 1
