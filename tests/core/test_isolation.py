"""The isolation rules (core.isolation, core.inputs): namespace claims, grants, managed Secrets, registries.

Every path (REST API, admission webhook, operator, CLI) asks these functions; the sandbox-level hostile
tenant suite (tests/hostile/) shows that each path really does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shipway.core.documents import validate_model
from shipway.core.inputs import pipeline_inputs
from shipway.core.isolation import (
    NOT_USABLE_MESSAGE,
    NamespaceView,
    SecretView,
    claim_refusal,
    platform_grant,
    tenant_grant,
    usage_refusal,
)
from shipway.core.layers import SourceProblem
from shipway.core.names import Reason
from shipway.core.resources import Pipeline, PlatformSpec, SecretRef, Usage

PLATFORM = PlatformSpec.model_validate({"adoptedNamespaces": [{"namespace": "legacy-shop", "pipeline": "shop"}]})
MINE = {"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "shop"}
THEIRS = {"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "blog"}
CREDENTIAL = {"shipway.dev/credential": "true"}


def claim(namespace: str, existing: NamespaceView | None = None, platform: PlatformSpec | None = PLATFORM
          ) -> str | None:
    refusal = claim_refusal(pipeline="shop", namespace=namespace, existing=existing, platform=platform,
                            field="spec.phases[0].namespace")
    return None if refusal is None else refusal.rule


@pytest.mark.parametrize(("namespace", "existing", "rule"), [
    pytest.param("shop-stage", None, None, id="a new namespace under the pipeline's prefix may be claimed"),
    pytest.param("shop-stage", NamespaceView("shop-stage", MINE), None,
                 id="a namespace Shipway made for the same pipeline may be claimed again"),
    pytest.param("blog-stage", NamespaceView("blog-stage", THEIRS), Reason.NAMESPACE_OUTSIDE_PREFIX,
                 id="another pipeline's namespace is refused without saying whose it is"),
    pytest.param("team-b", NamespaceView("team-b", {}), Reason.NAMESPACE_OUTSIDE_PREFIX,
                 id="an existing namespace outside the prefix gets the same answer as a missing one"),
    pytest.param("shop-review", NamespaceView("shop-review", THEIRS), Reason.NAMESPACE_CLAIMED,
                 id="another pipeline's namespace is refused even under one of the claimer's own names"),
    pytest.param("shop-test", NamespaceView("shop-test", {}), Reason.NAMESPACE_NOT_ADOPTED,
                 id="an existing namespace Shipway did not make is refused"),
    pytest.param("shop-test", NamespaceView("shop-test", {"shipway.dev/pipeline": "shop"}),
                 Reason.NAMESPACE_NOT_ADOPTED, id="a pipeline label alone without managed-by proves nothing"),
    pytest.param("shop-api-review", None, Reason.NAMESPACE_OUTSIDE_PREFIX,
                 id="a pipeline whose name extends another's keeps its names (shop cannot squat shop-api-review)"),
    pytest.param("shop-custom", None, Reason.NAMESPACE_OUTSIDE_PREFIX,
                 id="a custom name is Shipway's to create only once a platform admin adopts it"),
    pytest.param("blog-new", None, Reason.NAMESPACE_OUTSIDE_PREFIX,
                 id="a new namespace outside the pipeline's prefix is refused (no squatting)"),
    pytest.param("kube-system", NamespaceView("kube-system", {}), Reason.NAMESPACE_PROTECTED,
                 id="kube-system is protected"),
    pytest.param("kube-anything", None, Reason.NAMESPACE_PROTECTED, id="every kube- namespace is protected"),
    pytest.param("default", NamespaceView("default", {}), Reason.NAMESPACE_PROTECTED, id="default is protected"),
    pytest.param("shipway-system", NamespaceView("shipway-system", {}), Reason.NAMESPACE_PROTECTED,
                 id="the system namespace is protected"),
    pytest.param("shipway-system", NamespaceView("shipway-system", MINE), Reason.NAMESPACE_PROTECTED,
                 id="the system namespace is protected even when labelled as the pipeline's"),
    pytest.param("legacy-shop", NamespaceView("legacy-shop", {}), None,
                 id="a namespace the platform admin adopted for the pipeline may be claimed"),
])
def test_namespace_claims(namespace: str, existing: NamespaceView | None, rule: str | None) -> None:
    assert claim(namespace, existing) == rule


def test_a_namespace_adopted_for_another_pipeline_is_refused() -> None:
    platform = PlatformSpec.model_validate({"adoptedNamespaces": [{"namespace": "shop-legacy", "pipeline": "blog"}]})
    assert claim("shop-legacy", NamespaceView("shop-legacy", {}), platform) == Reason.NAMESPACE_CLAIMED


def test_the_platform_refuses_to_adopt_protected_namespaces_or_one_namespace_twice() -> None:
    with pytest.raises(ValueError, match="cannot be adopted"):
        PlatformSpec.model_validate({"adoptedNamespaces": [{"namespace": "kube-system", "pipeline": "shop"}]})
    with pytest.raises(ValueError, match="listed twice"):
        PlatformSpec.model_validate({"adoptedNamespaces": [{"namespace": "a", "pipeline": "shop"},
                                                           {"namespace": "a", "pipeline": "blog"}]})


def view(namespace: str, name: str, labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None) -> SecretView:
    return SecretView(ref=SecretRef(namespace=namespace, name=name), labels=labels if labels is not None else
                      CREDENTIAL, annotations=annotations or {})


MANAGED_SHOP = {**CREDENTIAL, "app.kubernetes.io/managed-by": "shipway-api", "shipway.dev/pipeline": "shop"}
MANAGED_BLOG = {**CREDENTIAL, "app.kubernetes.io/managed-by": "shipway-api", "shipway.dev/pipeline": "blog"}
MANAGED_PLATFORM = {**CREDENTIAL, "app.kubernetes.io/managed-by": "shipway-api"}
ALL = frozenset(Usage)
PULL = frozenset({Usage.PULL})


def grant(secret: SecretView | None, ref: SecretRef | None = None) -> frozenset[Usage] | str:
    target = ref or (secret.ref if secret is not None else SecretRef(namespace="x", name="y"))
    found = tenant_grant(pipeline="shop", ref=target, secret=secret, own={"shop-stage"},
                         system_namespace="shipway-system")
    return found.reason if isinstance(found, SourceProblem) else found


@pytest.mark.parametrize(("secret", "expected"), [
    pytest.param(view("shop-stage", "s"), ALL, id="a Secret in the pipeline's own phase namespace: pull and push"),
    pytest.param(view("shop-stage", "s", annotations={"shipway.dev/allowed-usage": "pull"}), PULL,
                 id="an own Secret's usage annotation narrows what it grants"),
    pytest.param(view("team-a", "s"), Reason.SOURCE_NOT_USABLE,
                 id="a Secret elsewhere without consent is not usable"),
    pytest.param(view("team-a", "s", annotations={"shipway.dev/allowed-pipelines": "blog, shop"}), PULL,
                 id="a consenting Secret elsewhere grants pull only by default"),
    pytest.param(view("team-a", "s", annotations={"shipway.dev/allowed-pipelines": "*",
                                                  "shipway.dev/allowed-usage": "pull,push"}), ALL,
                 id="a consenting Secret may grant push too"),
    pytest.param(view("team-a", "s", annotations={"shipway.dev/allowed-pipelines": "shopping"}),
                 Reason.SOURCE_NOT_USABLE, id="consent names pipelines exactly, not by prefix"),
    pytest.param(view("shop-stage", "s", labels={}), Reason.SOURCE_NOT_USABLE,
                 id="a Secret without the credential label is not usable even in an own namespace"),
    pytest.param(view("shop-stage", "shipway-pull", labels={**CREDENTIAL, "app.kubernetes.io/managed-by": "shipway"}),
                 Reason.SOURCE_NOT_USABLE, id="the operator's own output is never a source"),
    pytest.param(view("shipway-system", "default-registry"), Reason.SOURCE_NOT_USABLE,
                 id="the system namespace confers nothing by itself"),
    pytest.param(view("shipway-system", "shipway-pipeline-shop-1", MANAGED_SHOP), ALL,
                 id="a managed Secret of the pipeline's own is usable"),
    pytest.param(view("shipway-system", "shipway-pipeline-blog-1", MANAGED_BLOG), Reason.SOURCE_NOT_USABLE,
                 id="another pipeline's managed Secret is not usable"),
    pytest.param(view("shipway-system", "shipway-pipeline-blog-1", MANAGED_BLOG,
                      annotations={"shipway.dev/allowed-pipelines": "*"}), Reason.SOURCE_NOT_USABLE,
                 id="another pipeline's managed Secret is not usable whatever its annotations say"),
    pytest.param(view("shipway-system", "shipway-platform-1", MANAGED_PLATFORM), Reason.SOURCE_NOT_USABLE,
                 id="the platform's managed Secret is not usable by a pipeline's own layers"),
    pytest.param(None, Reason.SOURCE_NOT_USABLE, id="a missing Secret gives the same answer as a refused one"),
])
def test_what_a_pipeline_may_use(secret: SecretView | None, expected: frozenset[Usage] | str) -> None:
    assert grant(secret) == expected


def test_missing_and_refused_secrets_give_identical_messages() -> None:
    ref = SecretRef(namespace="team-b", name="registry")
    missing = tenant_grant(pipeline="shop", ref=ref, secret=None, own=(), system_namespace="shipway-system")
    refused = tenant_grant(pipeline="shop", ref=ref, secret=view("team-b", "registry"), own=(),
                           system_namespace="shipway-system")
    assert missing == refused == SourceProblem(Reason.SOURCE_NOT_USABLE, NOT_USABLE_MESSAGE.format(ref=ref))


@pytest.mark.parametrize(("secret", "usable"), [
    pytest.param(view("anywhere", "s"), True, id="the platform layer may use any labelled Secret"),
    pytest.param(view("shipway-system", "shipway-platform-1", MANAGED_PLATFORM), True,
                 id="the platform layer may use its own managed Secret"),
    pytest.param(view("shipway-system", "shipway-pipeline-shop-1", MANAGED_SHOP), False,
                 id="the platform layer may not use a pipeline's managed Secret"),
    pytest.param(view("shop-stage", "shipway-pull", {**CREDENTIAL, "app.kubernetes.io/managed-by": "shipway"}),
                 False, id="the platform layer may not use the operator's output"),
    pytest.param(None, False, id="the platform layer cannot use a missing Secret"),
])
def test_what_the_platform_layer_may_use(secret: SecretView | None, usable: bool) -> None:
    ref = secret.ref if secret is not None else SecretRef(namespace="a", name="b")
    found = platform_grant(ref=ref, secret=secret, system_namespace="shipway-system")
    assert (not isinstance(found, SourceProblem)) is usable


def test_a_usage_beyond_the_grant_is_refused_naming_the_usage() -> None:
    refusal = usage_refusal([Usage.PULL, Usage.PUSH], PULL, field="spec.registry.credentials[0].secretRef")
    assert refusal is not None and refusal.rule == Reason.USAGE_NOT_GRANTED and "push" in refusal.message
    assert usage_refusal([Usage.PULL], PULL, field="f") is None


def docker_secret(namespace: str, name: str, key: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    payload = json.dumps({"auths": {key: {"username": "u", "password": "canary-isolation-pw"}}})
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(CREDENTIAL),
                         "annotations": annotations or {}},
            "data": {".dockerconfigjson": base64.b64encode(payload.encode()).decode()}}


def shop(spec: dict[str, Any]) -> Pipeline:
    return validate_model(Pipeline, {"metadata": {"name": "shop"}, "spec": spec}, where="doc")


def test_inputs_deliver_only_rightfully_claimed_phases_and_usable_sources() -> None:
    pipeline = shop({"phases": [{"name": "stage"}, {"name": "production", "namespace": "blog-production"}],
                     "registry": {"credentials": [
                         {"secretRef": {"namespace": "shop-stage", "name": "own"}, "usage": ["pull", "push"]},
                         {"secretRef": {"namespace": "blog-production", "name": "theirs"}, "usage": ["pull"]}]}})
    secrets = {SecretRef(namespace="shop-stage", name="own"): docker_secret("shop-stage", "own", "ghcr.io"),
               SecretRef(namespace="blog-production", name="theirs"):
                   docker_secret("blog-production", "theirs", "quay.io")}
    inputs = pipeline_inputs(pipeline, platform=None, secrets=secrets, namespaces={
        "shop-stage": NamespaceView("shop-stage", MINE), "blog-production": NamespaceView("blog-production", THEIRS)})
    assert inputs.refused["production"].rule == Reason.NAMESPACE_OUTSIDE_PREFIX
    (stage,) = inputs.resolve()
    assert stage.namespace == "shop-stage"
    assert [e.registry for e in stage.pull] == ["ghcr.io"]
    assert [f.reason for f in stage.findings] == [Reason.SOURCE_NOT_USABLE]
    # A refused source is never even parsed: no oracle through InvalidDockerConfig.
    assert set(inputs.sources) == {SecretRef(namespace="shop-stage", name="own")}


def test_a_disabled_phase_grants_nothing() -> None:
    pipeline = shop({"phases": [{"name": "stage"}, {"name": "review", "enabled": False}],
                     "registry": {"credentials": [{"secretRef": {"namespace": "shop-review", "name": "s"}}]}})
    ref = SecretRef(namespace="shop-review", name="s")
    inputs = pipeline_inputs(pipeline, platform=None, namespaces={},
                             secrets={ref: docker_secret("shop-review", "s", "ghcr.io")})
    assert inputs.grants.tenant[ref] == SourceProblem(Reason.SOURCE_NOT_USABLE, NOT_USABLE_MESSAGE.format(ref=ref))


def test_allowed_registries_bind_the_pipelines_entries_and_push_target() -> None:
    platform = PlatformSpec.model_validate({"registry": {"allowedRegistries": ["ghcr.io"]}})
    pipeline = shop({"phases": [{"name": "stage"}],
                     "registry": {"push": {"registry": "evil.example", "repositoryPrefix": "x"}, "credentials": [
                         {"secretRef": {"namespace": "shop-stage", "name": "a"}, "usage": ["pull", "push"]},
                         {"secretRef": {"namespace": "shop-stage", "name": "b"}}]}})
    secrets = {SecretRef(namespace="shop-stage", name="a"): docker_secret("shop-stage", "a", "ghcr.io"),
               SecretRef(namespace="shop-stage", name="b"): docker_secret("shop-stage", "b", "evil.example")}
    (stage,) = pipeline_inputs(pipeline, platform=platform, namespaces={}, secrets=secrets).resolve()
    assert [e.registry for e in stage.pull] == ["ghcr.io"]
    assert stage.push is None and stage.push_target is None
    assert sorted(f.reason for f in stage.findings) == [Reason.REGISTRY_NOT_ALLOWED, Reason.REGISTRY_NOT_ALLOWED]


def test_a_usage_the_owner_did_not_grant_is_not_delivered() -> None:
    pipeline = shop({"phases": [{"name": "stage"}], "registry": {
        "push": {"registry": "ghcr.io", "repositoryPrefix": "team"},
        "credentials": [{"secretRef": {"namespace": "team-a", "name": "s"}, "usage": ["pull", "push"]}]}})
    ref = SecretRef(namespace="team-a", name="s")
    secrets = {ref: docker_secret("team-a", "s", "ghcr.io", {"shipway.dev/allowed-pipelines": "shop"})}
    (stage,) = pipeline_inputs(pipeline, platform=None, namespaces={}, secrets=secrets).resolve()
    assert [e.registry for e in stage.pull] == ["ghcr.io"] and stage.push is None
    assert Reason.USAGE_NOT_GRANTED in [f.reason for f in stage.findings]
    assert stage.pull[0].usage == PULL
