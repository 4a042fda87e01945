"""The partner JSON API against a real redis-server, through the Flask test client."""

from __future__ import annotations

import json

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.console.app import create_app as create_console_app
from services.intake.app import create_app
from shared.config import Settings
from shared.domain.references import normalise_reference
from shared.sealing import Sealer
from tests import payloads
from tests.fakes import FakePublisher

pytestmark = pytest.mark.integration


@pytest.fixture
def app(real_settings: Settings, publisher: FakePublisher) -> Flask:
    return create_app(real_settings, publisher=publisher)


def post(client: FlaskClient, path: str, body: object, **headers: str):
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers=headers)


def test_a_report_is_stored_sealed_and_announced_by_id(client, store, publisher, real_settings):
    resp = post(client, "/api/v1/reports", payloads.report())
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert normalise_reference(body["reference"]) == body["reference"]
    assert body["status"] == "received"
    assert body["priority"] == "high"  # threats raise priority
    assert body["emergency"] is False
    assert "reference" in body["next_steps"]
    case_id = store.cases.id_for_reference(body["reference"])
    assert case_id is not None
    assert publisher.sent == [("router.assign_case", case_id)]
    # The reporter's acknowledgement is a stored record the sweeper hands to the notifier
    # (sent only as their contact safety profile allows).
    [ack_id] = store.routing.due_notifications(now=9e12)
    ack = store.redis.hgetall(store.keys.notification(ack_id))
    assert ack["kind"] == "reporter_ack" and ack["case_id"] == case_id
    stored = store.cases.get(case_id)
    assert stored["state"] == "received"
    assert stored["district"] == "watford"  # WD17 is Watford: the incident place routes
    assert stored["home_district"] == "st_albans"
    opened = Sealer(real_settings.sealing_keys).unseal(stored["sealed"])
    assert opened["submission"]["what_happened"].startswith("Two men shouted")
    assert "Two men" not in json.dumps(stored)
    assert [e["type"] for e in store.cases.log(case_id)] == ["CaseReceived"]
    assert case_id in store.cases.outbox_due(now=9e12)


def test_a_callback_routes_by_where_the_person_lives(client, store):
    resp = post(client, "/api/v1/callbacks", payloads.callback())
    assert resp.status_code == 201, resp.json
    assert resp.json["priority"] == "advice"
    stored = store.cases.get(store.cases.id_for_reference(resp.json["reference"]))
    assert stored["kind"] == "callback"
    assert stored["district"] == "stevenage"
    assert stored["required_skills"] == "lang:polish"  # a language they need is required


def test_an_emergency_leads_with_999_and_alerts_the_supervisor(client, store):
    resp = post(client, "/api/v1/reports", payloads.report(happening_now=True))
    assert resp.status_code == 201
    assert resp.json["emergency"] is True
    assert resp.json["priority"] == "emergency"
    assert resp.json["next_steps"].startswith("Call 999 now")
    case_id = store.cases.id_for_reference(resp.json["reference"])
    alerts = store.redis.zrange(store.keys.open_alerts, 0, -1)
    assert len(alerts) == 1
    alert = store.redis.hgetall(store.keys.alert(alerts[0]))
    assert alert["case_id"] == case_id and alert["kind"] == "emergency_case"
    notices = [store.redis.hgetall(store.keys.notification(n))
               for n in store.redis.zrange(store.keys.notify_outbox, 0, -1)]
    assert {(n["kind"], n["recipient_type"]) for n in notices} >= {("emergency", "supervisors")}
    assert store.cases.get(case_id)["priority"] == "1"


def test_invalid_fields_get_422_naming_each_field_and_nothing_is_written(client, store):
    bad = payloads.report(reporter_role="bystander", hate_strands=[])
    del bad["what_happened"]
    resp = post(client, "/api/v1/reports", bad)
    assert resp.status_code == 422
    errors = resp.json["errors"]["json"]
    assert set(errors) == {"reporter_role", "hate_strands", "what_happened"}
    for family in ("case:*", "ref:*", "outbox", "events"):
        assert store.redis.keys(f"{store.keys.prefix}{family}") == []


def test_an_unknown_district_is_a_field_error(client):
    resp = post(client, "/api/v1/reports",
                payloads.report(incident_location={"district": "gotham"}))
    assert resp.status_code == 422
    assert "district" in resp.json["errors"]["json"]["incident_location"]


def test_an_out_of_area_postcode_is_accepted_and_routes_force_wide(client, store):
    body = payloads.report(incident_location={"postcode": "SW1A 1AA"})
    del body["home_area"]
    resp = post(client, "/api/v1/reports", body)
    assert resp.status_code == 201
    stored = store.cases.get(store.cases.id_for_reference(resp.json["reference"]))
    assert stored["district"] == "" and stored["out_of_area"] == "1"


def test_wrong_content_type_is_415(client):
    resp = client.post("/api/v1/reports", data="reporter_role=victim",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415
    assert "application/json" in resp.json["message"]


def test_a_body_over_the_limit_is_413(client, real_settings):
    body = payloads.report(what_happened="x" * (real_settings.max_body_bytes + 10))
    resp = post(client, "/api/v1/reports", body)
    assert resp.status_code == 413
    assert resp.is_json


def test_the_same_idempotency_key_and_body_return_the_same_case(client, store, publisher):
    body = payloads.report()
    first = post(client, "/api/v1/reports", body, **{"Idempotency-Key": "partner-abc-000001"})
    again = post(client, "/api/v1/reports", body, **{"Idempotency-Key": "partner-abc-000001"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json["reference"] == again.json["reference"]
    assert len(store.redis.keys(f"{store.keys.prefix}ref:*")) == 1
    assert [task for task, _ in publisher.sent].count("router.assign_case") == 1


def test_the_same_idempotency_key_with_another_body_is_409(client, store):
    key = {"Idempotency-Key": "partner-abc-000002"}
    assert post(client, "/api/v1/reports", payloads.report(), **key).status_code == 201
    other = post(client, "/api/v1/reports", payloads.report(what_happened="Something else "
                                                             "entirely happened here."), **key)
    assert other.status_code == 409
    assert len(store.redis.keys(f"{store.keys.prefix}ref:*")) == 1


def test_a_malformed_idempotency_key_is_refused(client):
    resp = post(client, "/api/v1/reports", payloads.report(), **{"Idempotency-Key": "a b"})
    assert resp.status_code == 422
    assert "Idempotency-Key" in resp.json["errors"]["headers"]


def test_a_failed_publish_still_keeps_the_case_for_the_sweeper(real_settings, store):
    app = create_app(real_settings, publisher=FakePublisher(fail=True))
    resp = post(app.test_client(), "/api/v1/reports", payloads.report())
    assert resp.status_code == 201
    case_id = store.cases.id_for_reference(resp.json["reference"])
    assert case_id in store.cases.outbox_due(now=9e12)


def test_openapi_document_describes_both_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/reports", "/api/v1/callbacks"} <= set(spec["paths"])
    report_schema = spec["components"]["schemas"]["Report"]
    assert "what_happened" in report_schema["required"]
    params = spec["paths"]["/api/v1/reports"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in params)


def test_the_document_declares_every_status_either_endpoint_answers(client):
    """A generic client reads the statuses from the document: no catch-all `default`."""
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/reports", "/api/v1/callbacks"):
        responses = spec["paths"][path]["post"]["responses"]
        assert set(responses) == {"200", "201", "400", "401", "409", "413", "415", "422",
                                  "429", "503"}  # 401: a partner key that is not valid
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["required"] is True
        for status in ("400", "409", "413", "415", "422", "429", "503"):
            assert responses[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
        example = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert post(client, path, example["example"]).status_code == 201  # the example works
    contact = spec["components"]["schemas"]["ContactProfile"]
    assert "safe_times" in contact["description"]  # the rule the schema cannot express


def test_api_docs_page_is_served_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert b"SwaggerUIBundle" in asset.get_data()


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json["redis"] == "ok"


def test_readiness_fails_when_redis_is_unreachable(tmp_path):
    settings = Settings.for_tests(redis_url="redis://127.0.0.1:1/0", var_dir=tmp_path)
    app = create_app(settings, publisher=FakePublisher())
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert app.test_client().get("/healthz").status_code == 200


def test_redis_keys_hold_no_plaintext_outside_the_sealed_field(client, store):
    post(client, "/api/v1/reports", payloads.report())
    for key in store.redis.keys("*"):
        if store.redis.type(key) == "hash":
            values = store.redis.hgetall(key)
            values.pop("sealed", None)
            assert "Sam" not in json.dumps(values)


def _schemas(client: FlaskClient) -> dict[str, dict]:
    return client.get("/api/v1/openapi.json").json["components"]["schemas"]


def test_every_property_of_every_schema_is_described(client):
    schemas = _schemas(client)
    undescribed = [f"{name}.{prop}" for name, schema in schemas.items()
                   for prop, spec in schema.get("properties", {}).items()
                   if not spec.get("description", "").strip()]
    assert undescribed == []
    assert len(schemas) >= 12  # the intake document's schemas, not an empty list


def test_every_property_example_fits_its_property(client):
    document = client.get("/api/v1/openapi.json").json
    examples = [(f"{name}.{prop}", spec) for name, schema in
                document["components"]["schemas"].items()
                for prop, spec in schema.get("properties", {}).items() if "example" in spec]
    assert len(examples) > 40
    # Each against its property's own schema, with the document's components for its $refs.
    misfits = [where for where, spec in examples if not jsonschema.Draft202012Validator(
        {**spec, "components": document["components"]}).is_valid(spec["example"])]
    assert misfits == []


def test_neither_document_has_the_unused_pagination_schema(client, real_settings, publisher):
    console = create_console_app(real_settings, publisher=publisher).test_client()
    for documented in (client, console):
        components = documented.get("/api/v1/openapi.json").json["components"]
        assert "PaginationMetadata" not in components["schemas"]
        assert "PAGINATION" not in components.get("headers", {})


# What each POST answers to its documented example: a new case, or "no such report" (the
# example reference and check code are well-formed but were never issued).
EXAMPLE_ANSWERS = {"/api/v1/reports": 201, "/api/v1/callbacks": 201, "/api/v1/status": 404}


def test_every_documented_request_example_is_accepted(client, store):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}
    assert set(posts) == set(EXAMPLE_ANSWERS)
    for path, operation in posts.items():
        example = operation["requestBody"]["content"]["application/json"]["example"]
        resp = post(client, path, example)
        assert resp.status_code == EXAMPLE_ANSWERS[path], (path, resp.json)
        if resp.status_code == 201:
            assert store.cases.id_for_reference(resp.json["reference"]) is not None
