"""deploy/: the kustomize base renders exactly `shipway manifests`; the overlays change only what they say;
the monitoring kustomization carries the dashboard and the alert rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.tls import make_server_tls

from .helpers import DEPLOY, by_kind, identities, kustomize, manifests, one


def test_the_base_renders_exactly_the_objects_of_shipway_manifests_in_the_same_order() -> None:
    rendered = kustomize(DEPLOY / "base")
    assert identities(rendered) == identities(manifests())
    assert rendered == manifests()


def test_the_ha_overlay_runs_three_spread_replicas_and_keeps_two_through_a_drain() -> None:
    rendered = kustomize(DEPLOY / "overlays" / "ha")
    assert identities(rendered) == identities(manifests())
    for name in ("shipway-api", "shipway-operator"):
        deployment = one(rendered, "Deployment", name)
        assert deployment["spec"]["replicas"] == 3
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        # The selector is narrowed to this Deployment's pods by the pod-template-hash each pod carries.
        assert all(c["matchLabelKeys"] == ["pod-template-hash"] for c in spread)
        assert one(rendered, "PodDisruptionBudget", name)["spec"]["minAvailable"] == 2
    # Nothing else changed.
    changed = {("Deployment", "shipway-api"), ("Deployment", "shipway-operator"),
               ("PodDisruptionBudget", "shipway-api"), ("PodDisruptionBudget", "shipway-operator")}
    base = manifests()
    for mine, theirs in zip(rendered, base, strict=True):
        if (mine["kind"], mine["metadata"]["name"]) not in changed:
            assert mine == theirs


def test_the_own_certificate_overlay_installs_your_certificate_and_trusts_its_ca(tmp_path: Path) -> None:
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns(".gitignore"))
    overlay = tmp_path / "deploy" / "overlays" / "own-certificate"
    tls = make_server_tls(tmp_path / "tls", hosts=("shipway-api.shipway-system.svc",))
    shutil.copy(tls.cert_file, overlay / "tls.crt")
    shutil.copy(tls.key_file, overlay / "tls.key")
    shutil.copy(tls.ca_file, overlay / "ca.crt")
    rendered = kustomize(overlay)
    ca = tls.ca_file.read_bytes()
    expected = manifests(cert_manager=False, webhook_ca_bundle=ca)
    (secret,) = by_kind(rendered, "Secret")
    assert identities([r for r in rendered if r is not secret]) == identities(expected)
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"], secret["type"]) == (
        "shipway-webhook-tls", "shipway-system", "kubernetes.io/tls")
    assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]
    webhook = one(rendered, "ValidatingWebhookConfiguration", "shipway")
    # kustomize wraps the base64 at 76 columns; kube-apiserver's decoder skips the newlines.
    assert webhook["webhooks"][0]["clientConfig"]["caBundle"].replace("\n", "") == one(
        expected, "ValidatingWebhookConfiguration", "shipway")["webhooks"][0]["clientConfig"]["caBundle"]
    assert webhook["metadata"] == one(expected, "ValidatingWebhookConfiguration", "shipway")["metadata"]
    assert [r for r in rendered if r is not secret and r["kind"] != "ValidatingWebhookConfiguration"] == [
        e for e in expected if e["kind"] != "ValidatingWebhookConfiguration"]


def test_the_monitoring_kustomization_holds_the_rules_the_scrape_targets_and_the_dashboard() -> None:
    rendered = kustomize(DEPLOY / "monitoring")
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == [
        ("ConfigMap", "shipway-grafana-dashboard"), ("PodMonitor", "shipway-api"),
        ("PodMonitor", "shipway-operator"), ("PrometheusRule", "shipway")]
    assert all(d["metadata"]["namespace"] == "shipway-system" for d in rendered)
    dashboard = one(rendered, "ConfigMap", "shipway-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["shipway.json"]) == json.loads(
        (DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    # The scrape targets name ports the Deployments declare.
    base = manifests()
    for monitor in by_kind(rendered, "PodMonitor"):
        name = monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        (container,) = one(base, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} <= {p["name"] for p in container["ports"]}
