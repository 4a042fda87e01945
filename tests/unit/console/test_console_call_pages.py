"""101 call handlers: a callback or a report taken by phone becomes a case exactly as the
public API would make it, attributed to the handler, audited, and routed; bad answers come
back named; the 999 gate comes first; only call handlers and supervisors use the pages."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from ops.cli import Runtime, main
from services.console import calls
from shared.config import Settings
from shared.domain import events
from shared.domain.officers import Officer, Role, eligibility
from shared.domain.rota import always_on
from shared.messaging import ASSIGN_CASE, DELIVER_NOTIFICATION
from shared.receiving import _canonical
from shared.schemas import CallbackSchema, ReportSchema
from shared.sealing import Sealer
from shared.store import Store, StoreUnavailable
from tests.fakes import FakePublisher
from tests.support.cases import CANARY, add_staff, create_case, route
from tests.support.console import Staff, page_token, signed_in
from tests.support.world import Clock, World

pytestmark = pytest.mark.usefixtures("fast_hashing")

REFERENCE = re.compile(r'id="reference">([^<]+)<')
CHECK_CODE = re.compile(r'id="check-code">([^<]+)<')
# The page's answers for a callback, and the public API body they stand for.
CALLBACK_FORM: dict[str, Any] = {
    "danger": "no", "contact.name": "Jo", "contact.pronouns": "she/her",
    "contact.channels": ["phone", "sms"], "contact.phone": "07700 900456",
    "contact.safe_times": ["weekend_daytime"], "contact.voicemail_ok": "no",
    "contact.shared_device": "yes", "contact.say_police": "no",
    "home_area.postcode": "SG1 1AA", "reason": "Advice about messages I keep getting.",
    "preferred_times": ["weekday_evening"], "needs.language": "polish"}
CALLBACK_API = {
    "contact": {"name": "Jo", "pronouns": "she/her", "channels": ["phone", "sms"],
                "phone": "07700 900456", "voicemail_ok": False, "shared_device": True,
                "discreet": True, "safe_times": [
                    {"days": ["sat", "sun"], "start": "09:00", "end": "17:00"}]},
    "home_area": {"postcode": "SG1 1AA"}, "reason": "Advice about messages I keep getting.",
    "preferred_times": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00",
                         "end": "21:00"}],
    "needs": {"language": "polish"}}
REPORT_FORM: dict[str, Any] = {
    "danger": "no", "reporter_role": "victim",
    "what_happened": "Two men shouted abuse at me at the bus stop on the high street.",
    "when.date": "2026-11-20", "when.time": "21:30", "incident_location.district": "watford",
    "hate_strands": ["transgender_identity"], "threats": "yes",
    "consent_to_contact": "yes", "contact.name": "Rae", "contact.channels": ["email"],
    "contact.email": "rae@example.org", "contact.safe_times": ["any_time"],
    "contact.voicemail_ok": "no", "contact.shared_device": "no", "contact.say_police": "yes"}


@pytest.fixture
def cara(app: Flask, fake_store: Store, staff: Staff) -> FlaskClient:
    """Cara, a 101 call handler (no district, never routed), signed in."""
    add_staff(fake_store, "cara", role=Role.CALL_HANDLER)
    return signed_in(app, fake_store, "cara")


def take(client: FlaskClient, kind: str, answers: dict[str, Any]) -> Any:
    data = MultiDict([("csrf_token", page_token(client, f"/call/{kind}"))])
    for name, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return client.post(f"/call/{kind}", data=data)


def recorded(store: Store, page: str) -> tuple[str, dict[str, str]]:
    found = REFERENCE.search(page)
    assert found, page
    case_id = store.cases.id_for_reference(found.group(1).strip())
    assert case_id
    return case_id, store.cases.get(case_id) or {}


def submission(settings: Settings, case: dict[str, str]) -> Any:
    return Sealer(settings.sealing_keys).unseal(case["sealed"])


def collected(store: Store) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit)
            if f["type"] == events.CASE_COLLECTED]


def test_a_call_handler_lands_on_the_call_page_and_sees_only_its_link(cara: FlaskClient):
    landing = cara.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/call/")
    page = cara.get("/call/").get_data(as_text=True)
    assert "Take a 101 call" in page and "transfer the caller to 999" in page
    assert "My inbox" not in page and "Dashboard" not in page and "Staff accounts" not in page


def as_stored(data: dict[str, Any]) -> Any:
    """A validated submission as intake seals it (plain JSON, enums as their values)."""
    return json.loads(_canonical(data))


def test_a_callback_taken_by_phone_is_the_case_the_api_would_make(
        cara: FlaskClient, fake_store: Store, settings: Settings, publisher: FakePublisher):
    resp = take(cara, "callback", CALLBACK_FORM)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page
    case_id, case = recorded(fake_store, page)
    assert CHECK_CODE.search(page), "the check code is shown, to read back"
    assert submission(settings, case) == {
        "kind": "callback", "submission": as_stored(CallbackSchema().load(CALLBACK_API))}
    assert {k: case[k] for k in ("kind", "district", "taken_by", "channel", "contactable",
                                 "priority")} == {
        "kind": "callback", "district": "stevenage", "taken_by": "cara", "channel": "phone",
        "contactable": "1", "priority": "4"}
    assert case["required_skills"] == "lang:polish"
    assert (ASSIGN_CASE, case_id) in publisher.sent  # routed like any other case
    assert [{k: e.get(k) for k in ("case_id", "kind", "by", "via", "taken_by")}
            for e in collected(fake_store)] == [
        {"case_id": case_id, "kind": "callback", "by": "cara", "via": "console-phone",
         "taken_by": "cara"}]


def test_a_report_taken_by_phone_routes_to_where_it_happened(
        cara: FlaskClient, fake_store: Store, settings: Settings, publisher: FakePublisher):
    resp = take(cara, "report", REPORT_FORM)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    case_id, case = recorded(fake_store, resp.get_data(as_text=True))
    assert submission(settings, case)["submission"] == as_stored(ReportSchema().load({
        "reporter_role": "victim", "what_happened": REPORT_FORM["what_happened"],
        "when": {"date": "2026-11-20", "time": "21:30"},
        "incident_location": {"district": "watford"}, "hate_strands": ["transgender_identity"],
        "threats": True, "consent_to_contact": True, "contact": {
            "name": "Rae", "channels": ["email"], "email": "rae@example.org",
            "any_time": True, "voicemail_ok": False, "shared_device": False,
            "discreet": False}}))
    assert case["kind"] == "report" and case["district"] == "watford"
    assert case["taken_by"] == "cara" and case["priority"] == "2"  # threats: high
    assert (ASSIGN_CASE, case_id) in publisher.sent


def test_an_anonymous_report_by_phone_needs_no_contact_answers(
        cara: FlaskClient, fake_store: Store):
    answers = {k: v for k, v in REPORT_FORM.items() if not k.startswith("contact.")}
    resp = take(cara, "report", answers | {"anonymous": "yes", "consent_to_contact": "no",
                                           "contact.voicemail_ok": "no"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert recorded(fake_store, resp.get_data(as_text=True))[1]["anonymous"] == "1"


def test_bad_answers_come_back_named_in_page_order_and_nothing_is_stored(
        cara: FlaskClient, fake_store: Store, publisher: FakePublisher):
    resp = take(cara, "callback", {"contact.channels": ["phone"], "contact.name": "Jo",
                                   "contact.phone": "12"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    summary = page[page.index('class="error-summary"'):page.index("</ul>")]
    named = re.findall(r'<a href="#([^"]+)">([^:<]+):', summary)
    assert named == [
        ("danger-yes", "Is anyone in danger now"), ("contact-phone", "Phone number"),
        ("contact-voicemail-ok-yes", "Voicemail"),
        ("contact-shared-device-yes", "Shared phone or email"),
        ("contact-say-police-yes", "May we say we are the police"),
        ("home-area-postcode", "Home postcode")]
    assert "Enter a phone number, like 07700 900123." in summary  # the API's own message
    for anchor, _ in named:
        assert f'id="{anchor}"' in page, f"the summary links to #{anchor}, not on the page"
    assert 'value="Jo"' in page  # what was typed is kept
    assert 'aria-invalid="true"' in page
    assert publisher.sent == [] and collected(fake_store) == []


def test_an_empty_form_names_each_question_left_unanswered(cara: FlaskClient):
    page = take(cara, "callback", {}).get_data(as_text=True)
    summary = page[page.index('class="error-summary"'):page.index("</ul>")]
    for question in ("Is anyone in danger now", "Name to use", "Ways to contact",
                     "Voicemail", "Shared phone or email", "May we say we are the police",
                     "Home postcode"):
        assert f">{question}:" in summary, question
    report = take(cara, "report", {"consent_to_contact": "yes"}).get_data(as_text=True)
    for question in ("Who is reporting", "What happened", "Date", "Postcode where it happened",
                     "What it was about", "Name to use"):
        assert f">{question}:" in report, question


def test_a_tampered_post_is_a_named_error_never_a_500(cara: FlaskClient,
                                                      publisher: FakePublisher):
    resp = take(cara, "callback", CALLBACK_FORM | {"contact.name.first": "x", "bogus": "1"})
    assert resp.status_code == 422
    assert publisher.sent == []


def test_the_999_gate_comes_first_and_yes_makes_an_emergency(
        cara: FlaskClient, fake_store: Store, publisher: FakePublisher):
    form = cara.get("/call/callback").get_data(as_text=True)
    assert form.index('name="danger"') < form.index('name="contact.name"')
    assert "transfer the caller to 999" in form
    resp = take(cara, "callback", CALLBACK_FORM | {"danger": "yes"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page
    assert "Emergency: transfer to 999 now" in page
    case_id, case = recorded(fake_store, page)
    assert case["priority"] == "1"  # emergency: stored first, as the public form does
    assert any(kind == DELIVER_NOTIFICATION for kind, _ in publisher.sent)  # duty supervisor


def test_the_gate_must_be_answered(cara: FlaskClient, publisher: FakePublisher):
    answers = {k: v for k, v in CALLBACK_FORM.items() if k != "danger"}
    resp = take(cara, "callback", answers)
    assert resp.status_code == 422
    assert calls.DANGER_MISSING in resp.get_data(as_text=True)
    assert publisher.sent == []


def test_sending_the_same_call_twice_makes_one_case(cara: FlaskClient, fake_store: Store):
    form = cara.get("/call/callback").get_data(as_text=True)
    call_id = re.search(r'name="call_id" value="([^"]+)"', form)
    assert call_id
    first = take(cara, "callback", CALLBACK_FORM | {"call_id": call_id.group(1)})
    again = take(cara, "callback", CALLBACK_FORM | {"call_id": call_id.group(1)})
    assert recorded(fake_store, first.get_data(as_text=True))[0] == \
        recorded(fake_store, again.get_data(as_text=True))[0]
    assert "already recorded" in again.get_data(as_text=True)
    assert not CHECK_CODE.search(again.get_data(as_text=True))
    assert len(collected(fake_store)) == 1


def test_a_supervisor_may_take_a_call_too(app: Flask, fake_store: Store, staff: Staff):
    sam = signed_in(app, fake_store, "sam")
    assert sam.get("/call/").status_code == 200
    resp = take(sam, "callback", CALLBACK_FORM)
    assert resp.status_code == 200
    assert recorded(fake_store, resp.get_data(as_text=True))[1]["taken_by"] == "sam"


@pytest.mark.parametrize("page", ["/call/", "/call/callback", "/call/report"])
def test_officers_and_admins_may_not_take_calls(app: Flask, fake_store: Store, staff: Staff,
                                                page: str):
    fake_store.officers.save(Officer(id="ada", name="Ada", districts=(), role=Role.ADMIN),
                             on_shift=False, next_change=None)
    assert signed_in(app, fake_store, "alex").get(page).status_code == 403
    assert signed_in(app, fake_store, "ada").get(page).status_code == 403
    anonymous = app.test_client().get(page)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


@pytest.mark.parametrize("page", ["/inbox", "/dashboard", "/admin/officers", "/admin/audit",
                                  "/admin/accounts"])
def test_a_call_handler_sees_no_inbox_dashboard_or_admin_page(cara: FlaskClient, page: str):
    assert cara.get(page).status_code == 403


def test_the_officer_sees_who_took_it_by_phone(cara: FlaskClient, app: Flask,
                                               fake_store: Store, settings: Settings,
                                               clock: Clock):
    case_id, _ = recorded(fake_store, take(cara, "report", REPORT_FORM).get_data(as_text=True))
    assert route(fake_store, settings, case_id, now=clock()).officer_id == "alex"
    page = signed_in(app, fake_store, "alex").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Taken by phone (101) by Cara" in page


def test_routing_never_offers_a_case_to_a_call_handler(fake_store: Store, settings: Settings):
    """Available, on shift, with room and in the district: still never offered a case."""
    add_staff(fake_store, "cara", "watford", role=Role.CALL_HANDLER, capacity=5)
    case_id = create_case(fake_store, settings, "watford")
    result = route(fake_store, settings, case_id)
    assert result.officer_id in (None, "")
    assert fake_store.cases.get(case_id)["state"] == "waiting"
    handler = Officer(id="cara", name="Cara", districts=("watford",), role=Role.CALL_HANDLER,
                      rota=always_on())
    verdict = eligibility(handler, load=0, at=datetime.now(UTC),
                          tz=ZoneInfo("Europe/London"))
    assert not verdict.eligible and "role is call_handler" in verdict.reasons


def test_nothing_the_caller_says_reaches_the_logs(cara: FlaskClient,
                                                  caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    ok = take(cara, "callback", CALLBACK_FORM | {"contact.name": f"Jo {CANARY}",
                                                 "reason": f"About {CANARY} messages."})
    bad = take(cara, "callback", {"contact.name": CANARY, "reason": CANARY, "danger": "no"})
    assert ok.status_code == 200 and bad.status_code == 422
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "case taken by phone" in text
    assert CANARY not in text


def test_a_call_handler_login_is_made_with_the_cli_and_signs_in_to_the_call_page(
        app: Flask, fake_store: Store, settings: Settings):
    """The README's two commands: a staff record with the role (no district needed), then a
    login."""
    runtime = Runtime(settings=settings, store=fake_store)
    added = CliRunner().invoke(main, ["officers", "add", "--name", "Cara Jones", "--role",
                                      "call_handler", "--id", "cara-jones"], obj=runtime)
    assert added.exit_code == 0, added.output
    made = CliRunner().invoke(main, ["accounts", "create", "--id", "cara-jones", "--username",
                                     "cara", "--password-stdin"],
                              input="Phone-Room-Password-2026\n", obj=runtime)
    assert made.exit_code == 0, made.output
    assert "Cara Jones (call_handler) can now sign in as cara" in made.output
    assert fake_store.officers.get("cara-jones").role is Role.CALL_HANDLER  # type: ignore[union-attr]
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token
    resp = client.post("/login", data={"username": "cara", "password": "Phone-Room-Password-2026",
                                       "csrf_token": token.group(1)})
    assert resp.status_code == 302
    assert client.get("/").headers["Location"].endswith("/call/")


def test_an_admin_may_give_a_call_handler_a_console_login(app: Flask, fake_store: Store,
                                                          staff: Staff):
    """Like an officer's (they see no more than an officer): not only from the CLI."""
    fake_store.officers.save(Officer(id="ada", name="Ada", districts=(), role=Role.ADMIN),
                             on_shift=False, next_change=None)
    add_staff(fake_store, "dee", role=Role.CALL_HANDLER)
    ada = signed_in(app, fake_store, "ada")
    resp = ada.post("/admin/accounts/dee/create", data={
        "csrf_token": page_token(ada, "/admin/accounts"), "username": "dee.h",
        "password": "Another-Long-Passphrase-26", "confirm": "Another-Long-Passphrase-26"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert fake_store.accounts.by_username("dee.h") is not None


def test_an_officer_made_a_call_handler_loses_their_pending_offers(fake_store: Store,
                                                                    publisher: FakePublisher):
    """Availability and withdrawal treat a call handler as they treat any non-officer."""
    world = World(fake_store, publisher=publisher, clock=Clock(time.time()))
    world.officer("a", "watford")
    case_id = world.new_routed_case("watford").case_id
    assert world.holder(case_id) == "a"
    world.officer("a", "watford", role=Role.CALL_HANDLER)
    assert world.state(case_id) == "waiting"
    [withdrawn] = [e for e in fake_store.cases.log(case_id) if e["type"] == "OfferWithdrawn"]
    assert (withdrawn["officer_id"], withdrawn["reason"]) == ("a", "role_changed")


def test_a_gate_answered_yes_is_repeated_at_the_top_of_a_page_with_errors(cara: FlaskClient):
    page = take(cara, "report", {"danger": "yes"}).get_data(as_text=True)
    assert page.index("transfer the caller to 999 now") < page.index('class="error-summary"')


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(
        cara: FlaskClient, publisher: FakePublisher):
    resp = cara.post("/call/callback", data=CALLBACK_FORM)
    assert resp.status_code == 400
    assert publisher.sent == []


def test_redis_refusing_the_case_keeps_the_answers_on_the_page(
        cara: FlaskClient, fake_store: Store, publisher: FakePublisher,
        monkeypatch: pytest.MonkeyPatch):
    def refuse(*_: Any, **__: Any) -> Any:
        raise StoreUnavailable("redis unreachable: ConnectionError")

    monkeypatch.setattr(fake_store.cases, "create", refuse)
    resp = take(cara, "callback", CALLBACK_FORM)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    assert "Nothing was stored" in page and 'value="07700 900456"' in page
    assert publisher.sent == [] and collected(fake_store) == []


def test_the_same_call_sent_again_with_other_answers_is_refused_not_a_second_case(
        cara: FlaskClient, fake_store: Store):
    answers = CALLBACK_FORM | {"call_id": calls.new_call_id()}
    assert take(cara, "callback", answers).status_code == 200
    changed = take(cara, "callback", answers | {"contact.phone": "07700 900999"})
    page = changed.get_data(as_text=True)
    assert changed.status_code == 422
    assert '<a href="#record">This call:' in page and 'id="record"' in page
    assert len(collected(fake_store)) == 1
