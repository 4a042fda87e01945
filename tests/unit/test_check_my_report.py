"""Check my report: a reference and its check code answer with the status only, in discreet
words; a wrong reference and a wrong code look the same; both doors are rate limited per
address and per reference; every look-up is audited; the code is shown once and kept only
as an HMAC; the acknowledgement carries it only when worded plainly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

import services.intake.checks as checks_module
from ops.devredis import free_port
from services.intake.app import create_app
from services.notifier.handlers import deliver
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain import checks, events
from shared.domain.notifications import Kind
from shared.domain.references import _check_char
from shared.store import Store
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.fakes_notifier import FakeChannel
from tests.forms import hidden_fields, report_form, send_report, walk_report

UNKNOWN = "K7XM-4QPA-" + _check_char("K7XM4QPA")  # well formed; no case has it


def intake(store: Store, **limits: str) -> Flask:
    """Intake on a fake store; its limiter counts in memory (its Redis port is closed)."""
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  api_rate_limit="1000 per minute", **limits)
    return create_app(settings, store=store, publisher=FakePublisher())


@pytest.fixture
def app(fake_store: Store) -> Flask:
    return intake(fake_store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def submit(client: FlaskClient, body: dict[str, Any] | None = None,
           **headers: str) -> dict[str, Any]:
    response = client.post("/api/v1/reports", data=json.dumps(body or canary_report()),
                           content_type="application/json", headers=headers)
    assert response.status_code == 201, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def canary_report(**overrides: Any) -> dict[str, Any]:
    overrides.setdefault("contact", payloads.contact(name=f"Sam {CANARY}"))
    return payloads.report(what_happened=f"Shouted abuse at the bus stop. {CANARY}",
                           **overrides)


def status(client: FlaskClient, reference: str, code: str) -> Any:
    return client.post("/api/v1/status", json={"reference": reference, "check_code": code})


def check_page(client: FlaskClient, reference: str, code: str) -> Any:
    fields = hidden_fields(client.get("/check").text)
    return client.post("/check", data={**fields, "reference": reference, "check_code": code})


def set_case(store: Store, reference: str, **fields: str) -> None:
    store.redis.hset(store.keys.case(store.cases.id_for_reference(reference) or ""),
                     mapping=fields)


def audit(store: Store) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit)]


def test_the_api_gives_a_check_code_once_and_keeps_only_its_hmac(client, fake_store):
    receipt = submit(client)
    code = receipt["check_code"]
    assert checks.normalise_check_code(code) == code
    case = fake_store.cases.get(fake_store.cases.id_for_reference(receipt["reference"]) or "")
    assert case is not None and len(case["check_digest"]) == 64
    everything = str({k: fake_store.redis.dump(k) for k in fake_store.redis.keys("*")})
    assert code not in everything and code.replace("-", "") not in everything


def test_a_replay_does_not_give_the_code_again(client):
    body = canary_report()
    first = submit(client, body, **{"Idempotency-Key": "replay-check-0001"})
    again = client.post("/api/v1/reports", json=body,
                        headers={"Idempotency-Key": "replay-check-0001"}).get_json()
    assert first["check_code"] and again["check_code"] is None


def test_the_right_code_answers_with_the_status_in_discreet_words(client, fake_store):
    receipt = submit(client)
    ref, code = receipt["reference"], receipt["check_code"]
    first_update = datetime.fromtimestamp(  # standard Victims' Code schedule: within 5 days
        float(fake_store.cases.get(fake_store.cases.id_for_reference(ref) or "")
              ["created_at"]) + 5 * 86400, UTC).astimezone(ZoneInfo("Europe/London")).date()
    assert status(client, ref, code).get_json() == {"status": "received",
                                                    "next_update_by": first_update.isoformat()}
    set_case(fake_store, ref, state="accepted")
    assert status(client, ref, code.lower().replace("-", " ")).get_json()["status"] == \
        "with a liaison officer"
    set_case(fake_store, ref, state="contacted", first_contact_at="1")
    assert status(client, ref, code).get_json()["status"] == "an officer has been in touch"
    set_case(fake_store, ref, state="offered")   # reassigned: never goes backwards
    assert status(client, ref, code).get_json()["status"] == "an officer has been in touch"
    set_case(fake_store, ref, state="closed")
    assert status(client, ref, code).get_json() == {"status": "closed",
                                                    "next_update_by": None}


def test_the_next_update_date_is_given_when_the_case_has_one(client, fake_store):
    receipt = submit(client)
    noon = datetime(2026, 12, 14, 12, 0, tzinfo=UTC).timestamp()
    set_case(fake_store, receipt["reference"], next_update_at=str(noon))
    answer = status(client, receipt["reference"], receipt["check_code"]).get_json()
    assert answer == {"status": "received", "next_update_by": "2026-12-14"}


def test_an_erased_case_answers_closed(client, fake_store):
    receipt = submit(client)
    set_case(fake_store, receipt["reference"], state="closed", erased_at="1")
    fake_store.redis.hdel(fake_store.keys.case(
        fake_store.cases.id_for_reference(receipt["reference"]) or ""), "sealed")
    assert status(client, receipt["reference"], receipt["check_code"]).get_json()["status"] \
        == "closed"


def test_a_wrong_code_and_a_wrong_reference_get_the_same_answer(client):
    receipt = submit(client)
    other = submit(client)
    wrong_code = status(client, receipt["reference"], other["check_code"])
    unknown_ref = status(client, UNKNOWN if receipt["reference"] != UNKNOWN
                         else other["reference"], receipt["check_code"])
    assert wrong_code.status_code == unknown_ref.status_code == 404
    assert wrong_code.data == unknown_ref.data
    fields = hidden_fields(client.get("/check").text)
    pages = [client.post("/check", data={**fields, "reference": ref, "check_code": code})
             for ref, code in ((receipt["reference"], other["check_code"]),
                               (UNKNOWN, receipt["check_code"]))]
    assert [p.status_code for p in pages] == [404, 404]
    assert pages[0].text.replace(receipt["reference"], "REF") == \
        pages[1].text.replace(UNKNOWN, "REF")


def test_the_code_is_compared_in_constant_time(client, monkeypatch):
    calls: list[tuple[str, str]] = []
    real = checks_module.compare_digest

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(checks_module, "compare_digest", recording)
    receipt = submit(client)
    status(client, receipt["reference"], receipt["check_code"])
    status(client, UNKNOWN, receipt["check_code"])   # unknown: compared all the same
    assert len(calls) == 2 and all(len(a) == len(b) == 64 for a, b in calls)


def test_no_name_district_or_account_is_in_any_answer(client):
    receipt = submit(client)
    for response in (status(client, receipt["reference"], receipt["check_code"]),
                     check_page(client, receipt["reference"], receipt["check_code"])):
        assert response.status_code == 200
        for secret in (CANARY, "Sam", "Watford", "watford", "st_albans", "St Albans",
                       "bus stop"):
            assert secret not in response.text


def test_the_page_shows_the_status_and_names_fields_with_errors(client):
    receipt = submit(client)
    ok = check_page(client, receipt["reference"], receipt["check_code"].lower())
    assert ok.status_code == 200 and 'id="status-words">Received<' in ok.text
    assert ok.headers["Cache-Control"] == "no-store"
    blank = check_page(client, "", "")
    assert blank.status_code == 422
    assert 'href="#reference"' in blank.text and 'href="#check-code"' in blank.text
    assert "Enter your reference." in blank.text and "Enter your check code." in blank.text
    wrong = check_page(client, receipt["reference"], "AAAAA-AAAAA")
    assert wrong.status_code == 404 and 'href="#reference"' in wrong.text
    assert "AAAAA-AAAAA" not in wrong.text          # the typed code is never shown back
    assert receipt["reference"] in wrong.text       # the reference is, to correct it
    assert 'id="quick-exit"' in wrong.text and "error-summary" in wrong.text


def test_malformed_input_is_a_field_error_not_a_lookup(client, fake_store):
    bad = status(client, "nonsense", "x")
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["json"]) == {"reference", "check_code"}
    extra = client.post("/api/v1/status", json={"reference": UNKNOWN,
                                                "check_code": "AAAAA-AAAAA", "name": "x"})
    assert extra.status_code == 422
    assert audit(fake_store) == []


def test_every_lookup_is_audited_without_the_typed_code(client, fake_store):
    receipt = submit(client)
    case_id = fake_store.cases.id_for_reference(receipt["reference"])
    status(client, receipt["reference"], receipt["check_code"])
    check_page(client, receipt["reference"], "AAAAA-AAAAA")
    status(client, UNKNOWN, "BBBBB-BBBBB")
    trail = [e for e in audit(fake_store) if e["type"] != events.CASE_COLLECTED]
    assert [(e["type"], e["case_id"], e["via"], e.get("what"), e.get("reason"))
            for e in trail] == [
        (events.DATA_DISCLOSED, case_id, "intake-api", "status", None),
        (events.CASE_ACCESS_REFUSED, case_id, "intake-check", None, "wrong_code"),
        (events.CASE_ACCESS_REFUSED, "", "intake-api", None, "unknown_reference")]
    text = str(trail)
    assert "AAAAA" not in text and "BBBBB" not in text and receipt["check_code"] not in text


def test_lookups_are_limited_per_address(fake_store):
    app = intake(fake_store, check_rate_limit="3 per minute")
    client = app.test_client()
    receipt = submit(client)
    codes = [status(client, receipt["reference"], receipt["check_code"]).status_code
             for _ in range(3)]
    page = check_page(client, receipt["reference"], receipt["check_code"])
    assert codes == [200, 200, 200]
    assert page.status_code == 429 and "Too many attempts" in page.text  # shared by both doors
    other = app.test_client()
    assert other.post("/api/v1/status", json={
        "reference": receipt["reference"], "check_code": receipt["check_code"]},
        environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


def test_wrong_guesses_are_limited_per_reference_from_any_address(fake_store):
    app = intake(fake_store, check_reference_limit="3 per hour")
    client = app.test_client()
    receipt = submit(client)
    other = submit(client)
    ref = receipt["reference"]
    guesses = [client.post("/api/v1/status", json={"reference": ref, "check_code": code},
                           environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
               for i, code in enumerate(["AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC",
                                         receipt["check_code"]])]
    assert guesses == [404, 404, 404, 429]
    assert status(client, other["reference"], other["check_code"]).status_code == 200


def test_the_confirmation_page_shows_the_code_once(client, fake_store):
    first = walk_report(client, report_form())
    reload = send_report(client)  # the same draft sent again
    assert first.status_code == reload.status_code == 200
    assert 'id="check-code"' in first.text and first.headers["Cache-Control"] == "no-store"
    assert 'id="check-code"' not in reload.text and "cannot show it again" in reload.text


def test_an_anonymous_report_gets_a_check_code_too(client):
    body = payloads.report(anonymous=True, consent_to_contact=False)
    body.pop("contact")
    receipt = submit(client, body)
    assert status(client, receipt["reference"], receipt["check_code"]).status_code == 200


# --- the acknowledgement -----------------------------------------------------------------

def acknowledge(app: Flask, store: Store, contact: dict[str, Any]) -> tuple[str, str, Any]:
    """Submit through the API, then let the notifier send the acknowledgement now."""
    receipt = submit(app.test_client(), canary_report(contact=contact))
    [nid] = [n for n in store.redis.zrange(store.keys.notify_outbox, 0, -1)
             if (store.notifications.get(n) or {}).get("kind") == Kind.REPORTER_ACK.value]
    email = FakeChannel("email")
    deps = bootstrap(app.extensions["liaison_settings"], store=store,
                     publisher=FakePublisher(), channels={"email": email})
    assert deliver(nid, deps) == "sent"
    [(_, message)] = email.delivered
    assert "sealed_code" not in (store.notifications.get(nid) or {})  # gone once sent
    return receipt["check_code"], nid, message


def test_a_plain_acknowledgement_carries_the_check_code(app, fake_store):
    code, _, message = acknowledge(app, fake_store, payloads.contact(
        channels=["email"], any_time=True, discreet=False, shared_device=False))
    assert code in message.body and "Check my report" in message.body


@pytest.mark.parametrize("profile", [{"discreet": True, "shared_device": False},
                                     {"discreet": False, "shared_device": True}])
def test_a_discreet_acknowledgement_never_carries_it(app, fake_store, profile):
    code, nid, message = acknowledge(app, fake_store, payloads.contact(
        channels=["email"], any_time=True, **profile))
    assert code not in message.body and code not in message.subject
    assert "check" not in message.body.lower()
