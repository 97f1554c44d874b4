"""The Grafana dashboard and the PrometheusRule read only metrics the code really exports: every metric name
in their PromQL is found, with a sample, in the /metrics of a running operator or API (started as the
Deployments run them, against the emulator, after a pipeline was delivered, one refused and a credential
rotated)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from tests.operator.helpers import PLATFORM, Shipway, canary_password, credential, pipeline, team_source

from .conftest import Installed
from .helpers import DEPLOY, metric_names

DASHBOARD = DEPLOY / "monitoring" / "grafana-dashboard.json"
RULES = DEPLOY / "monitoring" / "prometheus-rules.yaml"


def dashboard_expressions() -> dict[str, list[str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {p["title"]: [t["expr"] for t in p.get("targets", [])] for p in panels if p["type"] != "row"}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> (labels, value) of a Prometheus text exposition."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def value(exposed: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in exposed.get(name, []) if all(found.get(k) == want for k, want in labels.items()))


def test_the_dashboard_has_a_panel_for_each_thing_a_platform_team_watches() -> None:
    titles = " | ".join(dashboard_expressions()).lower()
    for topic in ("deliveries", "rotations", "refusals", "verification", "queue depth", "api latency"):
        assert topic in titles, topic
    assert all(expressions for expressions in dashboard_expressions().values())


def test_the_rules_alert_on_the_operator_reconcile_errors_verification_and_certificate_expiry() -> None:
    alerts = {rule["alert"] for rule in rules()}
    assert {"ShipwayOperatorDown", "ShipwayReconcileErrors", "ShipwayCredentialsFailingVerification",
            "ShipwayCertificateExpiresSoon"} <= alerts
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert metric_names(rule["expr"]), rule["alert"]


@pytest.fixture(scope="module")
def exposed(installed: Installed) -> dict[str, dict[str, list[tuple[dict[str, str], float]]]]:
    """Both /metrics after some work: two phases delivered, a rotation, a refusal, a few API requests."""
    shipway = Shipway(installed.cluster)
    shipway.create_pipeline(pipeline("shop"))
    shipway.settled("shop")
    # A credential in another team's namespace that does not consent to this pipeline: refused.
    foreign = team_source("team-b-ns")
    shipway.apply_source(foreign)
    shipway.create_pipeline(pipeline("intruder", credentials=[credential(foreign)]))
    shipway.settled("intruder")
    rotated = PLATFORM.with_creds(*(c.rotated(canary_password("rotated")) for c in PLATFORM.creds))
    shipway.apply_source(rotated)

    def operator_metrics() -> dict[str, list[tuple[dict[str, str], float]]]:
        return samples(httpx.get(f"{installed.metrics_url}/metrics", timeout=10).text)

    shipway.api.eventually(lambda: value(operator_metrics(), "shipway_operator_rotations_total") >= 2)
    shipway.quiet()
    with installed.api.client() as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/pipelines").status_code == 401  # no token
        api_text = client.get("/metrics").text
    return {"operator": operator_metrics(), "api": samples(api_text)}


def test_every_metric_the_dashboard_and_the_rules_read_is_exported(
        exposed: dict[str, dict[str, list[tuple[dict[str, str], float]]]]) -> None:
    used: dict[str, set[str]] = {}
    for title, expressions in dashboard_expressions().items():
        for expr in expressions:
            for name in metric_names(expr):
                used.setdefault(name, set()).add(f"dashboard panel {title!r}")
    for rule in rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    assert used
    missing = []
    for name, where in sorted(used.items()):
        source = "operator" if name.startswith("shipway_operator_") else "api" if name.startswith(
            "shipway_api_") else None
        if source is None or name not in exposed[source]:
            missing.append(f"{name} (used by {', '.join(sorted(where))})")
    assert not missing, "metrics read but not exported:\n  " + "\n  ".join(missing)


def test_the_operator_counts_what_it_did(exposed: dict[str, dict[str, list[tuple[dict[str, str], float]]]]) -> None:
    operator = exposed["operator"]
    assert value(operator, "shipway_operator_leading") == 1 and value(operator, "shipway_operator_ready") == 1
    # shop's two phases got a pull and a push Secret each; the rotation patched them (intruder's pull Secrets
    # hold the platform's entries too).
    assert value(operator, "shipway_operator_deliveries_total") >= 4
    assert value(operator, "shipway_operator_rotations_total") >= 2
    assert value(operator, "shipway_operator_deliveries_total") == value(
        operator, "shipway_operator_kube_requests_total", kind="Secret", verb="create") + value(
        operator, "shipway_operator_kube_requests_total", kind="Secret", verb="patch")
    assert value(operator, "shipway_operator_pipelines", ready="true") == 1
    assert value(operator, "shipway_operator_pipelines", ready="false") == 1
    assert value(operator, "shipway_operator_pipeline_refusals", reason="SourceNotUsable") == 1
    assert value(operator, "shipway_operator_pipeline_refusals") == 1
    assert value(operator, "shipway_operator_queue_depth") == 0
    assert {labels["outcome"] for labels, _ in operator["shipway_operator_credentials"]} >= {
        "Verified", "Unauthorized", "Unreachable", "NotCheckable"}


def test_the_api_exports_the_expiry_of_the_certificate_it_serves(
        installed: Installed, exposed: dict[str, dict[str, list[tuple[dict[str, str], float]]]]) -> None:
    expiry = dict((labels["listener"], v) for labels, v in
                  exposed["api"]["shipway_api_tls_certificate_expiry_timestamp_seconds"])
    served = x509.load_pem_x509_certificate(installed.api.tls.cert_file.read_bytes()).not_valid_after_utc
    assert expiry == {"rest": served.timestamp(), "webhook": served.timestamp()}
    assert value(exposed["api"], "shipway_api_build_info") == 1
