"""A generic client (schemathesis) against both OpenAPI documents: whatever it sends, each
service answers only statuses, content types, bodies and headers its document declares, and
never a server error.

Each operation gets a bounded number of generated requests (valid and invalid bodies,
headers and parameters, plus schemathesis's coverage cases such as unlisted methods),
against the app in-process on the real Redis. The console is called as an officer and as a
supervisor; path ids (and the reference searched for) are real ones half of the time, so real
cases, alerts and officers are read and acted on, not only 404s.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from shared.config import Settings
from shared.domain.officers import Role
from shared.store import Store
from tests.fakes import FakePublisher
from tests.support.cases import add_staff, routed_case

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, unsupported_method]
EXAMPLES = settings(max_examples=20, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32.5 reads `node._nodeid`, which pytest 9.2 no longer has (it became
    `_id`); giving it the id as a plain attribute lets its lazy (fixture) schemas run."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
def intake_api(real_settings: Settings) -> Any:
    app = create_intake(real_settings, publisher=FakePublisher())
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


intake = schemathesis.pytest.from_fixture("intake_api")


@intake.parametrize()
@EXAMPLES
def test_intake_answers_only_as_its_document_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@pytest.fixture
def world(store: Store, real_settings: Settings) -> dict[str, Any]:
    """Staff, cases offered to Alex (one an emergency) and open alerts, for the console's ids
    to point at; the generated requests then accept, decline, close and reassign them."""
    tokens = {"officer": add_staff(store, "alex", "watford", capacity=50),
              "supervisor": add_staff(store, "sam", "watford", role=Role.SUPERVISOR)}
    add_staff(store, "blake", "watford", capacity=50)
    cases = [routed_case(store, real_settings, "watford")[0] for _ in range(4)]
    cases.append(routed_case(store, real_settings, "stevenage", emergency=True)[0])
    for case_id in cases[:2]:
        store.alerts.raise_for_case("sla_breach", case_id, now=time.time(), timer="sla_accept")
    alerts = store.redis.zrange(store.keys.open_alerts, 0, -1)
    assert alerts
    references = [store.cases.get(case_id)["reference"] for case_id in cases]
    return {"tokens": tokens, "ids": {"case_id": cases, "alert_id": alerts,
                                      "officer_id": ["alex", "blake", "sam"],
                                      "reference": references}}


@pytest.fixture(params=["officer", "supervisor"])
def caller(request: pytest.FixtureRequest, world: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['tokens'][request.param]}"}


@pytest.fixture
def real_ids(world: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every other request gets real ids in its path and a real case reference in its query
    (the rest keep the generated ones)."""
    yield {name: itertools.cycle([x for value in values for x in (value, None)])
           for name, values in world["ids"].items()}


@pytest.fixture
def console_api(real_settings: Settings, store: Store, caller: dict[str, str]) -> Any:
    # `caller` is asked for here so that pytest parametrizes the test by role: the lazy
    # schema's wrapper hides the test's own arguments from parametrization.
    app = create_console(real_settings, store=store, publisher=FakePublisher())
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


console = schemathesis.pytest.from_fixture("console_api")


@console.parametrize()
@EXAMPLES
def test_the_console_answers_only_as_its_document_says(
        case: Any, caller: dict[str, str], real_ids: dict[str, Any]) -> None:
    for name, pool in real_ids.items():
        for where in (case.path_parameters, case.query):
            if where and name in where and (chosen := next(pool)) is not None:
                where[name] = chosen
    case.call_and_validate(headers=caller, checks=CHECKS)


def test_the_console_document_declares_nulls_and_every_error(real_settings: Settings,
                                                              store: Store) -> None:
    app = create_console(real_settings, store=store, publisher=FakePublisher())
    spec = app.test_client().get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    for name in ("accepted_at", "closed_at", "first_contact_at", "offer_deadline",
                 "offered_at", "outcome"):
        assert schemas["CaseDetail"]["properties"][name]["nullable"] is True, name
    assert schemas["Alert"]["properties"]["acknowledged_at"]["nullable"] is True
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # the path's own (ids), not an operation
                continue
            declared = set(operation["responses"])
            assert "default" not in declared and {"401", "403", "503"} <= declared, path
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= declared, (method, path)
