"""The public HTML pages through the Flask test client, on a real redis-server."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.intake.app import create_app
from shared.config import Settings
from tests.fakes import FakePublisher
from tests.forms import callback_form, hidden_fields, report_form

pytestmark = pytest.mark.integration


@pytest.fixture
def app(real_settings: Settings) -> Flask:
    return create_app(real_settings, publisher=FakePublisher())


def submit(client: FlaskClient, path: str, fields: dict):
    hidden = hidden_fields(client.get(path).get_data(as_text=True))
    return client.post(path, data={**hidden, **fields})


def test_the_start_page_says_call_999_and_links_both_forms(client):
    html = client.get("/").get_data(as_text=True)
    assert "In an emergency or if a crime is happening now, call 999 (text relay 18000)" in html
    assert 'href="/report"' in html and 'href="/callback"' in html


@pytest.mark.parametrize("path", ["/", "/report", "/callback"])
def test_every_page_has_a_quick_exit_and_strict_headers(client, path):
    resp = client.get(path)
    html = resp.get_data(as_text=True)
    assert 'id="quick-exit"' in html and "quick-exit.js" in html
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<script>" not in html  # no inline script anywhere


def test_a_report_form_shows_the_reference_and_next_steps(client, store):
    resp = submit(client, "/report", report_form())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert 'id="reference"' in html
    reference = html.split('id="reference">')[1].split("<")[0]
    case_id = store.cases.id_for_reference(reference)
    assert store.cases.get(case_id)["district"] == "st_albans"
    assert "What happens next" in html


def test_a_callback_form_is_stored(client, store):
    resp = submit(client, "/callback", callback_form())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    reference = html.split('id="reference">')[1].split("<")[0]
    assert store.cases.get(store.cases.id_for_reference(reference))["district"] == "dacorum"


def test_errors_show_beside_each_field_and_keep_the_input(client, store):
    fields = report_form(**{"what_happened": "Too short", "contact.email": "not-an-email",
                            "hate_strands": None})
    resp = submit(client, "/report", fields)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "There is a problem" in html
    assert 'id="what-happened-error"' in html and ">Too short</textarea>" in html
    assert 'id="contact-email-error"' in html and 'value="not-an-email"' in html
    assert 'id="hate-strands-error"' in html
    assert 'value="Most evenings since September"' in html  # untouched fields kept too
    assert store.redis.keys(f"{store.keys.prefix}case:*") == []


def test_an_anonymous_report_ignores_contact_fields(client, store):
    resp = submit(client, "/report", report_form(anonymous="on", consent_to_contact=None))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "anonymous" in html
    reference = html.split('id="reference">')[1].split("<")[0]
    stored = store.cases.get(store.cases.id_for_reference(reference))
    assert stored["anonymous"] == "1" and stored["contactable"] == "0"


def test_an_emergency_report_page_leads_with_call_999(client):
    resp = submit(client, "/report", report_form(in_danger="on"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.index("Call 999 now") < html.index('id="reference"')


def test_sending_the_same_form_twice_makes_one_case(client, store):
    page = client.get("/report").get_data(as_text=True)
    fields = {**hidden_fields(page), **report_form()}
    first = client.post("/report", data=fields).get_data(as_text=True)
    second = client.post("/report", data=fields).get_data(as_text=True)
    ref = first.split('id="reference">')[1].split("<")[0]
    assert ref == second.split('id="reference">')[1].split("<")[0]
    assert len(store.redis.keys(f"{store.keys.prefix}ref:*")) == 1


def test_a_form_post_without_a_csrf_token_is_refused_but_keeps_the_text(client, store):
    resp = client.post("/report", data=report_form())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "send it again" in html
    assert "A neighbour keeps shouting" in html
    assert store.redis.keys(f"{store.keys.prefix}case:*") == []


def test_unknown_page_is_an_html_404(client):
    resp = client.get("/nope")
    assert resp.status_code == 404 and "Page not found" in resp.get_data(as_text=True)
