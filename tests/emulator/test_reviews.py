"""TokenReview and SubjectAccessReviews answered by the emulator, and the optional enforcement of
authentication and RBAC on its own API (a users file given), all over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import pathlib
import ssl
import stat
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import yaml

from shipway_sandbox.emulator import (
    ClusterEmulator,
    EmulatorServer,
    Users,
    free_port,
    generate_users,
    load_users,
)

from .helpers import Completed

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SELF_SAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_review(token: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token, **spec}}


def self_review(**attributes: str) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}


@pytest.fixture
def users() -> Users:
    return generate_users()


@pytest.fixture
async def secured(users: Users) -> AsyncIterator[EmulatorServer]:
    """An emulator that authenticates with the users file and authorizes with RBAC, with namespaces
    team-a and team-b, and team-a's group allowed to read and write Secrets in team-a."""
    async with EmulatorServer(ClusterEmulator(users=users, service_account_delay=0.01)) as srv:
        assert srv.url.startswith("https://")  # kubectl sends tokens only over TLS
        async with httpx.AsyncClient(base_url=srv.url, headers=bearer(users.admin.token),
                                     verify=srv.client_ssl_context()) as admin:
            for name in ("team-a", "team-b"):
                assert (await admin.post("/api/v1/namespaces", json={"metadata": {"name": name}})).status_code == 201
            assert (await admin.post(f"{RBAC}/clusterroles", json={"metadata": {"name": "secret-editor"}, "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create"]}]})).status_code == 201
            assert (await admin.post(f"{RBAC}/namespaces/team-a/rolebindings", json={
                "metadata": {"name": "team-a-secrets"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-editor"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a"}],
            })).status_code == 201
        yield srv


@pytest.fixture
async def as_user(secured: EmulatorServer, users: Users) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    def client(token: str | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=secured.url, headers=bearer(token) if token else None, timeout=5,
                                 verify=secured.client_ssl_context())

    clients = {user.name: client(user.token) for user in users}
    clients["anonymous"] = client(None)
    clients["stranger"] = client("not-a-known-token")
    yield clients
    for opened in clients.values():
        await opened.aclose()


# -- TokenReview -----------------------------------------------------------------------------------------------
async def test_a_token_review_of_a_known_token_names_its_user_and_groups_plus_system_authenticated(
    as_user: dict[str, httpx.AsyncClient], users: Users,
) -> None:
    for name, groups in [("admin", ["system:masters", "system:authenticated"]),
                         ("team-a", ["team-a", "system:authenticated"])]:
        response = await as_user["admin"].post(TOKEN_REVIEWS, json=token_review(users.by_name(name).token))
        assert response.status_code == 201
        body = response.json()
        assert body["kind"] == "TokenReview" and body["apiVersion"] == "authentication.k8s.io/v1"
        assert body["status"] == {"authenticated": True, "user": {"username": name, "groups": groups},
                                  "audiences": ["https://kubernetes.default.svc.cluster.local"]}


async def test_a_token_review_of_an_unknown_token_is_unauthenticated(as_user: dict[str, httpx.AsyncClient]) -> None:
    response = await as_user["admin"].post(TOKEN_REVIEWS, json=token_review("made-up"))
    assert response.status_code == 201
    status = response.json()["status"]
    assert "authenticated" not in status  # false is omitted, as Go's omitempty does
    assert status["user"] == {} and status["error"]


async def test_a_token_review_for_an_audience_other_than_the_api_server_is_unauthenticated(
    as_user: dict[str, httpx.AsyncClient], users: Users,
) -> None:
    review = token_review(users.by_name("team-a").token, audiences=["https://vault.example.com"])
    status = (await as_user["admin"].post(TOKEN_REVIEWS, json=review)).json()["status"]
    assert not status.get("authenticated") and "invalid for the target audiences" in status["error"]


async def test_a_token_review_needs_a_token_and_the_right_to_create_token_reviews(
    as_user: dict[str, httpx.AsyncClient], users: Users,
) -> None:
    empty = await as_user["admin"].post(TOKEN_REVIEWS, json=token_review(""))
    assert empty.status_code == 400 and empty.json()["reason"] == "BadRequest"
    denied = await as_user["team-a"].post(TOKEN_REVIEWS, json=token_review(users.by_name("team-b").token))
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        'tokenreviews.authentication.k8s.io is forbidden: User "team-a" cannot create resource "tokenreviews"'
        ' in API group "authentication.k8s.io" at the cluster scope')


async def test_without_a_users_file_a_token_review_authenticates_nobody(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN_REVIEWS, json=token_review("shipway-emulator-token"))
    assert response.status_code == 201 and not response.json()["status"].get("authenticated")


async def test_reviews_are_never_stored_so_nameless_reviews_can_be_repeated(
    http: httpx.AsyncClient, emulator: ClusterEmulator,
) -> None:
    sar = {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
           "spec": {"user": "x", "resourceAttributes": {"verb": "get", "resource": "secrets"}}}
    for _ in range(3):
        for path, body in [(TOKEN_REVIEWS, token_review("t")), (SAR, sar), (SELF_SAR, self_review(verb="get"))]:
            response = await http.post(path, json=body)
            assert response.status_code == 201, response.text
    named = {**sar, "metadata": {"name": "same"}}
    assert (await http.post(SAR, json=named)).status_code == 201
    assert (await http.post(SAR, json=named)).status_code == 201
    assert (await http.get(SAR)).status_code == 405
    assert (await http.get(f"{TOKEN_REVIEWS}/anything")).status_code == 405
    stored = {resource for resource, _key, _body in emulator.cluster.store.all_objects()}
    assert not {r for r in stored if r[0] in ("authentication.k8s.io", "authorization.k8s.io")}


async def test_review_resources_are_discoverable_as_create_only(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/apis/authorization.k8s.io/v1")).json()["resources"]
    assert {(r["name"], r["namespaced"], tuple(r["verbs"])) for r in listed} == {
        ("subjectaccessreviews", False, ("create",)), ("selfsubjectaccessreviews", False, ("create",)),
        ("localsubjectaccessreviews", True, ("create",)), ("selfsubjectrulesreviews", False, ("create",))}
    listed = (await http.get("/apis/authentication.k8s.io/v1")).json()["resources"]
    assert {(r["name"], r["namespaced"], tuple(r["verbs"])) for r in listed} == {
        ("tokenreviews", False, ("create",)), ("selfsubjectreviews", False, ("create",))}


# -- SubjectAccessReview validation and variants ------------------------------------------------------------------
async def test_a_subject_access_review_must_name_a_subject_and_exactly_one_kind_of_attributes(
    http: httpx.AsyncClient,
) -> None:
    def sar(spec: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": spec}

    nobody = await http.post(SAR, json=sar({"resourceAttributes": {"verb": "get", "resource": "secrets"}}))
    assert nobody.status_code == 422 and nobody.json()["reason"] == "Invalid"
    assert "spec.user: Invalid value" in nobody.json()["message"]
    assert "at least one of user or group must be specified" in nobody.json()["message"]
    neither = await http.post(SAR, json=sar({"user": "u"}))
    assert neither.status_code == 422 and "exactly one of nonResourceAttributes" in neither.json()["message"]
    both = await http.post(SAR, json=sar({"user": "u", "resourceAttributes": {}, "nonResourceAttributes": {}}))
    assert both.status_code == 422 and "cannot be specified in combination" in both.json()["message"]


async def test_a_local_subject_access_review_is_confined_to_its_namespace(
    as_user: dict[str, httpx.AsyncClient],
) -> None:
    path = "/apis/authorization.k8s.io/v1/namespaces/team-a/localsubjectaccessreviews"

    def local(namespace: str) -> dict[str, Any]:
        return {"kind": "LocalSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "spec": {"user": "team-a", "groups": ["team-a"],
                         "resourceAttributes": {"verb": "list", "resource": "secrets", "namespace": namespace}}}

    answered = await as_user["admin"].post(path, json=local("team-a"))
    assert answered.status_code == 201
    assert answered.json()["status"]["allowed"] is True and answered.json()["metadata"]["namespace"] == "team-a"
    mismatch = await as_user["admin"].post(path, json=local("team-b"))
    assert mismatch.status_code == 422 and "must match metadata.namespace" in mismatch.json()["message"]


async def test_a_self_subject_access_review_answers_for_the_caller(as_user: dict[str, httpx.AsyncClient]) -> None:
    async def can(who: str, **attributes: str) -> bool:
        response = await as_user[who].post(SELF_SAR, json=self_review(**attributes))
        assert response.status_code == 201, response.text
        return bool(response.json()["status"]["allowed"])

    assert await can("team-a", verb="create", resource="secrets", namespace="team-a")
    assert not await can("team-a", verb="create", resource="secrets", namespace="team-b")
    assert not await can("team-b", verb="list", resource="secrets", namespace="team-a")
    assert await can("admin", verb="delete", resource="namespaces", name="team-b")
    # the anonymous user may not even ask (system:basic-user is for authenticated users)
    assert (await as_user["anonymous"].post(SELF_SAR, json=self_review(verb="get"))).status_code == 403


async def test_without_a_users_file_a_self_review_is_allowed_as_everything_is(http: httpx.AsyncClient) -> None:
    response = await http.post(SELF_SAR, json=self_review(verb="delete", resource="namespaces"))
    assert response.status_code == 201 and response.json()["status"] == {"allowed": True}


# -- enforcement on the emulator's own API ------------------------------------------------------------------------
async def test_an_unknown_token_is_401_and_no_token_is_the_anonymous_user(
    as_user: dict[str, httpx.AsyncClient],
) -> None:
    unknown = await as_user["stranger"].get("/api/v1/namespaces/team-a/secrets")
    assert unknown.status_code == 401
    assert unknown.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    anonymous = await as_user["anonymous"].get("/api/v1/namespaces/team-a/secrets")
    assert anonymous.status_code == 403
    assert anonymous.json()["message"] == ('secrets is forbidden: User "system:anonymous" cannot list resource'
                                           ' "secrets" in API group "" in the namespace "team-a"')
    assert (await as_user["anonymous"].get("/healthz")).text == "ok"  # system:public-info-viewer
    discovery = await as_user["anonymous"].get("/apis")
    assert discovery.status_code == 403
    assert discovery.json()["message"] == 'forbidden: User "system:anonymous" cannot get path "/apis"'


async def test_rbac_decides_each_request_of_a_team_user(as_user: dict[str, httpx.AsyncClient]) -> None:
    team_a = as_user["team-a"]
    created = await team_a.post("/api/v1/namespaces/team-a/secrets", json={"metadata": {"name": "creds"}})
    assert created.status_code == 201
    assert (await team_a.get("/api/v1/namespaces/team-a/secrets/creds")).status_code == 200
    assert (await team_a.get("/api")).status_code == 200  # discovery: system:discovery
    denied = await team_a.delete("/api/v1/namespaces/team-a/secrets/creds")
    assert denied.status_code == 403
    assert denied.json()["message"] == ('secrets "creds" is forbidden: User "team-a" cannot delete resource'
                                        ' "secrets" in API group "" in the namespace "team-a"')
    assert denied.json()["details"] == {"name": "creds", "kind": "secrets"}
    other = await as_user["team-b"].get("/api/v1/namespaces/team-a/secrets")
    assert other.status_code == 403 and 'User "team-b" cannot list' in other.json()["message"]
    status = await team_a.patch("/api/v1/namespaces/team-a/secrets/creds/status", json={},
                                headers={"Content-Type": "application/merge-patch+json"})
    assert status.status_code == 403  # authorization comes before routing: no 404 to probe with
    assert 'cannot patch resource "secrets/status"' in status.json()["message"]
    crb = await team_a.post(f"{RBAC}/clusterrolebindings", json={"metadata": {"name": "escalate"}})
    assert crb.status_code == 403 and "at the cluster scope" in crb.json()["message"]


async def test_bootstrap_roles_exist_when_a_users_file_is_given(as_user: dict[str, httpx.AsyncClient]) -> None:
    listed = (await as_user["admin"].get(f"{RBAC}/clusterrolebindings")).json()["items"]
    bindings = {b["metadata"]["name"]: b for b in listed}
    assert bindings["cluster-admin"]["subjects"][0]["name"] == "system:masters"
    assert {"system:discovery", "system:basic-user", "system:public-info-viewer"} <= set(bindings)


async def run_kubectl(kubeconfig: pathlib.Path, tmp_path: pathlib.Path, *args: str) -> Completed:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kubecache"),
        "--request-timeout", "10s", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return Completed(process.returncode, out.decode(), err.decode())


async def test_kubectl_works_with_the_admin_kubeconfig_and_is_refused_with_a_team_token(
    secured: EmulatorServer, users: Users, tmp_path: pathlib.Path,
) -> None:
    config = secured.write_kubeconfig(tmp_path / "kubeconfig")
    written = yaml.safe_load(config.read_text())
    assert written["users"][0]["user"]["token"] == users.admin.token
    assert base64.b64decode(written["clusters"][0]["cluster"]["certificate-authority-data"]) == secured.ca_pem
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    listed = await run_kubectl(config, tmp_path, "get", "namespaces", "-o", "name")
    assert listed.code == 0, listed.stderr
    assert "namespace/team-a" in listed.stdout.split()
    team_a = users.by_name("team-a").token
    refused = await run_kubectl(config, tmp_path, "--token", team_a, "get", "secrets", "-n", "team-b")
    assert refused.code != 0
    assert 'User "team-a" cannot list resource "secrets" in API group "" in the namespace "team-b"' in refused.stderr
    yes = await run_kubectl(config, tmp_path, "--token", team_a, "auth", "can-i", "create", "secrets", "-n", "team-a")
    no = await run_kubectl(config, tmp_path, "--token", team_a, "auth", "can-i", "create", "secrets", "-n", "team-b")
    assert (yes.code, yes.stdout.strip()) == (0, "yes")
    assert (no.code, no.stdout.strip()) == (1, "no")
    bad = await run_kubectl(config, tmp_path, "--token", "wrong", "get", "namespaces")
    assert bad.code != 0 and "Unauthorized" in bad.stderr


async def test_the_standalone_emulator_with_users_creates_them_and_writes_the_admin_kubeconfig(
    tmp_path: pathlib.Path,
) -> None:
    port = free_port()
    users_path, config_path = tmp_path / "state" / "users.yaml", tmp_path / "kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipway_sandbox.emulator", "--port", str(port), "--kubeconfig", str(config_path),
        "--users", str(users_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        assert line.decode().strip() == f"emulator listening on https://127.0.0.1:{port}"
        assert stat.S_IMODE(users_path.stat().st_mode) == 0o600
        users = load_users(users_path)
        assert [u.name for u in users] == ["admin", "team-a", "team-b"]
        config = yaml.safe_load(config_path.read_text())
        token = config["users"][0]["user"]["token"]
        assert token == users.admin.token
        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}",
                                     verify=ssl.create_default_context(cadata=ca)) as http:
            assert (await http.get("/api/v1/namespaces", headers=bearer(token))).status_code == 200
            assert (await http.get("/api/v1/namespaces", headers=bearer("guess"))).status_code == 401
    finally:
        process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), timeout=5)
    assert "created users admin, team-a, team-b" in err.decode()
    assert not any(u.token in err.decode() for u in users)
