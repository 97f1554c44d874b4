"""Validating admission webhooks: what a real HTTPS webhook is sent, and how its answers and failures end
the request, as kube-apiserver's validating webhook dispatcher does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, free_port, resources

from .helpers import WIDGETS
from .webhook_server import WebhookServer, configuration, hook

pytestmark = pytest.mark.integration
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "labels": {"app": "a"}},
          "spec": {"size": 1}}


async def register(http: httpx.AsyncClient, *hooks: dict[str, Any], name: str = "checks") -> dict[str, Any]:
    response = await http.post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                               json=configuration(name, *hooks))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def revision(emulator: ClusterEmulator) -> int:
    return emulator.cluster.store.changes.revision


async def test_an_allowed_create_is_stored_after_the_webhook_saw_it(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle))
    created = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert created.status_code == 201, created.text
    [review] = webhook.reviews
    assert review["apiVersion"] == "admission.k8s.io/v1" and review["kind"] == "AdmissionReview"
    request = review["request"]
    assert request["kind"] == request["requestKind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert request["resource"] == request["requestResource"] == {
        "group": "example.com", "version": "v1", "resource": "widgets"}
    assert "subResource" not in request
    assert (request["name"], request["namespace"], request["operation"]) == ("w1", "default", "CREATE")
    assert request["oldObject"] is None and request["dryRun"] is False
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
    assert request["userInfo"] == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    sent = request["object"]
    assert sent["spec"] == {"size": 1} and sent["metadata"]["uid"] == created.json()["metadata"]["uid"]
    assert "resourceVersion" not in sent["metadata"]  # set by storage, after admission
    assert webhook.paths[0] == "/validate?timeout=10s"
    assert (await http.get(f"{WIDGETS.format(ns='default')}/w1")).status_code == 200


async def test_a_denial_is_answered_as_kube_apiserver_words_it_and_nothing_is_stored(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer, emulator: ClusterEmulator) -> None:
    await register(http, hook("deny.example.com", webhook.url(), webhook.ca_bundle))
    webhook.responders["/validate"] = lambda _r: {"allowed": False, "status": {"message": "size must be even"}}
    before = revision(emulator)
    denied = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert denied.status_code == 400
    assert denied.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": 'admission webhook "deny.example.com" denied the request: size must be even',
                             "code": 400}
    assert revision(emulator) == before
    assert (await http.get(f"{WIDGETS.format(ns='default')}/w1")).status_code == 404


async def test_a_denial_keeps_the_webhooks_code_and_reason_and_may_have_no_explanation(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http, hook("deny.example.com", webhook.url(), webhook.ca_bundle))
    webhook.responders["/validate"] = lambda _r: {"allowed": False, "status": {
        "code": 403, "reason": "Forbidden", "message": "not yours"}}
    denied = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert (denied.status_code, denied.json()["reason"]) == (403, "Forbidden")
    assert denied.json()["message"] == 'admission webhook "deny.example.com" denied the request: not yours'
    webhook.responders["/validate"] = lambda _r: {"allowed": False, "status": {"code": 200}}  # < 400: 400
    bare = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert bare.status_code == 400 and "reason" not in bare.json()
    assert bare.json()["message"] == 'admission webhook "deny.example.com" denied the request without explanation'


async def test_warnings_come_back_as_warning_headers_on_success_and_on_denial(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http, hook("warn.example.com", webhook.url(), webhook.ca_bundle))
    webhook.responders["/validate"] = lambda _r: {"allowed": True, "warnings": ['size is "big"', "deprecated"]}
    created = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert created.status_code == 201
    assert created.headers.get_list("Warning") == ['299 - "size is \\"big\\""', '299 - "deprecated"']
    webhook.responders["/validate"] = lambda _r: {"allowed": False, "warnings": ["look here"]}
    denied = await http.put(f"{WIDGETS.format(ns='default')}/w1", json=created.json())
    assert denied.status_code == 400 and denied.headers.get_list("Warning") == ['299 - "look here"']


async def test_updates_and_patches_send_the_old_object_and_the_result(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    path = f"{WIDGETS.format(ns='default')}/w1"
    created = (await http.post(WIDGETS.format(ns="default"), json=WIDGET)).json()
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle))
    replaced = await http.put(path, json={**created, "spec": {"size": 2}})
    assert replaced.status_code == 200
    patched = await http.patch(path, json={"spec": {"size": 3}}, params={"fieldManager": "tests"},
                               headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    put, patch = webhook.requests()
    assert put["operation"] == patch["operation"] == "UPDATE"
    assert put["oldObject"]["spec"] == {"size": 1} and put["object"]["spec"] == {"size": 2}
    assert put["object"]["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert patch["oldObject"]["spec"] == {"size": 2} and patch["object"]["spec"] == {"size": 3}
    assert patch["options"] == {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "tests"}


async def test_a_delete_sends_the_stored_object_as_old_object_and_no_object(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    path = f"{WIDGETS.format(ns='default')}/w1"
    await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle))
    webhook.responders["/validate"] = lambda _r: {"allowed": False, "status": {"message": "keep it"}}
    refused = await http.request("DELETE", path, json={"propagationPolicy": "Foreground"})
    assert refused.status_code == 400 and (await http.get(path)).status_code == 200
    [request] = webhook.requests()
    assert (request["operation"], request["object"], request["oldObject"]["spec"]) == ("DELETE", None, {"size": 1})
    assert request["options"] == {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1",
                                  "propagationPolicy": "Foreground"}
    webhook.responders.clear()
    assert (await http.delete(path)).status_code == 200
    assert (await http.get(path)).status_code == 404


async def test_a_dry_run_is_sent_as_such_and_stores_nothing(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer, emulator: ClusterEmulator) -> None:
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle, sideEffects="NoneOnDryRun"))
    before = revision(emulator)
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET, params={"dryRun": "All"})
    assert answered.status_code == 201 and answered.json()["spec"] == {"size": 1}
    [request] = webhook.requests()
    assert request["dryRun"] is True
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "dryRun": ["All"]}
    assert revision(emulator) == before
    assert (await http.get(f"{WIDGETS.format(ns='default')}/w1")).status_code == 404


async def test_a_webhook_with_side_effects_refuses_dry_runs(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer, emulator: ClusterEmulator) -> None:
    legacy = configuration("legacy", hook("effects.example.com", webhook.url(), webhook.ca_bundle, sideEffects="Some"))
    refused = await http.post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", json=legacy)
    assert refused.status_code == 422  # the v1 API takes None and NoneOnDryRun only
    # a configuration stored before v1 (v1beta1 allowed "Some"), as an upgraded cluster may still have
    emulator.cluster.store.write(resources.VALIDATING_WEBHOOK_CONFIGURATIONS, {
        **configuration("legacy", hook("effects.example.com", webhook.url(), webhook.ca_bundle, sideEffects="Some",
                                       failurePolicy="Ignore")),
        "metadata": {"name": "legacy", "uid": "legacy-uid", "resourceVersion": "1"}}, old=None)
    dry = await http.post(WIDGETS.format(ns="default"), json=WIDGET, params={"dryRun": "All"})
    assert dry.status_code == 400 and dry.json()["reason"] == "BadRequest"
    assert dry.json()["message"] == 'admission webhook "effects.example.com" does not support dry run'
    assert webhook.reviews == []  # even with failurePolicy Ignore: not a call failure
    assert (await http.post(WIDGETS.format(ns="default"), json=WIDGET)).status_code == 201
    assert len(webhook.reviews) == 1


@pytest.mark.parametrize(("policy", "expected"), [("Fail", 500), ("Ignore", 201)])
async def test_an_unreachable_webhook_fails_closed_or_open_by_its_failure_policy(
        http: httpx.AsyncClient, widgets: str, policy: str, expected: int) -> None:
    url = f"https://127.0.0.1:{free_port()}/validate"
    await register(http, hook("gone.example.com", url, "", failurePolicy=policy))
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert answered.status_code == expected, answered.text
    if policy == "Fail":
        cause = (f'failed calling webhook "gone.example.com": failed to call webhook: Post "{url}?timeout=10s":'
                 f" dial tcp 127.0.0.1:{url.split(':')[2].split('/')[0]}: connect: connection refused")
        assert answered.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": f"Internal error occurred: {cause}", "reason": "InternalError",
                                   "details": {"causes": [{"message": cause}]}, "code": 500}


async def test_a_certificate_not_signed_by_the_ca_bundle_is_a_call_failure(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer, tmp_path: Any) -> None:
    other = WebhookServer(tmp_path / "other-ca")  # only its CA is used
    await register(http, hook("tls.example.com", webhook.url(), other.ca_bundle))
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert answered.status_code == 500
    assert answered.json()["message"].startswith('Internal error occurred: failed calling webhook "tls.example.com":')
    assert "tls: failed to verify certificate: x509: certificate signed by unknown authority" in answered.json()[
        "message"]
    assert webhook.reviews == []  # the TLS handshake failed before any review was sent


async def test_a_webhook_slower_than_its_timeout_is_a_call_failure(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    async def slow(_request: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(3)
        return {"allowed": True}

    webhook.responders["/slow"] = slow
    await register(http, hook("slow.example.com", webhook.url("/slow"), webhook.ca_bundle, timeoutSeconds=1))
    started = time.monotonic()
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert time.monotonic() - started < 2.5
    assert answered.status_code == 500
    assert answered.json()["message"] == (
        f'Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post'
        f' "{webhook.url("/slow")}?timeout=1s": context deadline exceeded')


async def test_an_answer_for_another_uid_is_a_call_failure(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    webhook.responders["/validate"] = lambda _r: {"uid": "not-the-one", "allowed": True}
    await register(http, hook("uid.example.com", webhook.url(), webhook.ca_bundle))
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert answered.status_code == 500
    uid = webhook.requests()[0]["uid"]
    assert answered.json()["message"] == (
        'Internal error occurred: failed calling webhook "uid.example.com": received invalid webhook response:'
        f' expected response.uid="{uid}", got "not-the-one"')


async def test_a_service_reference_cannot_be_reached(http: httpx.AsyncClient, widgets: str) -> None:
    await register(http, {**hook("svc.example.com", "https://unused", ""),
                          "clientConfig": {"service": {"name": "checker", "namespace": "default", "path": "/v"}}})
    answered = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert answered.status_code == 500
    assert answered.json()["message"].endswith(
        'failed to call webhook: Post "https://checker.default.svc:443/v?timeout=10s": service "checker" not found')


async def test_every_matching_webhook_is_called_and_the_first_refusal_in_order_is_answered(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    webhook.responders["/a"] = lambda _r: {"allowed": False, "status": {"message": "a says no"}}
    webhook.responders["/b"] = lambda _r: {"allowed": False, "status": {"message": "b says no"}}
    await register(http, hook("a.example.com", webhook.url("/a"), webhook.ca_bundle), name="z-last")
    await register(http, hook("ok.example.com", webhook.url("/ok"), webhook.ca_bundle),
                   hook("b.example.com", webhook.url("/b"), webhook.ca_bundle), name="a-first")
    denied = await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    assert denied.json()["message"] == 'admission webhook "b.example.com" denied the request: b says no'
    assert sorted(p.split("?")[0] for p in webhook.paths) == ["/a", "/b", "/ok"]
    assert len({r["uid"] for r in webhook.requests()}) == 3  # one uid per call


async def test_a_write_racing_with_the_webhook_is_admitted_again_before_it_is_stored(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer, emulator: ClusterEmulator) -> None:
    path = f"{WIDGETS.format(ns='default')}/w1"
    await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    spec = emulator.catalogue.get("example.com", "v1", "widgets")
    assert spec is not None

    def racing(request: dict[str, Any]) -> dict[str, Any]:
        if len(webhook.reviews) == 1:  # a controller writes while the first review is being answered
            stored = emulator.cluster.get(spec, "default", "w1")
            emulator.cluster.update(spec, "default", "w1", {**stored, "spec": {**stored["spec"], "color": "red"}},
                                    subresource=None)
        return {"allowed": True}

    webhook.responders["/validate"] = racing
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle, operations=("UPDATE",)))
    patched = await http.patch(path, json={"spec": {"size": 5}},
                               headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    first, second = webhook.requests()
    assert first["object"]["spec"] == {"size": 5}  # planned on the old object: never stored
    assert second["object"]["spec"] == {"size": 5, "color": "red"}
    assert (await http.get(path)).json()["spec"] == second["object"]["spec"]

    def racing_again(request: dict[str, Any]) -> dict[str, Any]:
        stored = emulator.cluster.get(spec, "default", "w1")
        emulator.cluster.update(spec, "default", "w1", {**stored, "spec": {**stored["spec"], "size": 9}},
                                subresource=None)
        return {"allowed": True}

    webhook.responders["/validate"] = racing_again
    current = (await http.get(path)).json()
    conflict = await http.put(path, json={**current, "spec": {"size": 6}})  # carries its resourceVersion
    assert conflict.status_code == 409 and conflict.json()["reason"] == "Conflict"
    assert (await http.get(path)).json()["spec"]["size"] == 9


async def test_a_generated_name_is_not_named_in_the_review_but_is_in_the_object(
        http: httpx.AsyncClient, widgets: str, webhook: WebhookServer) -> None:
    await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle))
    created = await http.post(WIDGETS.format(ns="default"), json={**WIDGET, "metadata": {"generateName": "w-"}})
    [request] = webhook.requests()
    assert "name" not in request and request["namespace"] == "default"
    assert request["object"]["metadata"]["name"] == created.json()["metadata"]["name"]
