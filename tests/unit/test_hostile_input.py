"""Hostile input at every JSON endpoint and public form: a 4xx that names the problem, never
a 500, and nothing stored that a page could not show.

Bodies: malformed, nested too deeply or with over-long numbers → 400 naming the problem; too
large → 413, also when sent chunked (no Content-Length). Text: an unpaired surrogate is refused
(422 naming the field); NUL and other control characters are removed before storing.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from shared.config import Settings
from shared.sealing import Sealer
from shared.store import Store
from tests import payloads
from tests.fakes import FakePublisher
from tests.forms import hidden_fields, report_form, report_steps, send_report
from tests.support.cases import add_staff, routed_case

DEEP = "[" * 30_000
LONG_NUMBER = '{"what_happened": ' + "1" * 5_000 + "}"


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Settings:
    """Settings whose rate limit never refuses a test (the limiter falls back to memory)."""
    return Settings.for_tests(var_dir=tmp_path, rate_limit="10000 per minute",
                              api_rate_limit="10000 per minute", redis_url="redis://127.0.0.1:1/0")


@pytest.fixture
def intake(quiet_settings: Settings, fake_store: Store, publisher: FakePublisher) -> FlaskClient:
    app = create_intake(quiet_settings, store=fake_store, publisher=publisher)
    app.testing = False  # a crash must show as the 500 a partner would get, not an exception
    return app.test_client()


@pytest.fixture
def console_app(quiet_settings: Settings, fake_store: Store, publisher: FakePublisher) -> Flask:
    app = create_console(quiet_settings, store=fake_store, publisher=publisher)
    app.testing = False
    return app


@pytest.fixture
def alex(fake_store: Store) -> dict[str, str]:
    return {"Authorization": f"Bearer {add_staff(fake_store, 'alex', 'watford')}"}


def post_raw(client: FlaskClient, path: str, body: str | bytes,
             headers: dict[str, str] | None = None) -> Any:
    return client.post(path, data=body, content_type="application/json", headers=headers)


def stored_submissions(store: Store, settings: Settings) -> list[dict[str, Any]]:
    sealer = Sealer(settings.sealing_keys)
    found = []
    for key in store.redis.keys(f"{store.keys.prefix}case:*"):
        if store.redis.type(key) == "hash" and store.redis.hget(key, "sealed"):
            found.append(sealer.unseal(store.redis.hget(key, "sealed"))["submission"])
    return found


# --- bodies the JSON parser must refuse with a 400 naming the problem ----------------------

MALFORMED = [
    pytest.param(DEEP, "nested too deeply", id="30000-deep"),
    pytest.param('{"a": ' + "[" * 200 + "]" * 200 + "}", "nested too deeply", id="200-deep"),
    pytest.param(LONG_NUMBER, "number", id="5000-digit-int"),
    pytest.param('{"a": 1.' + "5" * 5_000 + "}", "number", id="5000-digit-float"),
    pytest.param('{"a": 1e999}', "number", id="infinite-float"),
    pytest.param('{"a": NaN}', "NaN", id="nan"),
    pytest.param(b'{"a": "\xff\xfe"}', "UTF-8", id="not-utf8"),
    pytest.param('{"a": ', "not valid JSON", id="truncated"),
]


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/callbacks"])
@pytest.mark.parametrize(("body", "problem"), MALFORMED)
def test_a_hostile_body_to_intake_is_a_400_naming_the_problem(intake, fake_store, path, body,
                                                              problem):
    resp = post_raw(intake, path, body)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert problem in resp.json["message"]
    assert resp.json["errors"]["json"] == [resp.json["message"]]
    assert fake_store.redis.keys(f"{fake_store.keys.prefix}case:*") == []


@pytest.mark.parametrize(("body", "problem"), MALFORMED)
def test_a_hostile_body_to_the_console_api_is_a_400_naming_the_problem(
        console_app, alex, fake_store, quiet_settings, body, problem):
    case_id, _ = routed_case(fake_store, quiet_settings, "watford")
    resp = post_raw(console_app.test_client(), f"/api/v1/cases/{case_id}/notes", body, alex)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert problem in resp.json["message"]


def test_an_empty_body_is_still_a_422_naming_the_required_fields(intake):
    resp = post_raw(intake, "/api/v1/reports", b"")
    assert resp.status_code == 422
    assert "what_happened" in resp.json["errors"]["json"]


# --- size: 413 whether or not the client sent a Content-Length -----------------------------

def chunked(client: FlaskClient, path: str, body: bytes,
            headers: dict[str, str] | None = None) -> Any:
    """Post as a server that de-chunks (gunicorn) hands the body on: no usable length."""
    return client.post(path, input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked", **(headers or {})},
                       environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_over_the_limit_is_413_not_a_parse_error(intake, quiet_settings):
    body = json.dumps(payloads.report(what_happened="x" * quiet_settings.max_body_bytes))
    resp = chunked(intake, "/api/v1/reports", body.encode())
    assert resp.status_code == 413, resp.get_data(as_text=True)[:300]
    assert resp.is_json and resp.json["code"] == 413


def test_a_chunked_body_within_the_limit_is_accepted(intake):
    resp = chunked(intake, "/api/v1/reports", json.dumps(payloads.report()).encode())
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]


def test_a_chunked_note_over_the_limit_is_413_on_the_console_api(
        console_app, alex, fake_store, quiet_settings):
    case_id, _ = routed_case(fake_store, quiet_settings, "watford")
    body = json.dumps({"text": "x" * quiet_settings.max_body_bytes}).encode()
    resp = chunked(console_app.test_client(), f"/api/v1/cases/{case_id}/notes", body, alex)
    assert resp.status_code == 413


def test_a_chunked_form_over_the_limit_is_413_not_a_lost_csrf_token(intake, quiet_settings):
    page = intake.get("/report/what-happened").get_data(as_text=True)
    body = urlencode({**hidden_fields(page),
                      "what_happened": "x" * quiet_settings.max_body_bytes}).encode()
    resp = intake.post("/report/what-happened", input_stream=io.BytesIO(body),
                       content_type="application/x-www-form-urlencoded",
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413


# --- text that cannot be stored and shown --------------------------------------------------

SURROGATE = '"Abuse at the stop \\ud800 by the station"'  # a JSON escape of a lone surrogate


@pytest.mark.parametrize(("path", "field", "make"), [
    ("/api/v1/reports", ["what_happened"],
     lambda text: payloads.report(what_happened=text)),
    ("/api/v1/reports", ["contact", "name"],
     lambda text: payloads.report(contact=payloads.contact(name=text))),
    ("/api/v1/reports", ["suspect_description"],
     lambda text: payloads.report(suspect_description=text)),
    ("/api/v1/reports", ["contact", "email"],
     lambda text: payloads.report(contact=payloads.contact(email=f"sam@ex{text}ample.org"))),
    ("/api/v1/callbacks", ["reason"], lambda text: payloads.callback(reason=text)),
    ("/api/v1/callbacks", ["needs", "language"],
     lambda text: payloads.callback(needs={"language": text})),
])
def test_a_lone_surrogate_is_refused_naming_the_field(intake, fake_store, path, field, make):
    marker = "SURROGATE-HERE"
    body = json.dumps(make(marker)).replace(marker, SURROGATE.strip('"'))
    assert "\\ud800" in body
    resp = post_raw(intake, path, body)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    errors = resp.json["errors"]["json"]
    for part in field:
        errors = errors[part]
    assert any("surrogate" in message for message in errors), errors
    assert fake_store.redis.keys(f"{fake_store.keys.prefix}case:*") == []


def test_nul_and_control_characters_are_removed_before_the_account_is_stored(
        intake, fake_store, quiet_settings):
    account = "Abuse at the\x00 stop\x07 by the\x1b station.\r\nSecond\tline\x0bthird line\x7f"
    resp = post_raw(intake, "/api/v1/reports", json.dumps(payloads.report(
        what_happened=account, contact=payloads.contact(name="Sa\x00m\x9f"))))
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
    [stored] = stored_submissions(fake_store, quiet_settings)
    assert stored["what_happened"] == ("Abuse at the stop by the station.\r\nSecond\tline\n"
                                       "third line")
    assert stored["contact"]["name"] == "Sam"


def test_a_note_with_a_lone_surrogate_is_refused_naming_the_field(
        console_app, alex, fake_store, quiet_settings):
    case_id, _ = routed_case(fake_store, quiet_settings, "watford")
    resp = post_raw(console_app.test_client(), f"/api/v1/cases/{case_id}/notes",
                    '{"text": "Called \\udfff back"}', alex)
    assert resp.status_code == 422
    assert "surrogate" in resp.json["errors"]["json"]["text"][0]


# --- the HTML forms: the same rules, never a 500 -------------------------------------------

def submit_raw(client: FlaskClient, path: str, fields: dict[str, Any], extra: str) -> Any:
    """Post the form with `extra` appended as raw, already-encoded `name=value` pairs."""
    page = client.get(path).get_data(as_text=True)
    body = urlencode({**hidden_fields(page), **fields}, doseq=True) + "&" + extra
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded")


def test_nul_bytes_in_a_form_are_removed_before_storing(intake, fake_store, quiet_settings):
    fields = report_form()
    del fields["what_happened"], fields["contact.name"]
    # %ED%A0%80 is a surrogate as (invalid) UTF-8: the form decoder keeps such bytes as their
    # %-escapes, so no surrogate arrives by a form — and the page must not fail either way.
    raw = {"what-happened": "what_happened=Shouted%00 at me%ED%A0%80 in the street.",
           "contact": "contact.name=Al%00ex"}
    for slug, share in report_steps(fields):
        step = submit_raw(intake, f"/report/{slug}", share, raw.get(slug, ""))
        assert step.status_code == 303, step.get_data(as_text=True)[:500]
    resp = send_report(intake)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    [stored] = stored_submissions(fake_store, quiet_settings)
    assert stored["what_happened"] == "Shouted at me%ED%A0%80 in the street."
    assert stored["contact"]["name"] == "Alex"


@pytest.mark.parametrize("extra", [
    "what_happened.x=1",             # a field that is text, posted as if it were a group
    "contact.name.first=Al",
    "when=yesterday",                # a group posted as if it were text
    "contact.channels.x=email",
])
def test_form_names_that_do_not_fit_the_form_are_a_422_not_a_500(intake, extra):
    resp = submit_raw(intake, "/report/what-happened",
                      {"what_happened": report_form()["what_happened"]}, extra)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert "There is a problem" in resp.get_data(as_text=True)
