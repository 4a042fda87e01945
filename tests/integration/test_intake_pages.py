"""The public HTML pages through the Flask test client, on a real redis-server."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.intake.app import create_app
from shared.config import Settings
from tests.fakes import FakePublisher
from tests.forms import (
    callback_form,
    callback_steps,
    hidden_fields,
    report_form,
    send_report,
    walk_callback,
    walk_report,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def app(real_settings: Settings) -> Flask:
    return create_app(real_settings, publisher=FakePublisher())


def submit(client: FlaskClient, path: str, fields: dict):
    hidden = hidden_fields(client.get(path).get_data(as_text=True))
    return client.post(path, data={**hidden, **fields})


def reference_in(html: str) -> str:
    return html.split('id="reference">')[1].split("<")[0]


def test_the_start_page_says_call_999_once_names_the_force_and_links_both_forms(client):
    html = client.get("/").get_data(as_text=True)
    assert "In an emergency or if a crime is happening now, call 999 (text relay 18000)" in html
    assert html.count("999") == 1
    assert "Hertfordshire Constabulary" in html
    assert 'href="/report"' in html and 'href="/callback"' in html


@pytest.mark.parametrize("path", ["/", "/report/what-happened", "/callback/safety"])
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


def test_a_stepped_report_shows_the_reference_next_steps_and_support(client, store):
    resp = walk_report(client, report_form())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    case_id = store.cases.id_for_reference(reference_in(html))
    assert store.cases.get(case_id)["district"] == "st_albans"
    assert "What happens next" in html
    assert "Galop" in html and "Victim Support" in html  # discreet: only neutral services
    assert "Stop Hate UK" not in html


def test_a_stepped_callback_request_is_stored(client, store):
    resp = walk_callback(client, callback_form())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert store.cases.get(store.cases.id_for_reference(reference_in(html)))["district"] == \
        "dacorum"
    assert "Request sent" in html and "Where to get support" in html and "Stop Hate UK" in html
    assert len(store.redis.keys(f"{store.keys.prefix}ref:*")) == 1


def test_every_callback_step_has_a_quick_exit_a_back_link_and_no_store(client):
    token = hidden_fields(client.get("/callback/safety").get_data(as_text=True))["csrf_token"]
    for slug, share in callback_steps(callback_form()):
        resp = client.get(f"/callback/{slug}")
        html = resp.get_data(as_text=True)
        assert 'id="quick-exit"' in html and 'class="back-link"' in html, slug
        assert resp.headers["Cache-Control"] == "no-store"
        client.post(f"/callback/{slug}", data={"csrf_token": token, **share})
    check = client.get("/callback/check-your-answers")
    assert 'id="quick-exit"' in check.get_data(as_text=True)


def test_the_callback_draft_waits_sealed_in_redis_for_the_draft_ttl(client, store,
                                                                    real_settings):
    walk_callback(client, callback_form(**{"contact.name": "Kestrel"}), send=False)
    [key] = store.redis.keys(f"{store.keys.prefix}draft:*")
    assert "Kestrel" not in store.redis.get(key)
    assert 0 < store.redis.ttl(key) <= real_settings.draft_ttl


def test_an_empty_callback_step_is_sent_back_with_every_error_at_once(client, store):
    walk_callback(client, callback_form(), send=False)
    resp = submit(client, "/callback/contact", {})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and html.count('class="field-error"') == 5
    assert store.redis.keys(f"{store.keys.prefix}case:*") == []


def test_errors_show_beside_each_field_and_keep_the_input(client, store):
    resp = walk_report(client, report_form(what_happened="Too short"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "There is a problem" in html
    assert 'id="what-happened-error"' in html and ">Too short</textarea>" in html
    assert "What happened must be between 10 and 20,000 characters" in html
    assert store.redis.keys(f"{store.keys.prefix}case:*") == []


def test_an_anonymous_report_skips_the_contact_step(client, store):
    resp = walk_report(client, report_form(anonymous="yes", consent_to_contact=None))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "anonymous" in html
    stored = store.cases.get(store.cases.id_for_reference(reference_in(html)))
    assert stored["anonymous"] == "1" and stored["contactable"] == "0"


def test_an_emergency_report_page_leads_with_call_999(client):
    resp = walk_report(client, report_form(in_danger="on"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    main = html[html.index("<main"):]
    assert main.index("Call 999 now") < main.index("Report sent") < main.index('id="reference"')
    assert "emergency-banner" not in html  # 999 is the callout, not a banner above it


def test_sending_the_same_draft_twice_makes_one_case(client, store):
    first = walk_report(client, report_form()).get_data(as_text=True)
    second = send_report(client).get_data(as_text=True)
    assert reference_in(first) == reference_in(second)
    assert len(store.redis.keys(f"{store.keys.prefix}ref:*")) == 1


def test_a_step_posted_without_a_csrf_token_is_refused_but_keeps_the_text(client, store):
    resp = client.post("/report/what-happened",
                       data={"what_happened": "A neighbour keeps shouting at me."})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "send it again" in html
    assert "A neighbour keeps shouting" in html
    assert store.redis.keys(f"{store.keys.prefix}draft:*") == []


def test_unknown_page_is_an_html_404(client):
    resp = client.get("/nope")
    assert resp.status_code == 404 and "Page not found" in resp.get_data(as_text=True)
