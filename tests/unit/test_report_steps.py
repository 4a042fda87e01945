"""The stepped report form through the Flask test client, on a fake store: the sealed draft,
its TTL, the journey's back links and progress, check your answers, one case per draft,
the GOV.UK error messages, the 999 gate (the callback request's steps: test_callback_steps)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import free_port
from services.intake.app import create_app
from services.intake.report import STEPS
from shared.config import Settings
from shared.store import Store
from tests.fakes import FakePublisher
from tests.forms import (
    decoded_session,
    error_summary,
    hidden_fields,
    report_form,
    report_steps,
    send_report,
    walk_report,
)
from tests.support.cases import CANARY


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_tests(var_dir=tmp_path, rate_limit="10000 per minute",
                              redis_url=f"redis://127.0.0.1:{free_port()}/0", draft_ttl=1800)


@pytest.fixture
def app(settings: Settings, fake_store: Store, publisher: FakePublisher) -> Flask:
    return create_app(settings, store=fake_store, publisher=publisher)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token(client: FlaskClient) -> str:
    return hidden_fields(client.get("/report/what-happened").text)["csrf_token"]


def post(client: FlaskClient, slug: str, **fields: object):
    return client.post(f"/report/{slug}", data={"csrf_token": token(client), **fields})


summary = error_summary


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("liaison_intake")
    return cookie.value if cookie else ""


# --- the draft ------------------------------------------------------------------------------

def test_the_draft_is_sealed_in_redis_and_never_in_the_url_or_the_cookie(client, fake_store):
    fields = report_form(**{"what_happened": f"They shouted {CANARY} at me.",
                            "contact.name": f"Sam {CANARY}"})
    locations = []
    for slug, share in report_steps(fields):
        resp = post(client, slug, **share)
        assert resp.status_code == 303, resp.text[:500]
        locations.append(resp.headers["Location"])
    [key] = fake_store.redis.keys("test:draft:*")
    stored = fake_store.redis.get(key)
    assert CANARY not in stored and "shouted" not in stored
    assert not any(CANARY in url or "shouted" in url for url in locations)
    cookie = session_cookie(client)
    assert CANARY not in decoded_session(cookie) and "report_draft" in decoded_session(cookie)
    assert key.endswith(":" + re.search(r'"report_draft":"([^"]+)"',
                                        decoded_session(cookie))[1])


def test_the_draft_lives_for_the_draft_ttl_from_the_last_step(client, fake_store, settings):
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    [key] = fake_store.redis.keys("test:draft:*")
    assert settings.draft_ttl - 5 <= fake_store.redis.ttl(key) <= settings.draft_ttl


def test_an_expired_draft_starts_again_with_a_message(client, fake_store):
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    for key in fake_store.redis.keys("test:draft:*"):
        fake_store.redis.delete(key)  # what the TTL does
    resp = client.get("/report/when-and-where")
    assert resp.status_code == 303 and "/report/what-happened" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).text
    assert "Your answers were deleted" in page and "Someone spat" not in page


def test_exit_this_page_forgets_the_draft(client, fake_store):
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    assert fake_store.redis.keys("test:draft:*")
    assert client.post("/exit").status_code == 204
    assert fake_store.redis.keys("test:draft:*") == []
    assert "report_draft" not in decoded_session(session_cookie(client))


# --- the journey ----------------------------------------------------------------------------

def test_each_step_says_where_it_is_and_links_back(client):
    fields = report_form()
    backs = []
    for number, (slug, share) in enumerate(report_steps(fields), start=1):
        page = client.get(f"/report/{slug}").text
        assert f"Step {number} of 6" in page
        backs.append(re.search(r'class="back-link" href="([^"]+)"', page)[1])
        post(client, slug, **share)
    assert backs == ["/", *(f"/report/{step.slug}" for step in STEPS[:-1])]
    check = client.get("/report/check-your-answers").text
    assert "Step 6 of 6" in check and 'class="back-link" href="/report/contact"' in check


def test_an_anonymous_report_skips_the_contact_step_both_ways(client):
    fields = report_form(anonymous="yes")
    for slug, share in report_steps(fields)[:-1]:
        post(client, slug, **share)
    resp = post(client, "about-you", **report_steps(fields)[-1][1])
    assert resp.headers["Location"].endswith("/report/check-your-answers")
    check = client.get("/report/check-your-answers").text
    assert 'class="back-link" href="/report/about-you"' in check
    assert "Name to use" not in check


def test_check_your_answers_shows_every_answer_with_a_change_link(client):
    walk_report(client, report_form(**{"when-date-day": "3", "when-date-month": "11",
                                       "when-date-year": "2026"}), send=False)
    page = client.get("/report/check-your-answers").text
    for shown in ("A neighbour keeps shouting transphobic slurs", "3 November 2026",
                  "AL1 3JX", "Transgender identity", "It happened to me", "Alex",
                  "Weekday evenings 5pm to 9pm", "St Albans"):
        assert shown in page, shown
    assert 'href="/report/why?change=1"' in page
    # a change goes back to check your answers, not through the rest of the journey
    resp = client.post("/report/why?change=1", data={"csrf_token": token(client),
                                                      "hate_strands": ["race"]})
    assert resp.headers["Location"].endswith("/report/check-your-answers")


def test_a_draft_sent_twice_makes_one_case(client, fake_store, publisher):
    first = walk_report(client, report_form())
    again = send_report(client)
    assert first.status_code == again.status_code == 200
    ref = re.search(r'id="reference">([^<]+)', first.text)[1]
    assert re.search(r'id="reference">([^<]+)', again.text)[1] == ref
    assert len(fake_store.redis.keys("test:ref:*")) == 1


def test_not_sure_why_is_a_report_with_no_strand(client, fake_store):
    resp = walk_report(client, report_form(hate_strands=["not_sure"]))
    assert resp.status_code == 200, resp.text[:500]
    ref = re.search(r'id="reference">([^<]+)', resp.text)[1]
    assert fake_store.cases.get(fake_store.cases.id_for_reference(ref))["strands"] == ""


def test_the_risk_questions_are_radios_with_not_sure_and_rate_the_case(client, fake_store):
    page = client.get("/report/what-happened").text
    for name in ("fear-for-safety", "vulnerable"):
        for value in ("yes", "no", "not-sure"):
            assert f'id="{name}-{value}"' in page and 'type="radio"' in page
    resp = walk_report(client, report_form(fear_for_safety="yes", vulnerable="not_sure"))
    assert resp.status_code == 200, resp.text[:500]
    ref = re.search(r'id="reference">([^<]+)', resp.text)[1]
    case = fake_store.cases.get(fake_store.cases.id_for_reference(ref))
    assert case["risk"] == "high"  # fears for safety and targeted before (repeat_incident)
    assert case["priority"] == "2"  # high (targeted before): a raise stops at high


def test_check_your_answers_shows_the_risk_answers(client):
    page = walk_report(client, report_form(fear_for_safety="no", vulnerable="not_sure"),
                       send=False).text
    assert "Do you fear for your safety?" in page and "Not sure" in page


# --- errors ---------------------------------------------------------------------------------

def test_errors_name_the_question_in_page_order_and_link_to_its_first_input(client):
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    post(client, "when-and-where", **{"when.description": "Last Friday",
                                       "incident_location.online": "on"})
    post(client, "why", hate_strands=["race"])
    post(client, "about-you", reporter_role="victim", anonymous="no")
    resp = post(client, "contact", consent_to_contact="yes", **{"contact.email": "x"})
    assert resp.status_code == 422
    links = summary(resp.text)
    assert links == [
        ("contact-name", "Enter the name we should use for you"),
        ("contact-channels-phone", "Select at least one way it is safe to contact you"),
        ("contact-email", "Enter an email address in the correct format, like "
                          "name@example.com"),
        ("contact-voicemail-ok-yes", "Select yes if it is safe to leave you a voicemail"),
        ("contact-shared-device-yes", "Select yes if anyone else uses or sees your phone or "
                                      "email"),
        ("contact-discreet-yes", 'Select yes if our messages should avoid words like "police"'),
    ]
    for anchor, _ in links:  # each anchor is an input, never a fieldset or nothing
        assert re.search(rf'<input[^>]* id="{anchor}"', resp.text), anchor
    assert resp.text.count('class="field-error"') == len(links)


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "Select at least one reason why you think it happened, or select 'Not sure'"),
    ({"hate_strands": ["race", "not_sure"]},
     "Select the reasons why you think it happened, or select 'Not sure', not both"),
])
def test_why_needs_a_reason_or_not_sure(client, fields, message):
    resp = post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    resp = post(client, "why", **fields)
    assert resp.status_code == 422
    assert summary(resp.text) == [("hate-strands-sexual-orientation", message)]
    assert re.search(r'<input[^>]* id="hate-strands-sexual-orientation"', resp.text)


@pytest.mark.parametrize(("parts", "message"), [
    (("3", "11", ""), "Date it happened must include a year"),
    (("", "11", ""), "Date it happened must include a day and year"),
    (("31", "2", "2026"), "Date it happened must be a real date"),
    (("1", "1", "2999"), "Date it happened must be today or in the past"),
    (("", "", ""), "Enter the date it happened, or describe when"),
])
def test_dates_are_day_month_year_with_specific_errors(client, parts, message):
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    resp = post(client, "when-and-where", **dict(zip(
        ("when-date-day", "when-date-month", "when-date-year"), parts, strict=True)),
        **{"incident_location.postcode": "AL1 3JX"})
    assert resp.status_code == 422
    assert summary(resp.text) == [("when-date-day", message)]


def test_when_and_where_say_what_is_needed_and_nothing_calls_the_required_optional(client):
    page = client.get("/report/what-happened")
    post(client, "what-happened", what_happened="Someone spat at me on the bus.")
    page = client.get("/report/when-and-where").text
    assert "When did it happen?" in page and "Where did it happen?" in page
    optional = re.findall(r'for="([^"]+)">[^<]*<span class="optional">', page)
    assert optional == ["when-time", "incident-location-description"]
    resp = post(client, "when-and-where", **{"when.description": "Last Friday"})
    assert summary(resp.text) == [(
        "incident-location-postcode", "Enter the postcode or choose the area where it "
                                      "happened, or select 'It happened online'")]


def test_a_step_refuses_a_name_it_does_not_ask(client, fake_store):
    resp = post(client, "why", hate_strands=["race"], what_happened="sneaked in")
    assert resp.status_code == 422 and "This is not a field of this form" in resp.text
    assert fake_store.redis.keys("test:draft:*") == []


# --- the 999 gate ---------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["happening_now", "in_danger"])
def test_danger_on_the_first_page_says_call_999_before_anything_else(client, flag):
    resp = post(client, "what-happened", what_happened="They are outside my door now.",
                **{flag: "on"})
    assert resp.headers["Location"].endswith("/report/call-999")
    page = client.get("/report/call-999").text
    main = page[page.index("<main"):]
    assert main.index("Call 999 now") < main.index("press 55")
    assert 'href="/report/when-and-where"' in page  # and the report can go on afterwards


def test_the_first_page_asks_about_danger_first(client):
    page = client.get("/report/what-happened").text
    assert page.index("Is it happening now, or is anyone in danger?") < \
        page.index("What happened?")


# --- neutral titles -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/report/what-happened", "/callback/safety", "/check"])
def test_page_titles_do_not_name_the_subject(client, path):
    title = re.search(r"<title>([^<]*)</title>", client.get(path).text)[1]
    assert title.endswith("Get help")
    assert not any(word in title.lower() for word in ("hate", "lgbt", "police", "crime"))
