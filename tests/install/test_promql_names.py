"""The metric-name extraction the monitoring tests rely on, checked on expressions of every shape used."""

from __future__ import annotations

import pytest

from .helpers import metric_names


@pytest.mark.parametrize(("expr", "names"), [
    ("absent(max(shipway_operator_leading) == 1)", {"shipway_operator_leading"}),
    ('sum(rate(shipway_api_requests_total{status="403"}[$__rate_interval]))', {"shipway_api_requests_total"}),
    ("histogram_quantile(0.99, sum by (le, route) (rate(shipway_api_request_seconds_bucket[5m])))",
     {"shipway_api_request_seconds_bucket"}),
    ("min by (listener) (shipway_api_tls_certificate_expiry_timestamp_seconds) - time() < 7 * 86400",
     {"shipway_api_tls_certificate_expiry_timestamp_seconds"}),
    ("sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9) > 0.05", {"a_total", "b_total"}),
    ('max by (outcome) (x{outcome=~"A|B", pod!="p"}) and on (pod) y unless z offset 5m', {"x", "y", "z"}),
    ("sum without (instance) (up) > bool 0", {"up"}),
])
def test_metric_names_are_the_series_an_expression_reads(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
