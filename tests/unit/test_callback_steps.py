"""The stepped callback request through the Flask test client, on a fake store: safety
first (the 999 gate), progress and Back links, each step's errors (all at once, naming the
question, in page order, linking to its first input), the sealed draft, check your
answers, and a case identical to the one the API makes from the same answers."""

from __future__ import annotations

import re
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.domain.model import TIME_PRESETS
from shared.sealing import Sealer
from shared.store import Store
from tests.fakes import FakePublisher
from tests.forms import (
    callback_form,
    callback_steps,
    decoded_session,
    error_summary,
    hidden_fields,
    walk_callback,
)
from tests.support.cases import CANARY

BACK = re.compile(r'class="back-link" href="([^"]+)"')
TITLE = re.compile(r"<title>([^<]*)</title>")


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


def post(client: FlaskClient, slug: str, **fields: object):
    token = hidden_fields(client.get("/callback/safety").text)["csrf_token"]
    return client.post(f"/callback/{slug}", data={"csrf_token": token, **fields})


def fill(client: FlaskClient, upto: str, **overrides: object) -> None:
    """Answer the steps before `upto` with a valid request."""
    for slug, share in callback_steps(callback_form(**overrides)):
        if slug == upto:
            return
        assert post(client, slug, **share).status_code == 303


def assert_anchors_are_inputs(html: str, links: list[tuple[str, str]]) -> None:
    for anchor, _ in links:  # each link goes to an input, never a fieldset or nothing
        assert re.search(rf'<input[^>]* id="{anchor}"', html), anchor
    assert html.count('class="field-error"') == len(links)
    assert not any(text.endswith(".") for _, text in links)


# --- the journey ----------------------------------------------------------------------------

def test_the_start_page_and_callback_lead_to_the_first_step(client):
    assert 'href="/callback"' in client.get("/").text
    resp = client.get("/callback")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/callback/safety")


def test_each_step_says_where_it_is_links_back_and_has_a_neutral_title(client):
    backs, titles = [], []
    for number, (slug, share) in enumerate(callback_steps(callback_form()), start=1):
        page = client.get(f"/callback/{slug}").text
        assert f"Step {number} of 4" in page and 'id="quick-exit"' in page
        backs.append(BACK.search(page)[1])
        titles.append(TITLE.search(page)[1])
        assert post(client, slug, **share).status_code == 303
    check = client.get("/callback/check-your-answers").text
    assert "Step 4 of 4" in check and BACK.search(check)[1] == "/callback/contact"
    assert backs == ["/", "/callback/safety", "/callback/your-request"]
    assert titles == [f"Step {n} of 4 – Get help" for n in (1, 2, 3)]
    assert TITLE.search(check)[1] == "Step 4 of 4 – Get help"


def test_the_first_step_asks_about_danger_and_nothing_else(client):
    page = client.get("/callback/safety").text
    assert "Are you in danger now?" in page and "call 999 now" in page
    assert re.findall(r'<input[^>]* name="([^"]+)"', page) == [
        "csrf_token", "in_danger", "in_danger"]


def test_danger_on_the_first_step_says_call_999_and_the_request_can_go_on(client):
    resp = post(client, "safety", in_danger="yes")
    assert resp.headers["Location"].endswith("/callback/call-999")
    page = client.get("/callback/call-999").text
    main = page[page.index("<main"):]
    assert main.index("Call 999 now") < main.index("press 55")
    assert 'href="/callback/your-request"' in page and "Continue with the request" in page
    assert BACK.search(page)[1] == "/callback/safety"
    assert post(client, "safety", in_danger="no").headers["Location"].endswith(
        "/callback/your-request")


def test_check_your_answers_shows_every_answer_with_a_change_link(client):
    page = walk_callback(client, callback_form(**{
        "needs.language": "polish", "needs.bsl_interpreter": "on"}), send=False).text
    for shown in ("Are you in danger now?", "HP1 1AA", "Advice about online harassment.",
                  "Weekends 9am to 5pm", "Polish", "British Sign Language interpreter",
                  "Jo", "Phone call", "07700 900456", "Any time", "Send request"):
        assert shown in page, shown
    for slug in ("safety", "your-request", "contact"):
        assert f'href="/callback/{slug}?change=1"' in page
    # a change goes back to check your answers, not through the rest of the journey
    resp = client.post("/callback/your-request?change=1", data={
        "csrf_token": hidden_fields(page)["csrf_token"], "home_area.district": "watford"})
    assert resp.headers["Location"].endswith("/callback/check-your-answers")


def test_check_your_answers_sends_an_unfinished_request_to_its_first_unanswered_step(client):
    fill(client, "contact")
    resp = client.get("/callback/check-your-answers")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/callback/contact")


def test_a_request_sent_twice_makes_one_case(client, fake_store):
    first = walk_callback(client, callback_form())
    token = hidden_fields(client.get("/callback/safety").text)["csrf_token"]
    again = client.post("/callback/check-your-answers", data={"csrf_token": token})
    assert first.status_code == again.status_code == 200, first.text[:500]
    assert re.search(r'id="reference">([^<]+)', first.text)[1] == \
        re.search(r'id="reference">([^<]+)', again.text)[1]
    assert len(fake_store.redis.keys("test:ref:*")) == 1


# the API's JSON for `callback_form()`'s answers
API_EQUIVALENT = {
    "in_danger": False,
    "contact": {"name": "Jo", "channels": ["phone"], "phone": "07700 900456",
                "any_time": True, "voicemail_ok": True, "shared_device": False,
                "discreet": False},
    "home_area": {"postcode": "HP1 1AA"},
    "reason": "Advice about online harassment.",
    "preferred_times": [TIME_PRESETS["weekend_daytime"]],
}
# what differs between any two cases: who they are, when, and their seals' random nonces
VOLATILE = {"id", "reference", "created_at", "updated_at", "next_update_at", "sealed",
            "check_digest"}


def test_the_journey_makes_the_same_case_as_the_api(client, fake_store, settings):
    resp = walk_callback(client, callback_form())
    assert resp.status_code == 200, resp.text[:500]
    by_form = fake_store.cases.get(fake_store.cases.id_for_reference(
        re.search(r'id="reference">([^<]+)', resp.text)[1]))
    # the API's case in a store of its own (in one store, the second would link to the first)
    other = Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True),
                  prefix="test:")
    api = create_app(settings, store=other, publisher=FakePublisher()).test_client().post(
        "/api/v1/callbacks", json=API_EQUIVALENT)
    assert api.status_code == 201, api.json
    by_api = other.cases.get(other.cases.id_for_reference(api.json["reference"]))
    sealer = Sealer(settings.sealing_keys)
    assert sealer.unseal(by_form["sealed"])["submission"] == \
        sealer.unseal(by_api["sealed"])["submission"]
    differ = {k for k in by_form.keys() | by_api.keys() if by_form.get(k) != by_api.get(k)}
    assert differ <= VOLATILE
    assert by_form["kind"] == "callback" and by_form["district"] == "dacorum"


def test_the_confirmation_signposts_support(client):
    resp = walk_callback(client, callback_form())
    assert "Request sent" in resp.text and "Where to get support" in resp.text


def test_a_discreet_request_gets_discreetly_worded_support(client):
    resp = walk_callback(client, callback_form(**{"contact.discreet": "yes"}))
    assert "Other people you can talk to" in resp.text


# --- the draft ------------------------------------------------------------------------------

def test_the_draft_is_sealed_and_only_its_opaque_id_is_in_the_cookie(client, fake_store):
    fields = callback_form(**{"reason": f"About {CANARY} messages",
                              "contact.name": f"Sam {CANARY}"})
    locations = []
    for slug, share in callback_steps(fields):
        resp = post(client, slug, **share)
        assert resp.status_code == 303, resp.text[:500]
        locations.append(resp.headers["Location"])
    [key] = fake_store.redis.keys("test:draft:*")
    assert CANARY not in fake_store.redis.get(key)
    assert not any(CANARY in url or "?" in url for url in locations)
    cookie = client.get_cookie("liaison_intake")
    session = decoded_session(cookie.value if cookie else "")
    assert CANARY not in session and "Sam" not in session and "HP1" not in session
    draft_id = re.search(r'"callback_draft":"([^"]+)"', session)[1]
    assert key.endswith(":" + draft_id) and "report_draft" not in session


def test_a_report_and_a_request_in_progress_keep_their_own_drafts(client, fake_store):
    token = hidden_fields(client.get("/report/what-happened").text)["csrf_token"]
    client.post("/report/what-happened", data={"csrf_token": token,
                                               "what_happened": "Someone spat at me."})
    fill(client, "contact")
    assert len(fake_store.redis.keys("test:draft:*")) == 2
    assert "Someone spat at me." in client.get("/report/what-happened").text
    assert client.post("/exit").status_code == 204  # Exit this page forgets both
    assert fake_store.redis.keys("test:draft:*") == []


def test_an_expired_draft_starts_again_with_a_message(client, fake_store):
    fill(client, "contact")
    for key in fake_store.redis.keys("test:draft:*"):
        fake_store.redis.delete(key)  # what the TTL does
    resp = client.get("/callback/contact")
    assert resp.status_code == 303 and "/callback/safety" in resp.headers["Location"]
    assert "Your answers were deleted" in client.get(resp.headers["Location"]).text


def test_a_step_refuses_a_name_it_does_not_ask(client, fake_store):
    resp = post(client, "safety", in_danger="no", reason="sneaked in")
    assert resp.status_code == 422 and "This is not a field of this form" in resp.text
    assert fake_store.redis.keys("test:draft:*") == []


# --- errors ---------------------------------------------------------------------------------

def test_an_empty_first_step_asks_for_an_answer_about_danger(client):
    resp = post(client, "safety")
    assert resp.status_code == 422
    links = error_summary(resp.text)
    assert links == [("in-danger-yes", "Select yes if you are in danger now")]
    assert_anchors_are_inputs(resp.text, links)
    assert TITLE.search(resp.text)[1] == "Error: Step 1 of 4 – Get help"


def test_an_empty_second_step_asks_where_the_person_lives(client):
    fill(client, "your-request")
    resp = post(client, "your-request")
    assert resp.status_code == 422
    links = error_summary(resp.text)
    assert links == [("home-area-postcode", "Enter your postcode or choose your area")]
    assert_anchors_are_inputs(resp.text, links)


def test_the_second_step_gives_every_error_at_once_in_page_order(client):
    fill(client, "your-request")
    resp = post(client, "your-request", **{"home_area.postcode": "nowhere",
                                           "reason": "x" * 5001,
                                           "needs.language": "other"})
    assert resp.status_code == 422
    assert error_summary(resp.text) == [
        ("home-area-postcode", "Enter a real postcode, like AL1 3JX, or just its first part "
                               "(AL1)"),
        ("reason", "What you would like to talk about must be 5,000 characters or fewer"),
        ("needs-language-other", "Enter the language you would like us to use"),
    ]


def test_an_empty_contact_step_gives_every_error_at_once_in_page_order(client):
    fill(client, "contact")
    resp = post(client, "contact")
    assert resp.status_code == 422
    links = error_summary(resp.text)
    assert links == [
        ("contact-name", "Enter the name we should use for you"),
        ("contact-channels-phone", "Select at least one way it is safe to contact you"),
        ("contact-voicemail-ok-yes", "Select yes if it is safe to leave you a voicemail"),
        ("contact-shared-device-yes", "Select yes if anyone else uses or sees your phone or "
                                      "email"),
        ("contact-discreet-yes", 'Select yes if our messages should avoid words like "police"'),
    ]
    assert_anchors_are_inputs(resp.text, links)


def test_a_way_to_contact_needs_its_detail_named_beside_it(client):
    fill(client, "contact")
    resp = post(client, "contact", **{**dict(callback_steps(callback_form()))["contact"],
                                      "contact.phone": "", "contact.channels": "sms"})
    assert resp.status_code == 422
    assert error_summary(resp.text) == [
        ("contact-phone", "Enter the phone number to use for a phone call or text message")]


def test_an_empty_request_sent_from_check_your_answers_goes_back_to_the_first_step(client):
    post(client, "safety")  # sent back: the first step is not answered
    token = hidden_fields(client.get("/callback/safety").text)["csrf_token"]
    resp = client.post("/callback/check-your-answers", data={"csrf_token": token})
    assert resp.status_code == 303 and "/callback/safety" in resp.headers["Location"]


def test_a_step_posted_without_a_csrf_token_is_refused_but_keeps_the_text(client, fake_store):
    fill(client, "your-request")
    resp = client.post("/callback/your-request", data={"reason": "About my neighbour."})
    assert resp.status_code == 400 and "send it again" in resp.text
    assert "About my neighbour." in resp.text and "Step 2 of 4" in resp.text


def test_a_whole_request_posted_at_once_is_kept_as_a_draft_not_lost(client, fake_store):
    """A one-page form left open in a browser across the upgrade to steps posts everything
    to /callback: the answers become a draft and the person checks them, then sends."""
    token = hidden_fields(client.get("/callback/safety").text)["csrf_token"]
    whole = client.post("/callback", data={"csrf_token": token, **callback_form()})
    assert whole.status_code == 303 and whole.headers["Location"].endswith(
        "/callback/check-your-answers")
    assert len(fake_store.redis.keys("test:ref:*")) == 0       # nothing sent yet
    page = client.get("/callback/check-your-answers")
    assert "07700 900456" in page.text and "HP1 1AA" in page.text
    sent = client.post("/callback/check-your-answers", data={"csrf_token": token})
    assert sent.status_code == 200 and 'id="reference">' in sent.text
    assert len(fake_store.redis.keys("test:ref:*")) == 1


def test_a_partial_request_posted_at_once_resumes_at_its_first_unanswered_step(client):
    token = hidden_fields(client.get("/callback/safety").text)["csrf_token"]
    partial = callback_form(**{"contact.phone": None, "contact.channels": None})
    whole = client.post("/callback", data={"csrf_token": token, **partial})
    assert whole.status_code == 303 and whole.headers["Location"].endswith("/callback/contact")
    assert "HP1 1AA" in client.get("/callback/your-request").text
