"""The pure migration from Kubero (``shipway.core.kubero``): reading Kubero's objects, what each pipeline
becomes, the writes compared with what exists, and the scrub. No cluster: a stand-in applies the writes."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from shipway.cli.kubero import plan_view
from shipway.cli.migration import status_view
from shipway.core import errors, kubero
from shipway.core.resources import SecretRef

from .helpers import (
    BLOG_PASSWORD,
    DOCS_PASSWORD,
    FIXTURE_REGISTRY,
    GLOBAL_PASSWORD,
    fixture_documents,
    items,
    leaks,
    merge_patch,
    secret_password_entries,
)

BLOG_SECRET = SecretRef(namespace="blog-review", name="kubero-blog-registry")
DOCS_SECRET = SecretRef(namespace="docs-stage", name="kubero-docs-registry")
GLOBAL = SecretRef(namespace="shipway-system", name="kubero-global-registry")
KUBERO_NAMESPACES = ("webshop-stage", "webshop-production", "blog-review", "blog-stage", "docs-stage",
                     "docs-production")
_versions = itertools.count(100)


def export(docs: list[Any] | None = None, **kwargs: Any) -> kubero.KuberoExport:
    return kubero.read_export(docs if docs is not None else fixture_documents(), source="kubero.yaml", **kwargs)


def kubero_cluster(**kwargs: Any) -> kubero.Cluster:
    """A Kubero cluster: the namespaces of enabled phases exist (unlabelled), Shipway's Platform is empty."""
    namespaces = {n: {"metadata": {"name": n}} for n in KUBERO_NAMESPACES}
    platform = {"metadata": {"name": "default", "resourceVersion": "7"}, "spec": {"systemNamespace": "shipway-system"}}
    return kubero.Cluster(**({"platform": platform, "namespaces": namespaces} | kwargs))


def applied(plan: kubero.Plan, cluster: kubero.Cluster) -> kubero.Cluster:
    """``cluster`` after the plan's writes, as an API server would store them (merge patches, preconditions)."""
    stores: dict[str, dict[Any, Any]] = {"Pipeline": dict(cluster.pipelines), "Secret": dict(cluster.secrets),
                                         "Namespace": dict(cluster.namespaces),
                                         "Platform": {"default": cluster.platform} if cluster.platform else {}}
    for write in plan.writes:
        key = SecretRef(namespace=write.namespace, name=write.name) if write.kind == "Secret" else write.name
        body = copy.deepcopy(dict(write.body))
        if write.action == "create":
            assert key not in stores[write.kind]
            new = body
        elif write.action == "patch":
            current = stores[write.kind][key]
            wanted = body.get("metadata", {}).pop("resourceVersion", None)
            assert wanted in (None, current["metadata"]["resourceVersion"]), "a stale precondition"
            new = merge_patch(current, body)
        else:
            continue
        new.setdefault("metadata", {})["resourceVersion"] = str(next(_versions))
        stores[write.kind][key] = new
    return kubero.Cluster(platform=stores["Platform"].get("default"), pipelines=stores["Pipeline"],
                          secrets=stores["Secret"], namespaces=stores["Namespace"])


def by_object(plan: kubero.Plan) -> dict[str, kubero.Write]:
    return {f"{w.kind} {w.namespace + '/' if w.namespace else ''}{w.name}": w for w in plan.writes}


def test_the_export_reads_as_kuberos_registry_and_three_pipelines_with_their_phases() -> None:
    read = export()
    assert read.install is not None and read.install.key == FIXTURE_REGISTRY and read.install.username == "kubero"
    assert [p.name for p in read.pipelines] == ["webshop", "blog", "docs"]
    blog = read.pipelines[1]
    assert [(p.name.value, p.enabled, p.here) for p in blog.phases] == [
        ("review", True, True), ("test", False, True), ("stage", True, True), ("production", True, False)]
    assert read.pipelines[2].key == "ghcr.io" and read.pipelines[2].create_secret == "create"


def test_a_pipeline_whose_registry_equals_the_global_one_inherits_and_gets_no_copy() -> None:
    plan = kubero.plan_import(export(), kubero_cluster())
    webshop = next(d for d in plan.decisions if d.pipeline.name == "webshop")
    assert (webshop.mode, webshop.secret) == (kubero.Mode.INHERITS, GLOBAL)
    secrets = [w for w in plan.writes if w.kind == "Secret"]
    assert {(w.namespace, w.name) for w in secrets} == {
        ("shipway-system", "kubero-global-registry"), ("blog-review", "kubero-blog-registry"),
        ("docs-stage", "kubero-docs-registry")}
    pipeline = by_object(plan)["Pipeline webshop"].body["spec"]
    assert pipeline["registry"] == {"inherit": True, "credentials": []}


def test_the_global_registry_becomes_the_platforms_default_credential_for_pull_and_push() -> None:
    plan = kubero.plan_import(export(), kubero_cluster())
    secret = by_object(plan)["Secret shipway-system/kubero-global-registry"]
    assert secret.body["type"] == "kubernetes.io/dockerconfigjson"
    assert secret.body["metadata"]["labels"] == {"shipway.dev/credential": "true"}
    auths = secret_password_entries(secret.body)
    assert list(auths) == [FIXTURE_REGISTRY] and auths[FIXTURE_REGISTRY]["password"] == GLOBAL_PASSWORD
    platform = by_object(plan)["Platform default"]
    assert platform.action == "patch" and platform.body["metadata"] == {"resourceVersion": "7"}
    assert platform.body["spec"]["registry"]["credentials"] == [
        {"secretRef": {"namespace": "shipway-system", "name": "kubero-global-registry"}, "usage": ["pull", "push"]}]


def test_a_pipeline_with_its_own_registry_gets_a_secret_in_its_first_enabled_phase_namespace() -> None:
    plan = kubero.plan_import(export(), kubero_cluster())
    for name, ref, password, host in (("blog", BLOG_SECRET, BLOG_PASSWORD, FIXTURE_REGISTRY),
                                      ("docs", DOCS_SECRET, DOCS_PASSWORD, "ghcr.io")):
        secret = by_object(plan)[f"Secret {ref}"]
        assert secret.body["metadata"]["labels"] == {"shipway.dev/credential": "true"}
        assert [e["password"] for e in secret_password_entries(secret.body).values()] == [password]
        registry = by_object(plan)[f"Pipeline {name}"].body["spec"]["registry"]
        # Its builds push where its own credential is valid (Kubero's builds push with it too), not to the
        # Platform's push target, which it holds no credential for.
        assert registry == {"inherit": False, "credentials": [
            {"secretRef": {"namespace": ref.namespace, "name": ref.name}, "usage": ["pull", "push"]}],
            "push": {"registry": host, "repositoryPrefix": name}}


def test_a_registry_host_with_a_path_keeps_it_in_the_push_prefix() -> None:
    docs = items()
    docs[3]["spec"]["registry"]["host"] = "ghcr.io/acme"
    plan = kubero.plan_import(export([{"kind": "List", "items": docs}]), kubero_cluster())
    push = by_object(plan)["Pipeline docs"].body["spec"]["registry"]["push"]
    assert push == {"registry": "ghcr.io", "repositoryPrefix": "acme/docs"}
    assert list(secret_password_entries(by_object(plan)[f"Secret {DOCS_SECRET}"].body)) == ["ghcr.io/acme"]


def test_a_registry_outside_the_platforms_allowed_registries_is_refused_before_any_write() -> None:
    platform = {"metadata": {"name": "default"}, "spec": {"registry": {"allowedRegistries": [FIXTURE_REGISTRY]}}}
    with pytest.raises(errors.Conflict) as caught:
        kubero.plan_import(export(), kubero_cluster(platform=platform))
    assert caught.value.field == "kubero.yaml#0.items[3] (KuberoPipeline kubero/docs).spec.registry.host"


def test_enabled_phases_are_adopted_disabled_ones_kept_disabled_and_other_contexts_left_out() -> None:
    plan = kubero.plan_import(export(), kubero_cluster())
    adoptions = by_object(plan)["Platform default"].body["spec"]["adoptedNamespaces"]
    assert adoptions == [{"namespace": n, "pipeline": n.split("-")[0]} for n in KUBERO_NAMESPACES]
    assert by_object(plan)["Pipeline webshop"].body["spec"]["phases"] == [
        {"name": "review", "enabled": False}, {"name": "test", "enabled": False},
        {"name": "stage", "enabled": True}, {"name": "production", "enabled": True}]
    assert [p["name"] for p in by_object(plan)["Pipeline blog"].body["spec"]["phases"]] == ["review", "test", "stage"]
    assert ("KuberoPipeline kubero/blog", "phase production: on cluster context 'prod-eu'") in plan.left_behind


def test_git_keys_build_settings_and_the_push_layout_are_reported_as_not_migrated() -> None:
    left = [what for obj, what in kubero.plan_import(export(), kubero_cluster()).left_behind
            if obj == "KuberoPipeline kubero/webshop"]
    assert "git deploy keys (spec.git.keys)" in left
    assert "build settings (spec.buildpack, spec.buildstrategy, spec.deploymentstrategy)" in left
    assert any(w.startswith("build push layout: Kubero pushes to $KUBERO_BUILD_REGISTRY/webshop-<app>")
               for w in left)
    assert "other settings (spec.access, spec.domain, spec.reviewapps)" in left


def test_nothing_the_plan_shows_or_prints_holds_a_password() -> None:
    plan = kubero.plan_import(export(), kubero_cluster())
    texts = [("views", json.dumps([w.view() for w in plan.writes])), ("plan", json.dumps(plan_view(plan))),
             ("repr", repr(plan))]
    assert leaks(texts) == []


def test_a_second_plan_over_what_the_first_wrote_is_all_unchanged() -> None:
    cluster = applied(kubero.plan_import(export(), kubero_cluster()), kubero_cluster())
    again = kubero.plan_import(export(), cluster)
    assert {w.action for w in again.writes} == {"unchanged"}


def test_a_changed_secret_is_patched_under_a_precondition_and_shows_both_fingerprints() -> None:
    cluster = applied(kubero.plan_import(export(), kubero_cluster()), kubero_cluster())
    docs = items()
    docs[2]["spec"]["registry"]["password"] = "CANARYBLOGROTATED0a1b2c3d4e5f60718293"
    write = by_object(kubero.plan_import(export([{"kind": "List", "items": docs}]), cluster))[f"Secret {BLOG_SECRET}"]
    stored = cluster.secrets[BLOG_SECRET]["metadata"]["resourceVersion"]
    assert write.action == "patch" and write.body["metadata"]["resourceVersion"] == stored
    assert write.previous == kubero.fingerprint(export().pipelines[1].credential) != write.fingerprint


def test_the_platform_is_merged_never_replaced() -> None:
    platform = {"metadata": {"name": "default", "resourceVersion": "9"}, "spec": {
        "registry": {"credentials": [{"secretRef": {"namespace": "shipway-system", "name": "corp"},
                                      "usage": ["pull"]}], "push": {"registry": "r.example", "repositoryPrefix": "a"}},
        "adoptedNamespaces": [{"namespace": "legacy", "pipeline": "old"}]}}
    write = by_object(kubero.plan_import(export(), kubero_cluster(platform=platform)))["Platform default"]
    spec = merge_patch(platform, write.body)["spec"]
    assert [c["secretRef"]["name"] for c in spec["registry"]["credentials"]] == ["corp", "kubero-global-registry"]
    assert spec["registry"]["push"] == {"registry": "r.example", "repositoryPrefix": "a"}
    assert spec["adoptedNamespaces"][0] == {"namespace": "legacy", "pipeline": "old"}
    assert len(spec["adoptedNamespaces"]) == 7


def test_an_existing_pipeline_keeps_its_phase_layers_and_other_credentials() -> None:
    existing = {"metadata": {"name": "blog", "resourceVersion": "3"}, "spec": {
        "phases": [{"name": "stage", "registry": {"credentials": [
            {"secretRef": {"namespace": "blog-stage", "name": "ro"}, "usage": ["pull"]}]}}],
        "registry": {"inherit": True, "credentials": [{"secretRef": {"namespace": "blog-stage", "name": "team"}}]},
        "reclaimPolicy": "Retain"}}
    write = by_object(kubero.plan_import(export(), kubero_cluster(pipelines={"blog": existing})))["Pipeline blog"]
    spec = merge_patch(existing, write.body)["spec"]
    assert write.action == "patch" and write.body["metadata"] == {"resourceVersion": "3"}
    assert spec["phases"][2]["registry"]["credentials"][0]["secretRef"]["name"] == "ro"
    assert [c["secretRef"]["name"] for c in spec["registry"]["credentials"]] == ["team", "kubero-blog-registry"]
    assert spec["registry"]["inherit"] is False and spec["reclaimPolicy"] == "Retain"


@pytest.mark.parametrize(("mode", "inherits"), [("copy", True), (None, True), ("none", False)])
def test_create_secret_copy_or_unset_inherits_and_none_delivers_nothing(mode: str | None, inherits: bool) -> None:
    docs = items()
    docs[2]["spec"]["registry"]["createSecret"] = mode  # blog
    decision = next(d for d in kubero.decide(export([{"kind": "List", "items": docs}]), kubero_cluster())
                    if d.pipeline.name == "blog")
    assert decision.mode is (kubero.Mode.INHERITS if inherits else kubero.Mode.NONE)
    plan = kubero.plan_import(export([{"kind": "List", "items": docs}]), kubero_cluster())
    assert f"Secret {BLOG_SECRET}" not in by_object(plan)


def test_a_namespace_adopted_for_another_pipeline_is_refused_before_anything_is_written() -> None:
    platform = {"metadata": {"name": "default"}, "spec": {"adoptedNamespaces": [
        {"namespace": "blog-stage", "pipeline": "intruder"}]}}
    with pytest.raises(errors.Conflict, match="namespace blog-stage is adopted for another pipeline"):
        kubero.plan_import(export(), kubero_cluster(platform=platform))


def test_a_namespace_shipway_made_for_another_pipeline_is_refused() -> None:
    namespaces = {"docs-stage": {"metadata": {"name": "docs-stage", "labels": {
        "app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "other"}}}}
    with pytest.raises(errors.Conflict) as caught:
        kubero.plan_import(export(), kubero_cluster(namespaces=namespaces))
    assert caught.value.field == "kubero.yaml#0.items[3] (KuberoPipeline kubero/docs).spec.phases[2]"


def _platform_with(secret_password: str) -> kubero.Cluster:
    corp = SecretRef(namespace="shipway-system", name="corp")
    platform = {"metadata": {"name": "default"}, "spec": {"registry": {"credentials": [
        {"secretRef": {"namespace": "shipway-system", "name": "corp"}, "usage": ["pull", "push"]}]}}}
    auths = {FIXTURE_REGISTRY: {"username": "kubero", "password": secret_password}}
    secret = {"type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "corp", "namespace": "shipway-system"},
              "stringData": {".dockerconfigjson": json.dumps({"auths": auths})}}
    return kubero_cluster(platform=platform, secrets={corp: secret})


def test_a_platform_credential_that_would_shadow_kuberos_global_one_is_refused() -> None:
    with pytest.raises(errors.Conflict) as caught:
        kubero.plan_import(export(), _platform_with("another-password-entirely"))
    assert "shipway-system/corp already serves registry.kubero.example.com" in str(caught.value)
    assert "another-password" not in str(caught.value)


def test_a_platform_credential_equal_to_kuberos_global_one_is_used_as_it_is() -> None:
    plan = kubero.plan_import(export(), _platform_with(GLOBAL_PASSWORD))
    assert "Secret shipway-system/kubero-global-registry" not in by_object(plan)
    webshop = next(d for d in plan.decisions if d.pipeline.name == "webshop")
    assert webshop.secret == SecretRef(namespace="shipway-system", name="corp")


_BAD = [
    (lambda d: d[2]["spec"]["registry"].update(password=[BLOG_PASSWORD]),
     "kubero.yaml#0.items[2] (KuberoPipeline kubero/blog).spec.registry.password: must be a string"),
    (lambda d: d[3]["spec"]["phases"][1].update(enabled="yes"),
     "kubero.yaml#0.items[3] (KuberoPipeline kubero/docs).spec.phases[1].enabled: must be true or false"),
    (lambda d: d[1]["spec"]["phases"][0].update(name="qa"),
     "kubero.yaml#0.items[1] (KuberoPipeline kubero/webshop).spec.phases[0].name: must be review, test, stage "
     "or production, once each"),
    (lambda d: d[3]["spec"]["registry"].pop("host"),
     "kubero.yaml#0.items[3] (KuberoPipeline kubero/docs).spec.registry.host: is missing or empty"),
    (lambda d: d[0]["spec"]["registry"]["account"].pop("username"),
     "kubero.yaml#0.items[0] (Kubero kubero/kubero).spec.registry.account.username: is missing or empty"),
    (lambda d: d[2]["metadata"].update(name=f"Blog_{GLOBAL_PASSWORD}"),
     "kubero.yaml#0.items[2] (KuberoPipeline kubero/?).metadata.name: is not a valid name"),
    (lambda d: d[2].update(apiVersion="shipway.dev/v1alpha1"),
     "kubero.yaml#0.items[2].apiVersion: is not a Kubero object (application.kubero.dev)"),
    (lambda d: d.append(copy.deepcopy(d[0])), "kubero.yaml#0.items[4] (Kubero kubero/kubero).metadata: a second "
                                              "Kubero object"),
    (lambda d: d[3]["spec"]["registry"].update(host=f"https://u:{DOCS_PASSWORD}@ghcr.io"),
     "kubero.yaml#0.items[3] (KuberoPipeline kubero/docs).spec.registry.host: a registry key must not hold a user "
     "name or password"),
]


@pytest.mark.parametrize(("spoil", "message"), _BAD)
def test_a_bad_document_is_named_with_its_field_and_never_its_value(spoil: Any, message: str) -> None:
    docs = items()
    spoil(docs)
    with pytest.raises(errors.InvalidInput) as caught:
        export([{"apiVersion": "v1", "kind": "List", "items": docs}])
    assert str(caught.value) == message
    assert leaks([("error", str(caught.value))]) == []


def _verified(cluster: kubero.Cluster, body_of: str, ref: SecretRef, status: str, fingerprint: str | None,
              reason: str = "Accepted") -> kubero.Cluster:
    entry = {"type": "Verified", "registry": "r", "fingerprint": fingerprint, "status": status, "reason": reason,
             "source": "pipeline", "secretRef": {"namespace": ref.namespace, "name": ref.name}}
    if body_of == "platform":
        platform = dict(cluster.platform or {}) | {"status": {"verifications": [entry]}}
        return kubero.Cluster(platform, cluster.pipelines, cluster.secrets, cluster.namespaces)
    pipelines = dict(cluster.pipelines)
    pipelines[body_of] = dict(pipelines[body_of]) | {"status": {"verifications": [entry]}}
    return kubero.Cluster(cluster.platform, pipelines, cluster.secrets, cluster.namespaces)


def test_scrub_takes_only_passwords_whose_shipway_credential_is_verified_for_that_very_password() -> None:
    read = export()
    prints = {p.name: kubero.fingerprint(p.credential) for p in read.pipelines}
    before = kubero.plan_scrub(read, kubero_cluster())
    assert before[0] == [] and {r for _, r in before[1]} == {"Verified: no result yet", "not imported yet"}
    cluster = applied(kubero.plan_import(read, kubero_cluster()), kubero_cluster())
    cluster = _verified(cluster, "platform", GLOBAL, "True", prints["webshop"])
    cluster = _verified(cluster, "blog", BLOG_SECRET, "True", prints["blog"])
    cluster = _verified(cluster, "docs", DOCS_SECRET, "False", prints["docs"], "Unreachable")
    writes, refused = kubero.plan_scrub(read, cluster)
    assert [(w.kind, w.name, w.body["spec"]) for w in writes] == [
        ("Kubero", "kubero", {"registry": {"account": {"password": None}}}),
        ("KuberoPipeline", "webshop", {"registry": {"password": None}}),
        ("KuberoPipeline", "blog", {"registry": {"password": None}})]
    assert writes[2].body["metadata"] == {"resourceVersion": "2388"}  # fails if Kubero changed it since
    assert refused == [("KuberoPipeline kubero/docs", "Verified: False (Unreachable)")]
    stale = _verified(cluster, "blog", BLOG_SECRET, "True", "sha256:0000000000000000")
    assert ("KuberoPipeline kubero/blog", "Verified: the Shipway credential is not the password in Kubero (import "
            "again first)") in kubero.plan_scrub(read, stale)[1]


def test_after_a_scrub_the_import_still_changes_nothing_and_status_tells_where_each_pipeline_stands() -> None:
    cluster = applied(kubero.plan_import(export(), kubero_cluster()), kubero_cluster())
    docs = items()
    for doc, path in ((docs[0], ("registry", "account")), (docs[1], ("registry",)), (docs[2], ("registry",))):
        target = doc["spec"]
        for part in path:
            target = target[part]
        target.pop("password")
    scrubbed = export([{"kind": "List", "items": docs}])
    assert {w.action for w in kubero.plan_import(scrubbed, cluster).writes} == {"unchanged"}
    rows = {r["pipeline"]: r for r in status_view(scrubbed, cluster)["pipelines"]}
    assert rows["webshop"] | {"notMigrated": []} == {
        "pipeline": "webshop", "imported": True, "credential": "inherits", "secret": str(GLOBAL), "inSecret": True,
        "verified": "no result yet", "plaintextInKubero": False, "phasesNotMigrated": [], "notMigrated": []}
    assert (rows["blog"]["credential"], rows["blog"]["plaintextInKubero"]) == ("overrides", False)
    assert rows["blog"]["phasesNotMigrated"] == ["production (context prod-eu)"]
    assert (rows["docs"]["secret"], rows["docs"]["plaintextInKubero"]) == (str(DOCS_SECRET), True)


def test_the_context_kubero_gives_this_cluster_decides_which_phases_are_here() -> None:
    read = export(context="prod-eu")
    blog = next(p for p in read.pipelines if p.name == "blog")
    assert [(p.name.value, p.here) for p in blog.phases] == [
        ("review", False), ("test", True), ("stage", False), ("production", True)]
    assert ("KuberoPipeline kubero/webshop", "the pipeline: no phase on this cluster") not in kubero.plan_import(
        read, kubero_cluster()).left_behind  # its disabled phases name no context: they are here, disabled
