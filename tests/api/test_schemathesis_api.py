"""A bounded schemathesis run against the sandbox's /openapi.json, as the admin: no response is a server
error and none breaks the response schema the API publishes for it.

A ``{name}`` path parameter that is a valid DNS label is pointed at the seeded pipeline ``shop``, so that
valid requests reach the API's logic rather than a 404; names that are not DNS labels go as generated (they
once reached the Kubernetes URL unchecked; now they must be refused with 422). Everything else is as
schemathesis generates it, valid (positive) and invalid (negative) requests alike. schemathesis's pytest
loader (``from_fixture``) does not work with pytest 9 (it reads ``request.node._nodeid``), so the run uses
its Python API: one hypothesis test per operation, every failure collected and reported together.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from .helpers import Sandbox

EXAMPLES = 50  # per operation, positive and negative together: about 850 requests
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.fixture(scope="module")
def seeded(team_a: httpx.Client, team_b: httpx.Client, sandbox: Sandbox) -> None:
    """Pipelines for the fuzzer to find: valid path names are mapped to ``shop``."""
    for client, name in ((team_a, "shop"), (team_b, "blog")):
        response = client.post("/api/v1/pipelines", json={"name": name, "phases": [{"name": "stage"},
                                                                                   {"name": "production"}]})
        assert response.status_code == 201, response.text
    response = team_a.put("/api/v1/pipelines/shop/credentials",
                          json={"registry": "127.0.0.1:9", "username": "u", "password": sandbox.canary("fuzz")})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def api_schema(sandbox: Sandbox, seeded: None) -> Any:
    return schemathesis.openapi.from_url(f"{sandbox.api_url}/openapi.json")


def _towards_seeded(case: Any) -> None:
    """Point valid pipeline names at the seeded pipeline ``shop`` (in place); invalid names stay as they are."""
    name = (case.path_parameters or {}).get("name")
    if isinstance(name, str) and DNS_LABEL.match(name):
        case.path_parameters = {**case.path_parameters, "name": "shop"}


def test_no_generated_request_gets_a_server_error_or_a_response_outside_its_schema(
        api_schema: Any, sandbox: Sandbox) -> None:
    auth = {"Authorization": f"Bearer {sandbox.tokens['admin']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    calls: list[int] = []

    for operation in operations:
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=strategy)
        def exercise(case: Any) -> None:
            _towards_seeded(case)
            response = case.call(headers=auth, timeout=30)
            calls.append(response.status_code)
            sandbox.record_text(f"schemathesis {case.method} {case.formatted_path} -> {response.status_code}",
                                response.text)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # schemathesis failures are BaseExceptionGroups
            failures.append(f"{operation.label}: {type(error).__name__}: {error}"[:2000])

    assert failures == [], "\n\n".join(failures)
    assert len(calls) >= len(operations) * 5
    assert 500 not in calls
    assert sum(200 <= code < 300 for code in calls) >= len(operations)  # it reached the API's logic too
