"""``shipway import kubero`` and ``shipway migration status`` against the sandbox, in order: a dry run, a bad
document, the import, the import again, the status, the scrub.

Verified comes from the operator's own checks against a real registry (the verifier itself is tested in
tests/verification): the global and blog credentials are the registry's users, docs' registry is unreachable.
"""

from __future__ import annotations

import json
import time
from typing import Any

from shipway.core.resources import SecretRef

from .conftest import UNREACHABLE, KuberoCluster
from .helpers import BLOG_PASSWORD, DOCS_PASSWORD, GLOBAL_PASSWORD, leaks, secret_password_entries

PIPELINES = ("blog", "docs", "webshop")
KUBERO_PATH = "/apis/application.kubero.dev/v1alpha1/namespaces/kubero"
SECRETS = {SecretRef(namespace="shipway-system", name="kubero-global-registry"): GLOBAL_PASSWORD,
           SecretRef(namespace="blog-review", name="kubero-blog-registry"): BLOG_PASSWORD,
           SecretRef(namespace="docs-stage", name="kubero-docs-registry"): DOCS_PASSWORD}


def as_json(done: Any) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ours(cluster: KuberoCluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in cluster.kube.pipelines() if p["metadata"]["name"] in PIPELINES)


def versions(cluster: KuberoCluster) -> dict[str, str]:
    kube = cluster.kube
    out = {"Platform": kube.platform()["metadata"]["resourceVersion"]}
    out |= {f"Pipeline {n}": (kube.pipeline(n) or {})["metadata"]["resourceVersion"] for n in PIPELINES}
    return out | {f"Secret {r}": (kube.secret(r.namespace, r.name) or {})["metadata"]["resourceVersion"]
                  for r in SECRETS}


def verified(body: dict[str, Any], name: str) -> str | None:
    return next((v["status"] for v in (body.get("status") or {}).get("verifications") or []
                 if v["secretRef"]["name"] == name), None)


def test_the_dry_run_reads_writes_nothing_and_prints_no_password(cluster: KuberoCluster) -> None:
    before = cluster.requests_by_import()
    table = cluster.run("import", "kubero", "-f", str(cluster.export_file))
    assert table.returncode == 0, table.stderr
    assert "Dry run: nothing was written" in table.stdout
    assert all(name in table.stdout for name in PIPELINES)
    plan = as_json(cluster.run("import", "kubero", "-f", str(cluster.export_file), "-o", "json"))
    assert plan["applied"] is False and plan["written"] == 0
    assert [(w["action"], w["kind"]) for w in plan["writes"]] == [
        ("create", "Secret"), ("create", "Secret"), ("create", "Secret"), ("patch", "Platform"),
        ("create", "Pipeline"), ("create", "Pipeline"), ("create", "Pipeline")]
    assert cluster.requests_by_import() > before  # it compared with the cluster...
    assert cluster.writes_by_import() == 0  # ...and wrote nothing
    assert ours(cluster) == []
    assert leaks([("dry run", table.stdout + table.stderr)]) == []


def test_a_bad_document_writes_nothing_and_the_error_names_the_document_and_the_field(
        cluster: KuberoCluster) -> None:
    spoiled = cluster.export_file.with_name("spoiled.yaml")
    spoiled.write_text(cluster.export_file.read_text().replace(
        f"password: {BLOG_PASSWORD}", f"password: [{BLOG_PASSWORD}]"))
    before = cluster.requests_by_import()
    done = cluster.run("import", "kubero", "-f", str(spoiled), "--apply")
    assert done.returncode == 2
    assert done.stderr == (f"error: {spoiled}#0.items[2] (KuberoPipeline kubero/blog).spec.registry.password: "
                           "must be a string\n")
    assert cluster.requests_by_import() == before  # refused before the cluster was even contacted
    assert ours(cluster) == []


def test_apply_creates_the_platform_default_the_adoptions_and_the_pipelines(cluster: KuberoCluster) -> None:
    result = as_json(cluster.run("import", "kubero", "--from-cluster", "--apply", "-o", "json"))
    assert (result["applied"], result["written"]) == (True, 7)
    kube = cluster.kube
    platform = kube.platform()["spec"]
    assert {"secretRef": {"namespace": "shipway-system", "name": "kubero-global-registry"},
            "usage": ["pull", "push"]} in platform["registry"]["credentials"]
    assert any(c["secretRef"]["name"] == "default-registry" for c in platform["registry"]["credentials"])  # kept
    assert sorted((a["namespace"], a["pipeline"]) for a in platform["adoptedNamespaces"]) == sorted(
        (n, n.split("-")[0]) for n in ("webshop-stage", "webshop-production", "blog-review", "blog-stage",
                                       "docs-stage", "docs-production"))
    pipelines = {n: (kube.pipeline(n) or {})["spec"] for n in PIPELINES}
    assert [(p["name"], p["enabled"]) for p in pipelines["webshop"]["phases"]] == [
        ("review", False), ("test", False), ("stage", True), ("production", True)]
    assert [(p["name"], p["enabled"]) for p in pipelines["blog"]["phases"]] == [
        ("review", True), ("test", False), ("stage", True)]  # production runs on another context
    assert pipelines["webshop"]["registry"]["inherit"] is True
    assert pipelines["webshop"]["registry"]["credentials"] == []
    for name, namespace, host in (("blog", "blog-review", cluster.registry), ("docs", "docs-stage", UNREACHABLE)):
        assert pipelines[name]["registry"]["inherit"] is False
        assert pipelines[name]["registry"]["credentials"] == [{"secretRef": {
            "namespace": namespace, "name": f"kubero-{name}-registry"}, "usage": ["pull", "push"]}]
        assert pipelines[name]["registry"]["push"] == {"registry": host, "repositoryPrefix": name}
    for ref, password in SECRETS.items():  # the passwords are in Secrets, and only there
        secret = kube.secret(ref.namespace, ref.name)
        assert secret is not None and secret["metadata"]["labels"]["shipway.dev/credential"] == "true"
        assert [e["password"] for e in secret_password_entries(secret).values()] == [password]
    for namespace in ("webshop-stage", "webshop-production"):  # the same-as-global pipeline: no copy
        assert not any(s["metadata"]["name"].startswith("kubero-") for s in kube.secrets(namespace))
    for name in PIPELINES:  # the operator takes the adopted namespaces and the Secrets under the isolation rules
        kube.wait_for(f"{name} Ready", lambda n=name: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in ((kube.pipeline(n) or {}).get("status") or {}).get("conditions") or []), timeout=30)
    assert kube.secret("blog-stage", "shipway-pull") is not None


def test_a_second_apply_changes_nothing(cluster: KuberoCluster) -> None:
    kube = cluster.kube
    kube.wait_for("the registry checks", lambda: verified(kube.platform(), "kubero-global-registry") and all(
        verified(kube.pipeline(n) or {}, f"kubero-{n}-registry") for n in ("blog", "docs")), timeout=30)
    kube.wait_for("the operator at rest", lambda: versions(cluster) == (time.sleep(1.0) or versions(cluster)))
    before, writes = versions(cluster), cluster.writes_by_import()
    result = as_json(cluster.run("import", "kubero", "--from-cluster", "--apply", "-o", "json"))
    assert result["written"] == 0 and {w["action"] for w in result["writes"]} == {"unchanged"}
    assert cluster.writes_by_import() == writes
    assert versions(cluster) == before


def test_migration_status_lists_every_pipeline(cluster: KuberoCluster) -> None:
    view = as_json(cluster.run("migration", "status", "-o", "json"))
    assert view["global"] == {"registry": cluster.registry, "secret": "shipway-system/kubero-global-registry",
                              "inSecret": True, "verified": "True", "plaintextInKubero": True}
    rows = {r["pipeline"]: r for r in view["pipelines"]}
    assert sorted(rows) == list(PIPELINES)
    summary = {n: (r["imported"], r["credential"], r["inSecret"], r["verified"], r["plaintextInKubero"],
                   r["phasesNotMigrated"]) for n, r in rows.items()}
    assert summary == {
        "webshop": (True, "inherits", True, "True", True, []),
        "blog": (True, "overrides", True, "True", True, ["production (context prod-eu)"]),
        "docs": (True, "overrides", True, "False (Unreachable)", True, [])}
    assert "git deploy keys (spec.git.keys)" in rows["blog"]["notMigrated"]
    table = cluster.run("migration", "status")
    assert table.returncode == 0 and all(n in table.stdout for n in PIPELINES)


def password_in_kubero(cluster: KuberoCluster, plural: str, name: str) -> bool:
    registry = (cluster.kube.get(f"{KUBERO_PATH}/{plural}/{name}") or {})["spec"]["registry"]
    return "password" in (registry["account"] if plural == "kuberoes" else registry)


def test_scrub_refuses_unverified_pipelines_and_removes_the_plaintext_of_verified_ones(
        cluster: KuberoCluster) -> None:
    shown = as_json(cluster.run("import", "kubero", "--from-cluster", "--scrub", "-o", "json"))
    assert sorted((w["kind"], w["name"]) for w in shown["writes"]) == [
        ("Kubero", "kubero"), ("KuberoPipeline", "blog"), ("KuberoPipeline", "webshop")]
    assert shown["refused"] == [{"object": "KuberoPipeline kubero/docs", "reason": "Verified: False (Unreachable)"}]
    assert password_in_kubero(cluster, "kuberopipelines", "blog")  # a dry run: nothing removed
    done = as_json(cluster.run("import", "kubero", "--from-cluster", "--scrub", "--apply", "-o", "json"))
    assert done["written"] == 3
    assert not password_in_kubero(cluster, "kuberoes", "kubero")
    assert not password_in_kubero(cluster, "kuberopipelines", "blog")
    assert not password_in_kubero(cluster, "kuberopipelines", "webshop")
    assert password_in_kubero(cluster, "kuberopipelines", "docs")  # its Shipway credential is not Verified
    kubero_object = cluster.kube.get(f"{KUBERO_PATH}/kuberoes/kubero") or {}
    assert kubero_object["spec"]["registry"]["account"]["hash"]  # Kubero's registry keeps its htpasswd hash
    view = as_json(cluster.run("migration", "status", "-o", "json"))
    assert view["global"]["plaintextInKubero"] is False
    assert {r["pipeline"]: r["plaintextInKubero"] for r in view["pipelines"]} == {
        "blog": False, "docs": True, "webshop": False}
    again = as_json(cluster.run("import", "kubero", "--from-cluster", "--apply", "-o", "json"))
    assert again["written"] == 0  # the Secrets hold what Kubero no longer does
