"""A hostile tenant against tenant isolation, on every path: team-a (pipeline ``shop``) attacks team-b
(pipeline ``blog``), the platform and the protected namespaces, through the real kubectl (the emulator sends
every Pipeline and Platform write to Shipway's admission webhook) and through the REST API; and, where a
spec could have been written before the webhook existed, the operator (the second belt) is attacked with a
spec the admin wrote with the webhook removed.

Every attack asserts two things: it was refused (403 naming the rule) or had no effect, and the victim's
state (see ``harness``) is the same once the operator settled. The module ends by scanning everything the
attacker could read for every canary password (``conftest``).

Numbered sections follow the findings of the security issue this suite was written for. The tests share the
module's sandbox and run in file order; each leaves ``shop`` as it found it (the last two as far as its
spec)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import SYSTEM_NAMESPACE, docker_config, error_of, find_canaries, secret_manifest
from tests.support.hostile import Answer, ScriptedServer, SeenRequest

from .harness import (
    BLOG_SECRET_REGISTRY,
    BLOG_VALUE_REGISTRY,
    SHOP_CREDENTIALS,
    SHOP_PHASES,
    CountingListener,
    Run,
    World,
    pipeline_manifest,
    reference,
    shop_manifest,
)

FOREIGN_NAMESPACES = [  # (the namespace, the rule that refuses it)
    ("blog-stage", "NamespaceOutsidePrefix"),  # another pipeline's
    ("team-b", "NamespaceOutsidePrefix"),  # another team's
    ("kube-system", "NamespaceProtected"),
    ("default", "NamespaceProtected"),
    (SYSTEM_NAMESPACE, "NamespaceProtected"),
    ("blog-new", "NamespaceOutsidePrefix"),  # a new name outside shop-
]
NAMESPACE_RULES = ("NamespaceOutsidePrefix", "NamespaceClaimed", "NamespaceProtected", "NamespaceNotAdopted")


def kubectl_refused(run: Run, rule: str | None) -> str:
    """kubectl failed with a 403 from the API server (the webhook or RBAC) naming ``rule``; the message."""
    assert run.returncode != 0, f"kubectl {' '.join(run.args)} was admitted: {run.text}"
    assert "(Forbidden)" in run.stderr or " is forbidden: " in run.stderr, run.stderr
    if rule is not None:
        assert "denied the request" in run.stderr and f"({rule})" in run.stderr, run.stderr
    return run.stderr.strip()


def api_refused(response: httpx.Response, rule: str | None, status: int = 403) -> str:
    """The API answered ``status`` naming ``rule``; the message."""
    assert response.status_code == status, response.text
    message = str(error_of(response)["message"])
    if rule is not None:
        assert f"({rule})" in message, message
    return message


def shop_spec_unchanged(world: World, before: dict[str, Any]) -> None:
    assert world.spec("shop") == before, "a refused write changed shop's spec"


@pytest.fixture
def shop_before(world: World) -> Iterator[dict[str, Any]]:
    """shop's spec before the test; after it, shop is put back (by the admin) if the test changed it."""
    before = world.spec("shop")
    yield before
    if world.spec("shop") != before:
        world.replace_spec("shop", before)
        world.wait_ready("shop")


# Control: the webhook admits what is lawful


def test_the_attacker_and_the_victim_are_set_up_and_a_lawful_change_is_admitted(
        world: World, shop_before: dict[str, Any]) -> None:
    assert world.wait_ready("blog")["reason"] == "Ready"
    assert world.wait_ready("shop")["reason"] == "Ready"
    lawful = shop_manifest([*SHOP_PHASES, {"name": "review", "namespace": "shop-review", "enabled": False}])
    assert world.apply("team-a", lawful).returncode == 0
    assert [p.get("namespace") for p in world.spec("shop")["phases"]] == [None, None, "shop-review"]
    back = world.apply("team-a", shop_manifest())
    assert back.returncode == 0, back.text
    assert world.spec("shop")["phases"] == shop_before["phases"]


def test_the_snapshot_notices_a_change_of_the_victims_state(world: World) -> None:
    before = world.snapshot()
    path = "/api/v1/namespaces/team-b"
    world.kube.merge_patch(path, {"metadata": {"annotations": {"example.com/touched": "yes"}}})
    try:
        with pytest.raises(AssertionError, match="changed the victim's state"):
            world.assert_unchanged(before)
    finally:
        world.kube.merge_patch(path, {"metadata": {"annotations": {"example.com/touched": None}}})
    world.assert_unchanged(before)


# 1. Phase namespaces: another pipeline's, another team's, protected, outside the prefix


@pytest.mark.parametrize(("namespace", "rule"), FOREIGN_NAMESPACES)
def test_a_phase_namespace_outside_shops_own_is_refused_on_every_path_and_nothing_changes(
        world: World, shop_before: dict[str, Any], namespace: str, rule: str) -> None:
    phases = [{"name": "stage", "namespace": namespace}, {"name": "production"}]
    disabled = [*SHOP_PHASES, {"name": "review", "namespace": namespace, "enabled": False}]
    with world.unchanged():
        kubectl_refused(world.apply("team-a", shop_manifest(phases)), rule)
        kubectl_refused(world.apply("team-a", shop_manifest(disabled)), rule)
        kubectl_refused(world.apply("team-a", shop_manifest(phases), "--server-side", "--force-conflicts"), rule)
        kubectl_refused(world.kubectl("team-a", "replace", "-f", "-",
                                      stdin=json.dumps(shop_manifest(phases))), rule)
        kubectl_refused(world.kubectl("team-a", "patch", "pipeline", "shop", "--type=merge", "-p",
                                      json.dumps({"spec": {"phases": phases}})), rule)
        kubectl_refused(world.kubectl("team-a", "patch", "pipeline", "shop", "--type=json", "-p", json.dumps(
            [{"op": "add", "path": "/spec/phases/-", "value": {"name": "test", "namespace": namespace}}])), rule)
        api_refused(world.team_a.put("/api/v1/pipelines/shop", json={"phases": phases}), rule)
        api_refused(world.team_a.put("/api/v1/pipelines/shop", json={"phases": disabled}), rule)
        # the API's create path checks before it finds that shop exists
        api_refused(world.team_a.post("/api/v1/pipelines", json={"name": "shop", "phases": phases}), rule)
        shop_spec_unchanged(world, shop_before)


def test_a_second_pipeline_under_a_name_team_a_cannot_manage_is_refused_and_never_exists(
        world: World, shop_before: dict[str, Any]) -> None:
    squat = pipeline_manifest("shop2", [{"name": "stage", "namespace": "blog-stage"}, {"name": "production"}])
    with world.unchanged():
        kubectl_refused(world.create("team-a", squat), "PipelineNameNotManageable")
        kubectl_refused(world.create("team-a", pipeline_manifest("shop2", SHOP_PHASES)), "PipelineNameNotManageable")
        kubectl_refused(world.apply("team-a", squat), None)  # apply reads it first: RBAC says no
        message = api_refused(world.team_a.post("/api/v1/pipelines", json={
            "name": "shop2", "phases": [{"name": "stage", "namespace": "blog-stage"}]}), "PipelineNameNotManageable")
        assert "blog-stage" not in message
    assert world.kube.pipeline("shop2") is None
    assert world.kube.get("/api/v1/namespaces/shop2-stage") is None
    shop_spec_unchanged(world, shop_before)


# 5. RBAC cannot restrict create by name


def test_a_pipeline_named_news_is_refused_by_kubectl_create_apply_and_dry_run_and_nothing_is_stored(
        world: World) -> None:
    news = pipeline_manifest("news", [{"name": "stage"}])
    with world.unchanged():
        kubectl_refused(world.create("team-a", news), "PipelineNameNotManageable")
        kubectl_refused(world.create("team-a", news, "--dry-run=server"), "PipelineNameNotManageable")
        kubectl_refused(world.apply("team-a", news), None)
        kubectl_refused(world.apply("team-a", news, "--dry-run=server"), None)
        kubectl_refused(world.apply("team-a", news, "--server-side"), None)
        api_refused(world.team_a.post("/api/v1/pipelines", json={"name": "news", "phases": [{"name": "stage"}]}),
                    "PipelineNameNotManageable")
    assert world.kube.pipeline("news") is None
    assert "news" not in [p["metadata"]["name"] for p in world.kube.pipelines()]
    assert world.kube.get("/api/v1/namespaces/news-stage") is None


# Pipeline names that nest


def test_a_namespace_under_the_prefix_of_a_pipeline_whose_name_extends_shops_is_not_shops_to_claim(
        world: World, shop_before: dict[str, Any]) -> None:
    """Pipeline names nest: shop's prefix ``shop-`` also covers ``shop-api-*``, the phase namespaces of another
    pipeline ``shop-api`` (made here by the admin, for whichever team). shop must not take the namespace of a
    phase shop-api has not declared yet: shop-api could then never add that phase."""
    created = world.admin.post("/api/v1/pipelines", json={"name": "shop-api", "phases": [{"name": "stage"}]})
    assert created.status_code == 201, created.text
    world.wait_ready("shop-api")
    world.extra_victims.append("shop-api-stage")
    squat = [*SHOP_PHASES, {"name": "review", "namespace": "shop-api-review"}]
    with world.unchanged():
        api = world.team_a.put("/api/v1/pipelines/shop", json={"phases": squat})
        if api.status_code == 200:
            assert world.apply("team-a", shop_manifest()).returncode == 0
        cli = world.apply("team-a", shop_manifest(squat))
        if cli.returncode == 0:
            world.wait_ready("shop")
        # shop-api, owned by someone else, adds the phase whose namespace is its own by name
        grown = world.admin.put("/api/v1/pipelines/shop-api", json={"phases": [{"name": "stage"}, {"name": "review"}]})
        assert (api.status_code, cli.returncode, grown.status_code) == (403, 1, 200), (
            f"team-a's shop claimed shop-api-review (API {api.status_code}, kubectl exit {cli.returncode}); "
            f"shop-api then adding its phase review got {grown.status_code}: {grown.text}")
        assert any(rule in api.text for rule in NAMESPACE_RULES) and any(rule in cli.stderr for rule in NAMESPACE_RULES)


# 10. Usage is the owner's to grant; the system namespace confers nothing


def test_push_from_a_secret_that_grants_pull_only_is_refused_with_usage_not_granted(
        world: World, shop_before: dict[str, Any]) -> None:
    with world.unchanged():
        kubectl_refused(world.apply("team-a", shop_manifest(credentials=[
            *SHOP_CREDENTIALS, reference("team-a", "a-pull-only", "pull", "push")])), "UsageNotGranted")
        api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references", json={
            "secretRef": {"namespace": "team-a", "name": "a-pull-only"}, "usage": ["pull", "push"]}),
            "UsageNotGranted")
        api_refused(world.team_a.post("/api/v1/pipelines/shop/phases/stage/credentials/references", json={
            "secretRef": {"namespace": "team-a", "name": "a-pull-only"}, "usage": ["push"]}), "UsageNotGranted")
        shop_spec_unchanged(world, shop_before)


def test_push_from_a_secret_whose_owner_granted_it_is_accepted(world: World, shop_before: dict[str, Any]) -> None:
    ref = {"namespace": "team-a", "name": "a-pushable"}
    with world.unchanged():
        added = world.team_a.post("/api/v1/pipelines/shop/credentials/references",
                                  json={"secretRef": ref, "usage": ["pull", "push"]})
        assert added.status_code == 200, added.text
        assert {"secretRef": ref, "usage": ["pull", "push"]} in world.spec("shop")["registry"]["credentials"]
        removed = world.team_a.delete("/api/v1/pipelines/shop/credentials",
                                      params={"secretNamespace": "team-a", "secretName": "a-pushable"})
        assert removed.status_code == 200, removed.text
    assert world.kube.secret("team-a", "a-pushable") is not None  # not managed: only the reference went
    shop_spec_unchanged(world, shop_before)


def test_the_system_namespaces_default_credential_is_not_shops_to_reference(
        world: World, shop_before: dict[str, Any]) -> None:
    ref = {"namespace": SYSTEM_NAMESPACE, "name": "default-registry"}
    with world.unchanged():
        kubectl_refused(world.apply("team-a", shop_manifest(credentials=[
            *SHOP_CREDENTIALS, {"secretRef": ref, "usage": ["pull"]}])), "SourceNotUsable")
        api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references", json={"secretRef": ref}),
                    "SourceNotUsable")
        # An admin may read it, and still cannot put it in a pipeline's own layer: it consents to no pipeline.
        api_refused(world.admin.post("/api/v1/pipelines/shop/credentials/references", json={"secretRef": ref}),
                    "SourceNotUsable")
        shop_spec_unchanged(world, shop_before)


# 3. The managed Secret of another pipeline's credential set by value


def test_blogs_managed_secret_cannot_be_referenced_from_shop_through_kubectl_or_the_api(
        world: World, shop_before: dict[str, Any]) -> None:
    managed = world.facts["blog managed secret"]
    ref = {"namespace": SYSTEM_NAMESPACE, "name": managed}
    with world.unchanged():
        kubectl_refused(world.apply("team-a", shop_manifest(credentials=[
            *SHOP_CREDENTIALS, {"secretRef": ref, "usage": ["pull"]}])), "SourceNotUsable")
        kubectl_refused(world.apply("team-a", shop_manifest(phases=[
            {"name": "stage", "registry": {"credentials": [{"secretRef": ref, "usage": ["pull"]}]}},
            {"name": "production"}])), "SourceNotUsable")
        existing = api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references",
                                                 json={"secretRef": ref}), "SourceNotUsable")
        api_refused(world.team_a.post("/api/v1/pipelines/shop/phases/production/credentials/references",
                                      json={"secretRef": ref}), "SourceNotUsable")
        # Not even an admin, who may read it: it belongs to blog alone.
        api_refused(world.admin.post("/api/v1/pipelines/shop/credentials/references", json={"secretRef": ref}),
                    "SourceNotUsable")
        missing = api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references", json={
            "secretRef": {"namespace": SYSTEM_NAMESPACE, "name": "shipway-pipeline-blog-0000000000"}}),
            "SourceNotUsable")
        assert existing.replace(managed, "X") == missing.replace("shipway-pipeline-blog-0000000000", "X")
        shop_spec_unchanged(world, shop_before)


def test_setting_by_value_the_registry_blog_uses_writes_only_shops_own_managed_secret(
        world: World, shop_before: dict[str, Any]) -> None:
    blog_secret = world.kube.secret(SYSTEM_NAMESPACE, world.facts["blog managed secret"])
    assert blog_secret is not None
    with world.unchanged():
        response = world.team_a.put("/api/v1/pipelines/shop/credentials", json={
            "registry": BLOG_VALUE_REGISTRY, "username": "shop-bot", "password": world.sandbox.canary("shopvalue")})
        assert response.status_code == 200, response.text
        ref = response.json()["secretRef"]
        assert ref["name"] != world.facts["blog managed secret"] and ref["name"].startswith("shipway-pipeline-shop-")
        removed = world.team_a.delete("/api/v1/pipelines/shop/credentials", params={"registry": BLOG_VALUE_REGISTRY})
        assert removed.status_code == 200, removed.text
        assert world.kube.secret(SYSTEM_NAMESPACE, ref["name"]) is None  # shop's own: deleted with the credential
        again = world.team_a.delete("/api/v1/pipelines/shop/credentials", params={"registry": BLOG_VALUE_REGISTRY})
        assert again.status_code == 404, again.text
    shop_spec_unchanged(world, shop_before)


# 6. No oracles


def test_a_reference_to_another_teams_secret_gets_one_answer_whether_or_not_it_exists(
        world: World, shop_before: dict[str, Any]) -> None:
    names = ("blog-registry", "b-private", "no-such-secret")
    with world.unchanged():
        for layer in ("/api/v1/pipelines/shop", "/api/v1/pipelines/shop/phases/stage"):
            answers = []
            for name in names:
                response = world.team_a.post(f"{layer}/credentials/references",
                                             json={"secretRef": {"namespace": "team-b", "name": name}})
                answers.append((response.status_code, api_refused(response, "SourceNotUsable").replace(name, "X")))
            assert len(set(answers)) == 1, answers
        refusals = []
        for name in names:
            run = world.apply("team-a", shop_manifest(credentials=[*SHOP_CREDENTIALS, reference("team-b", name)]))
            refusals.append(kubectl_refused(run, "SourceNotUsable").replace(name, "X"))
        assert len(set(refusals)) == 1, refusals
        shop_spec_unchanged(world, shop_before)


def test_a_phase_namespace_outside_the_prefix_gets_one_answer_whether_or_not_it_exists(
        world: World, shop_before: dict[str, Any]) -> None:
    assert world.kube.get("/api/v1/namespaces/team-b") is not None
    assert world.kube.get("/api/v1/namespaces/nope-x") is None
    with world.unchanged():
        api, cli = [], []
        for namespace in ("team-b", "nope-x"):
            phases = [{"name": "stage", "namespace": namespace}, {"name": "production"}]
            response = world.team_a.put("/api/v1/pipelines/shop", json={"phases": phases})
            api.append((response.status_code, api_refused(response, "NamespaceOutsidePrefix").replace(namespace, "X"),
                        error_of(response).get("field")))
            cli.append(kubectl_refused(world.apply("team-a", shop_manifest(phases)),
                                       "NamespaceOutsidePrefix").replace(namespace, "X"))
        assert api[0] == api[1]
        assert cli[0] == cli[1]
        shop_spec_unchanged(world, shop_before)
    assert world.kube.get("/api/v1/namespaces/nope-x") is None


def _same_shape(canary: str) -> str:
    """Another random string of the canary's shape (same prefix, same length of hex)."""
    prefix = canary[:-24]
    return prefix + secrets.token_hex(12)


def test_explain_with_a_victims_password_as_the_image_answers_as_for_any_other_string(world: World) -> None:
    password = world.facts["passwords"]["blog-registry"]
    other = _same_shape(password)
    answers = []
    with world.unchanged():
        for value in (password, other):
            response = world.team_a.get("/api/v1/pipelines/shop/phases/stage/explain", params={"image": value})
            assert password not in response.text and other not in response.text
            answers.append((response.status_code, response.text))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422


@pytest.mark.parametrize("body", [
    pytest.param(lambda guess: {"registry": f"127.0.0.1:{guess}", "username": "u", "password": "p"}, id="registry"),
    pytest.param(lambda guess: {"registry": "ghcr.io", "username": f"u:{guess}", "password": "p"}, id="username"),
    pytest.param(lambda guess: {"registry": "ghcr.io", "dockerconfig": f'{{"auths": {{"{guess}": 1}}}}'},
                 id="dockerconfig"),
    pytest.param(lambda guess: {"registry": "ghcr.io", "dockerconfig": docker_config(f"{guess}", "u", guess)},
                 id="dockerconfig-other-registry"),
])
def test_bad_credential_input_is_refused_without_echoing_the_value_or_a_mask(
        world: World, shop_before: dict[str, Any], body: Any) -> None:
    guess = world.facts["passwords"]["blog-registry"]
    with world.unchanged():
        response = world.team_a.put("/api/v1/pipelines/shop/credentials", json=body(guess))
        assert response.status_code == 422, response.text
        assert error_of(response)["field"]
        assert guess not in response.text and guess.lower() not in response.text.lower()
        assert "***" not in response.text
        shop_spec_unchanged(world, shop_before)


# 8. Least privilege


def test_team_a_may_not_read_shipways_secrets_list_secrets_or_touch_the_victims_namespaces(world: World) -> None:
    blog_stage = world.kube.get("/api/v1/namespaces/blog-stage")
    assert blog_stage is not None
    with world.unchanged():
        for args in (("get", "secrets", "-n", SYSTEM_NAMESPACE), ("list", "secrets", "-A"),
                     ("patch", "namespaces/blog-stage"), ("update", "namespaces/team-b"),
                     ("create", "secrets", "-n", "blog-stage"), ("get", "secrets", "-n", "team-b"),
                     ("patch", "serviceaccounts/default", "-n", "blog-stage"), ("patch", "pipelines/blog"),
                     ("update", "platforms/default")):
            run = world.kubectl("team-a", "auth", "can-i", *args)
            assert run.stdout.strip() == "no", (args, run.text)
        kubectl_refused(world.kubectl("team-a", "get", "secret", "default-registry", "-n", SYSTEM_NAMESPACE,
                                      "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "get", "secret", world.facts["blog managed secret"], "-n",
                                      SYSTEM_NAMESPACE, "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "get", "secrets", "-A", "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "get", "secrets", "-n", "team-b", "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "label", "namespace", "blog-stage", "shipway.dev/pipeline=shop",
                                      "--overwrite"), None)
        kubectl_refused(world.kubectl("team-a", "annotate", "namespace", "team-b", "x=y"), None)
        kubectl_refused(world.kubectl("team-a", "patch", "namespace", "blog-stage", "--type=merge", "-p",
                                      '{"metadata":{"labels":{"app.kubernetes.io/managed-by":"nobody"}}}'), None)
        kubectl_refused(world.kubectl("team-a", "delete", "secret", "shipway-pull", "-n", "blog-stage"), None)
        kubectl_refused(world.kubectl("team-a", "patch", "serviceaccount", "default", "-n", "blog-stage",
                                      "--type=merge", "-p", '{"imagePullSecrets":[]}'), None)
        kubectl_refused(world.kubectl("team-a", "create", "secret", "generic", "planted", "-n", "blog-stage",
                                      "--from-literal=x=y"), None)
        kubectl_refused(world.kubectl("team-a", "patch", "pipeline", "blog", "--type=merge", "-p",
                                      '{"spec":{"registry":{"inherit":false}}}'), None)
        kubectl_refused(world.kubectl("team-a", "delete", "pipeline", "blog"), None)
        # impersonation needs the impersonate verb, which team-a has not
        kubectl_refused(world.kubectl("team-a", "--as=team-b", "get", "secrets", "-n", "team-b", "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "--as=admin", "--as-group=system:masters", "get", "secret",
                                      "blog-registry", "-n", "team-b", "-o", "json"), None)
        kubectl_refused(world.kubectl("team-a", "--as=system:serviceaccount:shipway-system:shipway-api", "get",
                                      "secret", "blog-registry", "-n", "team-b", "-o", "json"), None)
        for headers in ({"Impersonate-User": "team-b"},
                        {"Impersonate-User": "admin", "Impersonate-Group": "system:masters"}):
            api_refused(world.team_a.get("/api/v1/pipelines/blog", headers=headers), None)
            api_refused(world.team_a.get("/api/v1/pipelines/blog/effective", headers=headers), None)
        kubectl_refused(world.kubectl("team-a", "patch", "platform", "default", "--type=merge", "-p",
                                      '{"spec":{"adoptedNamespaces":[{"namespace":"team-b","pipeline":"shop"}]}}'),
                        None)
    assert world.kube.get("/api/v1/namespaces/blog-stage") == blog_stage


def _as_api_service_account(world: World, method: str, path: str, **kwargs: Any) -> httpx.Response:
    token = world.sandbox.tokens["system:serviceaccount:shipway-system:shipway-api"]
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    response = world.kube.client.request(method, path, headers=headers, **kwargs)
    # Only the status is kept: an answer that was allowed would hold Secret data, which is the finding itself.
    world.sandbox.record_text(f"as the API's ServiceAccount: {method} {path}", str(response.status_code))
    return response


def test_the_apis_service_account_may_not_write_secrets_outside_the_system_namespace_nor_list_them(
        world: World) -> None:
    planted = secret_manifest("team-b", "planted-by-api", registry="ghcr.io", username="u", password="not-a-secret")
    with world.unchanged():
        answers = {
            "create in team-b": _as_api_service_account(world, "POST", "/api/v1/namespaces/team-b/secrets",
                                                        json=planted),
            "patch in team-b": _as_api_service_account(
                world, "PATCH", "/api/v1/namespaces/team-b/secrets/blog-registry",
                content='{"metadata":{"labels":{"x":"y"}}}', headers={"Content-Type": "application/merge-patch+json"}),
            "delete in team-b": _as_api_service_account(world, "DELETE",
                                                        "/api/v1/namespaces/team-b/secrets/blog-registry"),
            "create in blog-stage": _as_api_service_account(world, "POST", "/api/v1/namespaces/blog-stage/secrets",
                                                            json={**planted, "metadata": {
                                                                **planted["metadata"], "namespace": "blog-stage"}}),
            "list in team-b": _as_api_service_account(world, "GET", "/api/v1/namespaces/team-b/secrets"),
            "list everywhere": _as_api_service_account(world, "GET", "/api/v1/secrets"),
        }
        for what, response in answers.items():
            assert response.status_code == 403, (what, response.status_code)
    assert world.kube.secret("team-b", "planted-by-api") is None
    assert world.kube.secret("blog-stage", "planted-by-api") is None


def test_the_apis_service_account_lists_secrets_only_in_the_system_namespace_it_keeps(world: World) -> None:
    """The threat model: the API's ServiceAccount keeps the credentials set by value in the system namespace,
    and lists Secrets there (to repair what a crash between two writes left), nowhere else."""
    for namespace in ("team-b", "blog-stage", "default", "kube-system"):
        response = _as_api_service_account(world, "GET", f"/api/v1/namespaces/{namespace}/secrets")
        assert response.status_code == 403, (namespace, response.status_code)
    assert _as_api_service_account(world, "GET", "/api/v1/secrets").status_code == 403
    assert _as_api_service_account(world, "GET", f"/api/v1/namespaces/{SYSTEM_NAMESPACE}/secrets").status_code == 200


# Impersonating a managed Secret


def test_a_team_secret_labelled_as_blogs_managed_secret_is_nobodys_and_changes_nothing(
        world: World, shop_before: dict[str, Any]) -> None:
    impostor = secret_manifest("team-a", "a-impostor", registry=BLOG_VALUE_REGISTRY, username="impostor",
                               password=world.sandbox.canary("impostor"))
    impostor["metadata"]["labels"].update({"app.kubernetes.io/managed-by": "shipway-api",
                                           "shipway.dev/pipeline": "blog"})
    impostor["metadata"]["annotations"].update({"shipway.dev/registry": BLOG_VALUE_REGISTRY,
                                                "shipway.dev/layer": "pipeline"})
    blog_view = world.team_b.get("/api/v1/pipelines/blog/effective").json()
    with world.unchanged():
        assert world.apply("team-a", impostor).returncode == 0
        api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references", json={
            "secretRef": {"namespace": "team-a", "name": "a-impostor"}}), "SourceNotUsable")
        kubectl_refused(world.apply("team-a", shop_manifest(credentials=[
            *SHOP_CREDENTIALS, reference("team-a", "a-impostor")])), "SourceNotUsable")
        # blog could not use it either: it is no managed Secret (not in the system namespace), and no consent
        api_refused(world.team_b.post("/api/v1/pipelines/blog/credentials/references", json={
            "secretRef": {"namespace": "team-a", "name": "a-impostor"}}), "SourceNotUsable")
        shop_spec_unchanged(world, shop_before)
    assert world.team_b.get("/api/v1/pipelines/blog/effective").json() == blog_view
    assert world.kubectl("team-a", "delete", "secret", "a-impostor", "-n", "team-a").returncode == 0


def test_a_team_secret_labelled_as_the_operators_output_for_blog_changes_nothing_of_blogs(world: World) -> None:
    fake = secret_manifest("team-a", "shipway-pull", registry=BLOG_VALUE_REGISTRY, username="impostor",
                           password=world.sandbox.canary("fakeoutput"))
    fake["metadata"]["labels"].update({"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "blog"})
    blog_view = world.team_b.get("/api/v1/pipelines/blog/effective").json()
    blog_status = world.pipeline("blog")["status"]
    with world.unchanged():
        assert world.apply("team-a", fake).returncode == 0
    assert world.team_b.get("/api/v1/pipelines/blog/effective").json() == blog_view
    assert world.pipeline("blog")["status"] == blog_status
    world.kubectl("team-a", "delete", "secret", "shipway-pull", "-n", "team-a", "--ignore-not-found")


# 11. The Platform's registry policy binds kubectl too


def test_a_registry_outside_the_platforms_allowed_registries_is_refused_through_kubectl_and_the_api(
        world: World, shop_before: dict[str, Any]) -> None:
    original = world.kube.platform()["spec"]
    allowed = ["ghcr.io", BLOG_VALUE_REGISTRY, world.sandbox.registry]  # everything in use but quay.io
    world.kube.merge_patch("/apis/shipway.dev/v1alpha1/platforms/default",
                           {"spec": {"registry": {"allowedRegistries": allowed}}})
    try:
        world.wait_ready("shop")
        with world.unchanged():
            kubectl_refused(world.apply("team-a", shop_manifest(credentials=[
                *SHOP_CREDENTIALS, reference("team-a", "a-quay")])), "RegistryNotAllowed")
            api_refused(world.team_a.post("/api/v1/pipelines/shop/phases/stage/credentials/references", json={
                "secretRef": {"namespace": "team-a", "name": "a-quay"}}), "RegistryNotAllowed")
            api_refused(world.team_a.put("/api/v1/pipelines/shop/credentials", json={
                "registry": "quay.io/team-a", "username": "u", "password": world.sandbox.canary("quay")}),
                "RegistryNotAllowed")
            push = {"registry": "quay.io", "repositoryPrefix": "team-a/shop"}
            kubectl_refused(world.kubectl("team-a", "patch", "pipeline", "shop", "--type=merge", "-p",
                                          json.dumps({"spec": {"registry": {"push": push}}})), "RegistryNotAllowed")
            api_refused(world.team_a.put("/api/v1/pipelines/shop", json={"phases": SHOP_PHASES, "push": push}),
                        "RegistryNotAllowed")
            shop_spec_unchanged(world, shop_before)
    finally:
        world.kube.merge_patch("/apis/shipway.dev/v1alpha1/platforms/default",
                               {"spec": {"registry": {"allowedRegistries": None}}})
    assert world.kube.platform()["spec"] == original
    world.wait_ready("shop")


# The status subresource is no way around admission


def test_the_status_subresource_changes_no_spec_and_team_a_may_not_write_it(
        world: World, shop_before: dict[str, Any]) -> None:
    foreign = {"spec": {"phases": [{"name": "stage", "namespace": "team-b"}, {"name": "production"}]}}
    with world.unchanged():
        kubectl_refused(world.kubectl("team-a", "patch", "pipeline", "shop", "--subresource=status", "--type=merge",
                                      "-p", json.dumps(foreign)), None)
        # The webhook lets status writes pass (they are the operator's): a status write must not carry a spec.
        response = world.kube.client.patch("/apis/shipway.dev/v1alpha1/pipelines/shop/status",
                                           content=json.dumps(foreign),
                                           headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200, response.text
        shop_spec_unchanged(world, shop_before)
        blog = world.kube.client.patch("/apis/shipway.dev/v1alpha1/pipelines/blog/status", content=json.dumps(
            {"spec": {"phases": [{"name": "stage", "namespace": "shop-stage"}]}}),
            headers={"Content-Type": "application/merge-patch+json"})
        assert blog.status_code == 200, blog.text
    shop_spec_unchanged(world, shop_before)


# A namespace under one of shop's own names that Shipway did not make (an admin's): not shop's to claim


@pytest.fixture(scope="module")
def admins_namespace(world: World) -> str:
    """``shop-test``: one of shop's own names, but made by the cluster admin for something else, with a
    credential Secret of its own."""
    world.kube.ensure_namespace("shop-test")
    password = world.sandbox.canary("shopdb")
    world.victim_canaries.add(password)
    world.kube.create_secret(secret_manifest("shop-test", "db-registry", registry="db.example.com", username="db",
                                             password=password))
    world.kube.wait_for("the default ServiceAccount of shop-test",
                        lambda: world.kube.get("/api/v1/namespaces/shop-test/serviceaccounts/default"))
    world.extra_victims.append("shop-test")
    return "shop-test"


def test_a_namespace_under_one_of_shops_own_names_that_shipway_did_not_make_is_refused_on_every_path(
        world: World, shop_before: dict[str, Any], admins_namespace: str) -> None:
    phases = [*SHOP_PHASES, {"name": "test", "namespace": admins_namespace}]
    with world.unchanged():
        kubectl_refused(world.apply("team-a", shop_manifest(phases)), "NamespaceNotAdopted")
        kubectl_refused(world.apply("team-a", shop_manifest(
            [*SHOP_PHASES, {"name": "test", "namespace": admins_namespace, "enabled": False}])), "NamespaceNotAdopted")
        api_refused(world.team_a.put("/api/v1/pipelines/shop", json={"phases": phases}), "NamespaceNotAdopted")
        api_refused(world.team_a.post("/api/v1/pipelines/shop/credentials/references", json={
            "secretRef": {"namespace": admins_namespace, "name": "db-registry"}}), "SourceNotUsable")
        shop_spec_unchanged(world, shop_before)


def test_the_operator_writes_nothing_into_a_namespace_shipway_did_not_make_when_a_spec_claims_it(
        world: World, shop_before: dict[str, Any], admins_namespace: str) -> None:
    hijack = {**shop_before, "phases": [*shop_before["phases"],
                                        {"name": "test", "namespace": admins_namespace, "enabled": True}],
              "registry": {**shop_before["registry"], "credentials": [
                  *shop_before["registry"]["credentials"], reference(admins_namespace, "db-registry", "pull", "push")]}}
    with world.unchanged():
        ready = _hijack(world, hijack)
        assert ready["reason"] == "NamespaceNotAdopted", ready
        _nothing_written_for_shop_into(world, admins_namespace)
        _nothing_of_team_b_reached_shop(world)


# 2. The operator, the second belt: a spec no admission checked


def _hijack(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """The admin writes ``spec`` into shop with the webhook removed; the operator's Ready once it observed it."""
    with world.webhook_removed():
        world.replace_spec("shop", spec)
    ready = world.wait_ready("shop", "False")
    world.settle()
    world.sandbox.record_text("shop's status after the hijack", json.dumps(world.pipeline("shop").get("status")))
    return ready


def _nothing_of_team_b_reached_shop(world: World, *, delivered: bool = True) -> None:
    """No canary of team-b's is in any Secret of shop's namespaces (``delivered``: and shop's own were)."""
    texts = [t for ns in world.shop_namespaces() for t in world.secrets_texts(ns)]
    assert texts or not delivered
    assert find_canaries(world.victim_canaries, texts) == []


def _nothing_written_for_shop_into(world: World, *namespaces: str) -> None:
    status = world.pipeline("shop")["status"]
    assert not [p for p in status.get("phases") or [] if p.get("namespace") in namespaces and p.get("pullSecret")]
    for namespace in namespaces:
        for kind in ("secrets", "serviceaccounts"):
            found = world.kube.items(f"/api/v1/namespaces/{namespace}/{kind}")
            assert not [o["metadata"]["name"] for o in found
                        if (o["metadata"].get("labels") or {}).get("shipway.dev/pipeline") == "shop"]


def test_the_operator_writes_nothing_into_foreign_namespaces_that_added_phases_claim_without_admission(
        world: World, shop_before: dict[str, Any]) -> None:
    hijack = {**shop_before, "phases": [
        *shop_before["phases"], {"name": "review", "namespace": "blog-stage", "enabled": True},
        {"name": "test", "namespace": "team-b", "enabled": True}],
        "registry": {**shop_before["registry"], "credentials": [
            *shop_before["registry"]["credentials"], reference("team-b", "b-private", "pull", "push")]}}
    with world.unchanged():
        ready = _hijack(world, hijack)
        assert ready["reason"] in NAMESPACE_RULES, ready
        _nothing_written_for_shop_into(world, "blog-stage", "team-b")
        _nothing_of_team_b_reached_shop(world)


@pytest.fixture(scope="class")
def injected(world: World) -> Iterator[dict[str, Any]]:
    """shop with the victims' Secrets written into its pipeline layer by the admin, the webhook removed; put
    back afterwards, and the victims' state checked."""
    original = world.spec("shop")
    world.settle(quiet=0.3)
    before = world.snapshot()
    refs = [reference(SYSTEM_NAMESPACE, world.facts["blog managed secret"], "pull", "push"),
            reference("team-b", "blog-registry"), reference("team-b", "b-private")]
    spec = {**original, "registry": {**original["registry"],
                                     "credentials": [*original["registry"]["credentials"], *refs]}}
    ready = _hijack(world, spec)
    yield {"before": before, "refs": refs, "ready": ready, "original": original}
    if world.spec("shop") != original:
        world.replace_spec("shop", original)
    world.wait_ready("shop")
    world.assert_unchanged(before)


class TestASpecThatNamesTheVictimsSecretsWithoutAdmission:
    """The admin writes into shop's pipeline layer, with the webhook removed, references to blog's managed
    Secret and to team-b's Secrets; the operator, the effective view, explain, verify and the credential
    removal must treat them as what they are: not shop's."""

    def test_the_operator_delivers_none_of_them_and_says_source_not_usable(
            self, world: World, injected: dict[str, Any]) -> None:
        assert injected["ready"]["reason"] == "SourceNotUsable", injected["ready"]
        _nothing_of_team_b_reached_shop(world)
        world.assert_unchanged(injected["before"])

    def test_the_effective_view_shows_no_entry_and_no_fingerprint_of_them(
            self, world: World, injected: dict[str, Any]) -> None:
        assert [c for c in world.spec("shop")["registry"]["credentials"] if c in injected["refs"]] == injected["refs"]
        response = world.team_a.get("/api/v1/pipelines/shop/effective")
        assert response.status_code == 200, response.text
        view = response.json()
        entries = [e for p in view["phases"] for e in [*p["pull"], *([p["push"]] if p.get("push") else [])]]
        assert entries
        injected_refs = [r["secretRef"] for r in injected["refs"]]
        assert [e for e in entries if e["secretRef"] in injected_refs] == []
        registries = {e["registry"] for e in entries}
        assert BLOG_SECRET_REGISTRY not in registries and BLOG_VALUE_REGISTRY not in registries
        status = json.dumps(world.pipeline("shop").get("status"))
        for fingerprint in world.facts["blog fingerprints"]:
            assert fingerprint not in response.text
            assert fingerprint not in status

    @pytest.mark.parametrize("image", [f"{BLOG_SECRET_REGISTRY}/app:1", f"{BLOG_VALUE_REGISTRY}/blog/app:1"])
    def test_explain_tries_nothing_from_them(self, world: World, injected: dict[str, Any], image: str) -> None:
        for phase in ("stage", "production"):
            response = world.team_a.get(f"/api/v1/pipelines/shop/phases/{phase}/explain", params={"image": image})
            assert response.status_code == 200, response.text
            tries = response.json()["tries"]
            injected_refs = [r["secretRef"] for r in injected["refs"]]
            assert [t for t in tries if t["secretRef"] in injected_refs] == []
            assert [t for t in tries if t["registry"] in (BLOG_SECRET_REGISTRY, BLOG_VALUE_REGISTRY)] == []
            for fingerprint in world.facts["blog fingerprints"]:
                assert fingerprint not in response.text

    def test_verify_of_a_registry_only_they_name_is_refused_and_contacts_nothing(
            self, world: World, injected: dict[str, Any]) -> None:
        trap: CountingListener = world.facts["trap"]
        for registry in (BLOG_VALUE_REGISTRY, BLOG_SECRET_REGISTRY, world.facts["b-private registry"]):
            response = world.team_a.post("/api/v1/pipelines/shop/verify", json={"registry": registry,
                                                                                "phase": "stage"})
            assert response.status_code == 422, response.text
            assert error_of(response)["field"] == "registry"
        assert trap.connections == 0

    # 4. Removing a reference to another owner's managed Secret drops the reference only

    def test_removing_them_from_shop_drops_only_the_references_and_blogs_managed_secret_stays(
            self, world: World, injected: dict[str, Any]) -> None:
        managed = world.facts["blog managed secret"]
        before = injected["before"]
        response = world.team_a.delete("/api/v1/pipelines/shop/credentials", params={
            "secretNamespace": SYSTEM_NAMESPACE, "secretName": managed})
        assert response.status_code == 200, response.text
        secret = world.kube.secret(SYSTEM_NAMESPACE, managed)
        assert secret is not None, "shop's removal deleted blog's managed Secret"
        assert secret["metadata"]["resourceVersion"] == before[f"secrets {SYSTEM_NAMESPACE}"][managed][0]
        assert managed not in [c["secretRef"]["name"] for c in world.spec("shop")["registry"]["credentials"]]
        for name in ("blog-registry", "b-private"):
            dropped = world.team_a.delete("/api/v1/pipelines/shop/credentials", params={
                "secretNamespace": "team-b", "secretName": name})
            assert dropped.status_code == 200, dropped.text
            assert world.kube.secret("team-b", name) is not None
        by_key = world.team_a.delete("/api/v1/pipelines/shop/credentials", params={"registry": BLOG_VALUE_REGISTRY})
        assert by_key.status_code == 404, by_key.text
        assert world.spec("shop") == injected["original"]
        world.wait_ready("shop")
        world.assert_unchanged(before)


# 7. Verify contacts only shop's own registries and says nothing about the other end


def test_verify_of_a_registry_shop_has_no_entry_for_is_refused_and_contacts_nothing(world: World) -> None:
    with world.unchanged(), CountingListener() as listener:
        for body in ({"registry": f"127.0.0.1:{listener.port}"},
                     {"registry": f"127.0.0.1:{listener.port}", "phase": "production", "repository": "team-a/shop"},
                     {"registry": f"127.0.0.1:{listener.port}", "checkPush": True}):
            response = world.team_a.post("/api/v1/pipelines/shop/verify", json=body)
            assert response.status_code == 422, response.text
            assert error_of(response)["field"] == "registry"
    assert listener.connections == 0


def _chatty_registry(request: SeenRequest, server: ScriptedServer) -> Answer:
    return Answer(401, [("WWW-Authenticate", 'Basic realm="tls handshake refused x509 certificate"'),
                        ("Content-Type", "text/plain")], b"connection refused: tls handshake failure x509")


def _outcomes(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            assert key.lower() not in ("detail", "details", "reason", "error", "message"), value
            if key == "outcome":
                yield item
            else:
                yield from _outcomes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _outcomes(item)


def test_a_verify_answer_says_only_verified_unauthorized_or_unreachable(
        world: World, shop_before: dict[str, Any]) -> None:
    with ScriptedServer(_chatty_registry) as chatty:
        registries = [chatty.netloc, "127.0.0.1:9"]
        auths = {r: json.loads(docker_config(r, "verifier", world.sandbox.canary("verify")))["auths"][r]
                 for r in registries}
        manifest = secret_manifest("team-a", "a-verify", registry="x", username="u", password="p", consent="shop")
        manifest["data"] = {".dockerconfigjson": base64.b64encode(
            json.dumps({"auths": auths}).encode()).decode()}
        assert world.apply("team-a", manifest).returncode == 0
        run = world.apply("team-a", shop_manifest(credentials=[*SHOP_CREDENTIALS, reference("team-a", "a-verify")]))
        assert run.returncode == 0, run.text
        world.wait_ready("shop")
        for registry in registries:
            response = world.team_a.post("/api/v1/pipelines/shop/verify", json={"registry": registry})
            assert response.status_code == 200, response.text
            outcomes = set(_outcomes(response.json()))
            assert outcomes and outcomes <= {"Verified", "Unauthorized", "Unreachable"}, response.text
            lowered = response.text.lower()
            for word in ("tls", "refused", "x509", "certificate", "handshake", "connection", "timeout", "realm"):
                assert word not in lowered, (word, response.text)
        assert chatty.requests, "the chatty registry was never asked: its chatter was not put to the test"
    back = world.apply("team-a", shop_manifest())
    assert back.returncode == 0, back.text
    assert world.spec("shop") == shop_before
    assert world.kubectl("team-a", "delete", "secret", "a-verify", "-n", "team-a").returncode == 0
    world.wait_ready("shop")


def test_too_many_verifies_of_one_pipeline_get_429_and_another_pipeline_is_not_held_up(world: World) -> None:
    codes = []
    for _ in range(40):
        response = world.team_a.post("/api/v1/pipelines/shop/verify", json={"registry": "nowhere.example"})
        codes.append(response.status_code)
        if response.status_code == 429:
            assert error_of(response)["type"] == "TooManyRequests"
            break
    assert codes[-1] == 429, codes
    assert set(codes[:-1]) <= {422}, codes
    assert len(codes) <= 12, codes  # a burst of 10 (some taken by the tests above), then 30 a minute
    other = world.team_b.post("/api/v1/pipelines/blog/verify", json={"registry": "nowhere.example"})
    assert other.status_code == 422, other.text


# 12. Fairness: one tenant's burst costs only that tenant


def test_a_burst_of_one_tenant_gets_429s_while_another_tenant_is_answered(world: World) -> None:
    start = threading.Barrier(21)

    def blog() -> int:
        start.wait()
        return world.team_b.get("/api/v1/pipelines/blog/effective").status_code

    def shop() -> int:
        start.wait()
        return world.team_a.get("/api/v1/pipelines/shop/effective").status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=21) as pool:
        burst = [pool.submit(blog) for _ in range(20)]
        other = pool.submit(shop)
        codes = [f.result() for f in burst]
        assert other.result() == 200
    assert set(codes) <= {200, 429}, codes
    assert codes.count(429) > 0, codes
    assert codes.count(200) >= 4, codes


# The create path: shop deleted and created again


def test_shop_cannot_be_created_again_with_a_foreign_namespace_through_kubectl_or_the_api(world: World) -> None:
    original = world.spec("shop")
    with world.unchanged():
        deleted = world.kubectl("team-a", "delete", "pipeline", "shop", "--wait=false")
        assert deleted.returncode == 0, deleted.text
        world.kube.wait_for("shop gone", lambda: world.kube.pipeline("shop") is None)
        for namespace, rule in FOREIGN_NAMESPACES:
            phases = [{"name": "stage", "namespace": namespace}, {"name": "production"}]
            kubectl_refused(world.create("team-a", shop_manifest(phases)), rule)
            kubectl_refused(world.create("team-a", shop_manifest(phases), "--dry-run=server"), rule)
            kubectl_refused(world.apply("team-a", shop_manifest(phases)), rule)
            api_refused(world.team_a.post("/api/v1/pipelines", json={"name": "shop", "phases": phases}), rule)
            assert world.kube.pipeline("shop") is None
        created = world.apply("team-a", shop_manifest())
        assert created.returncode == 0, created.text
        world.observed("shop", timeout=30)
    assert world.spec("shop") == original


# 2, last: shop's own phases moved onto foreign namespaces (the operator releases shop's namespaces)


def test_the_operator_writes_nothing_into_foreign_namespaces_that_shops_phases_move_to_without_admission(
        world: World) -> None:
    """Last but one: moving shop's phases releases shop's own namespaces (reclaim policy Retain), so shop is put
    back only as far as its spec (the operator's reclaim is not what this suite is about)."""
    original = world.spec("shop")
    hijack = {**original, "phases": [{"name": "stage", "namespace": "blog-stage", "enabled": True},
                                     {"name": "production", "namespace": "team-b", "enabled": True}],
              "registry": {**original["registry"], "credentials": [
                  *original["registry"]["credentials"], reference("team-b", "b-private", "pull", "push")]}}
    try:
        with world.unchanged():
            try:
                ready = _hijack(world, hijack)
            finally:
                _nothing_written_for_shop_into(world, "blog-stage", "team-b")
                _nothing_of_team_b_reached_shop(world, delivered=False)
            assert ready["reason"] in NAMESPACE_RULES, ready
    finally:
        world.replace_spec("shop", original)
        world.observed("shop")


# What the attacker could read


def test_nothing_the_attacker_can_read_holds_a_canary(world: World) -> None:
    pipelines = world.kubectl("team-a", "get", "pipeline", "shop", "-o", "json")
    assert pipelines.returncode == 0, pipelines.text
    for args in (("get", "events", "-A", "-o", "json"), ("get", "events", "-n", "team-a", "-o", "json"),
                 ("get", "events", "-n", "shop-stage", "-o", "json")):
        world.kubectl("team-a", *args)  # recorded whether listed or refused
    for path in ("/api/v1/pipelines", "/api/v1/pipelines/shop", "/api/v1/pipelines/shop/effective",
                 "/api/v1/platform"):
        world.team_a.get(path)
    own = world.kubectl("team-a", "get", "secrets", "-n", "team-a", "-o", "json", record=False)
    assert own.returncode == 0, own.text
    world.attacker_secret_texts.append(("team-a's own Secrets, as team-a", own.text))

    assert world.sandbox.canary_hits() == []
    texts = [*world.attacker_secret_texts, *world.secrets_texts("team-a")]
    for namespace in world.shop_namespaces():
        texts += world.secrets_texts(namespace)
    assert find_canaries(world.victim_canaries, texts) == []
    assert world.facts["trap"].connections == 0
