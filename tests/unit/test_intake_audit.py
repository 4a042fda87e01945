"""Collection at intake is audited (DPA 2018 s.62): `CaseCollected` names the case, its
kind and the door it came in by (`intake-form` or `intake-api`) — never the submission — and
a replayed submission (same Idempotency-Key) collects nothing new, so adds no entry."""

from __future__ import annotations

import json

from flask import Flask

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.domain import events
from shared.store import Store
from tests import payloads
from tests.fakes import FakePublisher
from tests.forms import report_form, walk_report


def intake(fake_store: Store, publisher: FakePublisher) -> Flask:
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  api_rate_limit="1000 per minute")
    return create_app(settings, store=fake_store, publisher=publisher)


def collected(store: Store) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit)
            if f["type"] == events.CASE_COLLECTED]


def test_the_api_and_the_form_each_audit_a_collection_once(fake_store: Store,
                                                           publisher: FakePublisher):
    app = intake(fake_store, publisher)
    body = payloads.report()
    with app.test_client() as client:
        first = client.post("/api/v1/reports", data=json.dumps(body),
                            content_type="application/json",
                            headers={"Idempotency-Key": "partner-audit-0001"})
        again = client.post("/api/v1/reports", data=json.dumps(body),
                            content_type="application/json",
                            headers={"Idempotency-Key": "partner-audit-0001"})
        form = walk_report(client, report_form())
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert form.status_code == 200
    entries = collected(fake_store)
    assert [(e["case_id"], e["kind"], e["via"], e["by"]) for e in entries] == [
        (fake_store.cases.id_for_reference(first.get_json()["reference"]), "report",
         "intake-api", "public"),
        (entries[1]["case_id"], "report", "intake-form", "public")]
    assert entries[1]["case_id"] != entries[0]["case_id"]
    assert fake_store.cases.get(entries[1]["case_id"]) is not None
    audit = str(fake_store.redis.xrange(fake_store.keys.audit))
    assert body["what_happened"] not in audit
