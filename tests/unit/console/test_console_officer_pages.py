"""The officer's web pages on fakeredis: the inbox (offers with countdowns, open cases,
availability, rota), the case page (contact safety first, the account verbatim and escaped,
every view audited), the form posts (CSRF, PRG, refusals as messages) and who may see what."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from services.console import display
from shared import casework
from shared.bootstrap import bootstrap
from shared.casework import DECLINE_REASONS
from shared.config import Settings
from shared.domain.cases import Placement, new_case
from shared.domain.model import CaseKind
from shared.domain.officers import Availability
from shared.domain.rota import Leave, Rota, parse_shift
from shared.domain.triage import TriageFacts, triage
from shared.geography import load_force
from shared.sealing import Sealer
from shared.store import Store
from tests import payloads
from tests.support.cases import CANARY, route, routed_case
from tests.support.console import (
    case_audit,
    events_of,
    page_token,
    post_form,
    signed_in,
)
from tests.support.world import Clock

HOSTILE = "<script>alert('x')</script> & \"quotes\"\n    and a second, indented line"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def token(client: FlaskClient) -> str:
    return page_token(client, "/inbox")


def post(client: FlaskClient, url: str, **form: str) -> Any:
    return post_form(client, "/inbox", url, **form)


def html(client: FlaskClient, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def section(page: str, title_id: str) -> str:
    """The text of the <section> labelled by `title_id`."""
    start = page.index(f'aria-labelledby="{title_id}"')
    return page[start:page.index("</section>", start)]


def flashes(page: str) -> list[str]:
    return re.findall(r'class="flash flash--\w+" role="status">([^<]*)<', page)


def case_with(store: Store, settings: Settings, clock: Clock, submission: dict[str, Any], *,
              anonymous: bool = False, contactable: bool = True) -> str:
    """Store and route (to Alex) a Watford report with exactly this submission."""
    case = new_case(CaseKind.REPORT, triage(TriageFacts(kind=CaseKind.REPORT, threats=True)),
                    Placement("watford", "watford", "watford"), now=clock(),
                    anonymous=anonymous, contactable=contactable)
    sealed = Sealer(settings.sealing_keys).seal({"kind": "report", "submission": submission})
    store.cases.create(case, sealed, outbox_due=clock() + 5, accept_due=clock() + 3600)
    assert route(store, settings, case.id, now=clock()).officer_id == "alex"
    return case.id


# --- the inbox -------------------------------------------------------------------------------

def test_the_inbox_shows_an_offer_with_a_live_deadline_and_the_decline_reasons(
        alex, fake_store, offered):
    reference = fake_store.cases.get(offered)["reference"]
    offers = section(html(alex, "/inbox"), "offers-title")
    assert reference in offers
    assert 'class="badge badge--high">High<' in offers
    countdown = re.search(r'<time class="countdown"\s+datetime="([^"]+)" data-deadline="([^"]+)"'
                          r'\s+data-seconds-left="(\d+)">([^<]+)</time>', offers)
    assert countdown, offers
    assert countdown.group(1) == countdown.group(2)
    assert countdown.group(3) == "1800" and countdown.group(4) == "30 min left"
    for reason in DECLINE_REASONS:
        assert f'<option value="{reason}">' in offers
    assert f'action="/cases/{offered}/accept"' in offers
    assert f'action="/cases/{offered}/decline"' in offers


def test_an_offer_under_two_minutes_is_marked_urgent(alex, offered, clock):
    clock.advance(1800 - 90)
    offers = section(html(alex, "/inbox"), "offers-title")
    assert 'class="countdown countdown--urgent"' in offers and "1 min left" in offers


def test_the_inbox_shows_my_availability_and_rota(alex, fake_store, staff):
    page = html(alex, "/inbox")
    availability = section(page, "availability-title")
    assert re.search(r'value="available"\s+checked', availability)
    assert "Away" in availability and "Off duty" in availability
    rota = section(page, "rota-title")
    assert "Mon–Sun all day" in rota and "On shift now: <strong>Yes</strong>" in rota
    assert "No leave booked" in rota


def test_my_rota_lists_shifts_and_leave_to_come(alex, fake_store, settings, clock):
    tz = ZoneInfo(load_force(settings.force_file or None).timezone)
    start = datetime.fromtimestamp(clock() + 3 * 86400, tz).replace(hour=9, minute=0,
                                                                   second=0, microsecond=0)
    past = Leave(start - timedelta(days=30), start - timedelta(days=29))
    rota = Rota(shifts=(parse_shift("mon-fri 08:00-16:00"), parse_shift("sat 22:00-06:00")),
                leave=(past, Leave(start, start + timedelta(days=2))))
    officer = replace(fake_store.officers.get("alex"), rota=rota)
    fake_store.officers.save(officer, on_shift=False, next_change=None)
    rota_text = section(html(alex, "/inbox"), "rota-title")
    assert "On shift now: <strong>No</strong> — from " in rota_text
    assert "<li>Mon–Fri 08:00–16:00</li>" in rota_text and "<li>Sat 22:00–06:00</li>" in rota_text
    assert f"<li>{start:%a %d %b} 09:00 {start:%Z} to " in rota_text
    assert f"{start - timedelta(days=30):%a %d %b} 09:00" not in rota_text   # leave gone by


def test_accepting_from_the_inbox_moves_the_offer_to_my_open_cases(alex, fake_store, offered):
    reference = fake_store.cases.get(offered)["reference"]
    resp = post(alex, f"/cases/{offered}/accept")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}"
    assert fake_store.cases.get(offered)["state"] == "accepted"
    page = html(alex, "/inbox")
    assert reference not in section(page, "offers-title")
    open_cases = section(page, "open-title")
    assert reference in open_cases and "Accepted" in open_cases and "(in 4 h 00 min)" in open_cases


def test_open_cases_are_ordered_by_when_first_contact_is_due(alex, fake_store, settings, clock,
                                                            staff):
    first, _ = routed_case(fake_store, settings, "watford", now=clock())   # high: 4 h
    post(alex, f"/cases/{first}/accept")
    urgent, _ = routed_case(fake_store, settings, "watford", emergency=True, now=clock())
    post(alex, f"/cases/{urgent}/accept")                                   # emergency: 15 min
    open_cases = section(html(alex, "/inbox"), "open-title")
    references = [fake_store.cases.get(c)["reference"] for c in (urgent, first)]
    assert open_cases.index(references[0]) < open_cases.index(references[1])


def test_an_overdue_first_contact_is_flagged(app, fake_store, offered, clock):
    post(signed_in(app, fake_store, "alex"), f"/cases/{offered}/accept")
    clock.advance(4 * 3600 + 120)                 # the session has timed out meanwhile
    open_cases = section(html(signed_in(app, fake_store, "alex"), "/inbox"), "open-title")
    assert '<span class="overdue">(overdue by 2 min)</span>' in open_cases


def test_declining_with_a_reason_removes_the_offer_and_closes_the_case_to_me(
        alex, fake_store, offered):
    reference = fake_store.cases.get(offered)["reference"]
    resp = post(alex, f"/cases/{offered}/decline", reason="no_capacity", note="Full week.")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    page = html(alex, "/inbox")
    assert "Offer declined: it goes to another officer." in flashes(page)
    assert reference not in page
    [declined] = events_of(fake_store, "OfferDeclined")
    assert (declined["officer_id"], declined["reason"]) == ("alex", "no_capacity")
    assert alex.get(f"/cases/{offered}").status_code == 403


def test_declining_without_a_reason_keeps_the_offer_and_says_why(alex, fake_store, offered):
    resp = post(alex, f"/cases/{offered}/decline", reason="", note="")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert fake_store.cases.get(offered)["state"] == "offered"
    assert "Choose a reason for declining." in flashes(html(alex, "/inbox"))
    post(alex, f"/cases/{offered}/decline", reason="bored")
    assert fake_store.cases.get(offered)["state"] == "offered"


def test_the_offers_fragment_shows_a_new_offer_without_a_reload(
        alex, fake_store, settings, clock, staff):
    empty = html(alex, "/inbox/offers")
    assert "<html" not in empty and 'data-offer-keys=""' in empty
    assert "No offers for you right now." in empty
    case_id, _ = routed_case(fake_store, settings, "watford", now=clock())
    fragment = html(alex, "/inbox/offers")
    reference = fake_store.cases.get(case_id)["reference"]
    assert reference in fragment and f'data-offer-key="{case_id}:' in fragment
    assert 'data-offers-url="/inbox/offers"' in html(alex, "/inbox")


def test_my_availability_is_set_from_the_inbox(alex, fake_store, staff):
    resp = post(alex, "/availability", status="away")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert fake_store.officers.get("alex").status is Availability.AWAY
    page = html(alex, "/inbox")
    assert "You are now away." in flashes(page)
    assert re.search(r'value="away"\s+checked', page)
    [change] = events_of(fake_store, "AvailabilityChanged")
    assert (change["officer_id"], change["status"], change["by"]) == ("alex", "away", "alex")
    post(alex, "/availability", status="asleep")
    assert fake_store.officers.get("alex").status is Availability.AWAY
    assert "Choose available, away or off duty." in flashes(html(alex, "/inbox"))


# --- the case page ---------------------------------------------------------------------------

def test_the_case_page_shows_how_to_contact_safely_before_the_account(alex, offered):
    page = html(alex, f"/cases/{offered}")
    safety = page.index('class="panel safety"')
    account = page.index(f"Shouted abuse at the bus stop. {CANARY}")
    assert safety < page.index("<blockquote") < account
    box = section(page, "safety-title")
    assert f"Sam {CANARY}" in box and "they/them" in box
    assert "SMS (text message), Email" in box and "07700 900123" in box
    assert "Mon–Wed 18:00–21:00" in box
    assert "<dt>Voicemail OK</dt>\n    <dd><strong>No</strong>" in box
    assert "<dt>Shared device</dt>\n    <dd><strong>Yes</strong>" in box
    assert "<dt>Discreet wording</dt>\n    <dd><strong>Yes</strong>" in box


def test_the_account_is_shown_verbatim_and_escaped(alex, fake_store, settings, clock, staff):
    case_id = case_with(fake_store, settings, clock, payloads.report(
        what_happened=HOSTILE, contact=payloads.contact(name="<b>Jo</b>")))
    page = html(alex, f"/cases/{case_id}")
    assert "<script>alert" not in page and "<b>Jo</b>" not in page
    escaped = ("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;\n"
               "    and a second, indented line")
    assert f'<blockquote class="account">{escaped}</blockquote>' in page
    assert "&lt;b&gt;Jo&lt;/b&gt;" in section(page, "safety-title")


def test_a_callback_shows_why_they_asked_and_when_to_call(alex, fake_store, settings, clock,
                                                         staff):
    case_id, result = routed_case(fake_store, settings, "watford", kind=CaseKind.CALLBACK,
                                  now=clock())
    assert result.officer_id == "alex"
    page = html(alex, f"/cases/{case_id}")
    account = section(page, "account-title")
    assert "Why they asked for a call back" in account
    assert f'<blockquote class="account">Please call me about {CANARY}.</blockquote>' in account
    details = section(page, "details-title")
    assert "Sat 10:00–12:00" in details and "Polish" in details
    assert "Injuries" not in details
    assert "Phone</strong> — no other way" in section(page, "safety-title")


@pytest.mark.parametrize(("anonymous", "expected"), [
    (True, "No contact — anonymous"),
    (False, "No contact — they did not agree to be contacted"),
])
def test_a_person_who_may_not_be_contacted_is_shown_as_no_contact(
        alex, fake_store, settings, clock, staff, anonymous, expected):
    report = payloads.report(anonymous=anonymous, consent_to_contact=False)
    report.pop("contact")
    case_id = case_with(fake_store, settings, clock, report, anonymous=anonymous,
                        contactable=False)
    post(alex, f"/cases/{case_id}/accept")
    page = html(alex, f"/cases/{case_id}")
    box = section(page, "safety-title")
    assert expected in box and "Safe times" not in box
    assert 'action="/cases/' + case_id + '/contact"' not in page      # nothing to record
    assert 'action="/cases/' + case_id + '/close"' in page


def test_every_view_of_the_case_page_is_audited(alex, blake, fake_store, offered):
    html(alex, f"/cases/{offered}")
    html(alex, f"/cases/{offered}")
    assert blake.get(f"/cases/{offered}").status_code == 403
    audit = case_audit(fake_store)
    assert [(a["type"], a["case_id"], a["by"]) for a in audit] == [
        ("CaseViewed", offered, "alex"), ("CaseViewed", offered, "alex"),
        ("CaseAccessRefused", offered, "blake")]


def test_an_offered_case_can_be_accepted_or_declined_from_its_page(alex, offered):
    page = html(alex, f"/cases/{offered}")
    offer = section(page, "offer-title")
    assert 'data-expire-href="/inbox"' in offer and "30 min left" in offer
    assert f'action="/cases/{offered}/accept"' in offer
    assert f'action="/cases/{offered}/contact"' not in page


def test_contact_made_then_close_with_an_outcome(alex, fake_store, offered):
    post(alex, f"/cases/{offered}/accept")
    page = html(alex, f"/cases/{offered}")
    for action in ("contact", "close", "notes"):
        assert f'action="/cases/{offered}/{action}"' in page

    resp = post(alex, f"/cases/{offered}/contact", channel="sms", outcome="spoke")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}"
    assert fake_store.cases.get(offered)["state"] == "contacted"
    page = html(alex, f"/cases/{offered}")
    assert "Contact recorded." in flashes(page)
    history = section(page, "history-title")
    assert "Contact recorded" in history and "SMS (text message), Spoke to them" in history
    assert "Alex" in history

    resp = post(alex, f"/cases/{offered}/close", outcome="advice_given")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert fake_store.cases.get(offered)["state"] == "closed"
    page = html(alex, "/inbox")
    assert "Case closed." in flashes(page) and "You hold no open cases." in page
    [closed] = events_of(fake_store, "CaseClosed")
    assert (closed["by"], closed["outcome"]) == ("alex", "advice_given")


def test_a_bad_contact_form_goes_back_to_the_case_with_a_message(alex, fake_store, offered):
    post(alex, f"/cases/{offered}/accept")
    resp = post(alex, f"/cases/{offered}/contact", channel="pigeon", outcome="spoke")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}"
    assert fake_store.cases.get(offered)["state"] == "accepted"
    assert "Choose how you made contact." in flashes(html(alex, f"/cases/{offered}"))


def test_notes_are_added_and_listed_with_their_line_breaks(alex, fake_store, offered):
    resp = post(alex, f"/cases/{offered}/notes", text="Rang twice.\nNo answer <b>yet</b>.")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}#notes"
    notes = section(html(alex, f"/cases/{offered}"), "notes-title")
    assert "Rang twice.\nNo answer &lt;b&gt;yet&lt;/b&gt;." in notes and "Alex" in notes
    post(alex, f"/cases/{offered}/notes", text="   ")
    assert "Write a note of 1 to 5000 characters." in flashes(html(alex, f"/cases/{offered}"))
    assert len(fake_store.notes.list(offered)) == 1


# --- refusals --------------------------------------------------------------------------------

def test_a_post_without_a_csrf_token_is_refused(alex, fake_store, offered):
    resp = alex.post(f"/cases/{offered}/accept")
    assert resp.status_code == 400
    resp = alex.post("/availability", data={"status": "away", "csrf_token": "forged"})
    assert resp.status_code == 400
    assert fake_store.cases.get(offered)["state"] == "offered"
    assert fake_store.officers.get("alex").status is Availability.AVAILABLE


CASE_ROUTES = [
    ("GET", "", {}),
    ("POST", "/accept", {}),
    ("POST", "/decline", {"reason": "other"}),
    ("POST", "/contact", {"channel": "phone", "outcome": "spoke"}),
    ("POST", "/notes", {"text": "A note."}),
    ("POST", "/close", {"outcome": "advice_given"}),
]


@pytest.mark.parametrize("state", ["offered", "accepted"])
@pytest.mark.parametrize(("method", "suffix", "form"), CASE_ROUTES,
                         ids=[f"{m} {s or '/'}" for m, s, _ in CASE_ROUTES])
def test_another_officer_gets_403_for_every_case_route(
        alex, blake, fake_store, offered, state, method, suffix, form):
    if state == "accepted":
        post(alex, f"/cases/{offered}/accept")
    before = fake_store.cases.get(offered)
    data = {"csrf_token": token(blake), **form} if method == "POST" else None
    resp = blake.open(f"/cases/{offered}{suffix}", method=method, data=data)
    assert resp.status_code == 403
    assert CANARY not in resp.get_data(as_text=True)
    assert fake_store.cases.get(offered) == before
    audit = case_audit(fake_store)  # alex's accept, if any; then the refusal, nothing else
    accepted = [("CaseActionTaken", offered, "alex", "accept")] if state == "accepted" else []
    assert [(a["type"], a["case_id"], a["by"], a.get("reason") or a.get("action"))
            for a in audit] == accepted + [
        ("CaseAccessRefused", offered, "blake", "not_yours")]
    assert fake_store.notes.list(offered) == []


def test_an_unknown_case_is_404(alex, staff):
    for case_id in ("f" * 32, "not-a-case"):
        assert alex.get(f"/cases/{case_id}").status_code == 404


def test_an_offer_that_ran_out_meanwhile_is_a_message_not_an_error(
        alex, fake_store, settings, publisher, clock, offered):
    clock.advance(1000)
    form_token = token(alex)   # the page is open (and the session kept alive)...
    clock.advance(801)         # ...while the offer runs out and the sweeper passes it on
    casework.expire(bootstrap(settings, store=fake_store, publisher=publisher, clock=clock),
                    offered)
    resp = alex.post(f"/cases/{offered}/accept", data={"csrf_token": form_token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert "This case is no longer with you: the offer ran out or was passed on." \
        in flashes(html(alex, "/inbox"))


def test_accepting_twice_is_a_message_not_an_error(alex, fake_store, offered):
    post(alex, f"/cases/{offered}/accept")
    resp = post(alex, f"/cases/{offered}/accept")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert "That is no longer possible: the case is now accepted." in flashes(
        html(alex, "/inbox"))


def test_officer_pages_need_an_officer_signed_in(app, fake_store, staff):
    resp = app.test_client().get("/inbox")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?next=%2Finbox"
    supervisor = signed_in(app, fake_store, "sam")
    assert supervisor.get("/inbox").status_code == 403
    assert supervisor.get("/inbox/offers").status_code == 403


# --- the page itself: CSP-safe, headers --------------------------------------------------------

def test_pages_have_no_inline_scripts_styles_or_handlers(alex, offered):
    pages = [html(alex, "/inbox"), html(alex, "/inbox/offers"), html(alex, f"/cases/{offered}")]
    post(alex, f"/cases/{offered}/accept")
    pages.append(html(alex, f"/cases/{offered}"))
    for page in pages:
        assert not INLINE_SCRIPT.search(page)
        assert "style=" not in page and "<style" not in page
        assert not EVENT_HANDLER.search(page)
    assert '<script src="/static/js/officer.js" defer></script>' in pages[0]
    assert 'href="/static/css/officer.css"' in pages[0]


def test_security_headers_on_officer_pages(alex, offered):
    for url in ("/inbox", "/inbox/offers", f"/cases/{offered}"):
        resp = alex.get(url)
        assert resp.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_the_static_files_are_served(alex):
    for path in ("js/officer.js", "css/officer.css"):
        with alex.get(f"/static/{path}") as resp:
            assert resp.status_code == 200


# --- presentation helpers ----------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (45.4, "45 s"), (59.6, "1 min"), (60, "1 min"), (719, "11 min"),
    (3600, "1 h 00 min"), (-3725, "1 h 02 min"),
])
def test_durations_read_like_people_speak(seconds, text):
    assert display.duration(seconds) == text


@pytest.mark.parametrize(("window", "text"), [
    ({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "18:00", "end": "21:00"},
     "Mon–Fri 18:00–21:00"),
    ({"days": ["mon", "tue", "wed", "fri"], "start": "09:00", "end": "12:00"},
     "Mon–Wed, Fri 09:00–12:00"),
    ({"days": ["sat"], "start": "22:00", "end": "06:00"}, "Sat 22:00–06:00"),
    ({"days": ["sun"], "start": "00:00", "end": "00:00"}, "Sun all day"),
])
def test_time_windows_read_as_text(window, text):
    assert display.windows_text([window]) == [text]


# --- when to contact, and by when ----------------------------------------------------------

def test_the_case_page_says_whether_now_is_safe_and_when_first_contact_is_due(
        app, alex, fake_store, settings, clock, offered):
    """The clock is Monday evening; the reporter's safe times in the fixture decide."""
    from shared import casework
    from shared.bootstrap import bootstrap
    from shared.domain import contact
    from tests.fakes import FakePublisher

    deps = bootstrap(settings, store=fake_store, publisher=FakePublisher(), clock=clock)
    casework.accept(deps, offered, "alex")
    page = html(alex, f"/cases/{offered}")
    opened = deps.sealer.unseal(fake_store.cases.get(offered)["sealed"])
    profile = contact.profile_for(opened["kind"], opened["submission"])
    now = datetime.fromtimestamp(clock(), UTC)
    safe_now = profile.next_safe(now, ZoneInfo("Europe/London")) == now
    answer = page[page.index('id="safe-now"'):][:300]
    assert "Safe to contact now?" in page
    assert answer.startswith('id="safe-now"><strong>' + ("Yes" if safe_now else "No"))
    if not safe_now:
        assert "next safe time" in answer
    clock_text = page[page.index('id="clock"'):][:400]
    assert "First contact due" in clock_text and "overdue" not in clock_text
    zone = datetime.fromtimestamp(clock(), ZoneInfo("Europe/London")).strftime("%Z")
    assert zone in clock_text                      # every time with its zone
    clock.advance(settings.sla_contact_seconds(int(fake_store.cases.get(offered)["priority"]))
                  + 60)
    late = html(signed_in(app, fake_store, "alex"), f"/cases/{offered}")  # a new day
    assert "overdue" in late[late.index('id="clock"'):][:400]


# --- new offers pushed, summarised, and readable on a phone --------------------------------

def _stream_client(app, fake_store):
    import redis

    from services.console import live
    pool = fake_store.redis.connection_pool
    sources = app.extensions[live.EXTENSION]
    sources.stream_client = lambda timeout: redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class,
        **(pool.connection_kwargs | {"socket_timeout": timeout})))
    sources.block_ms = 50
    sources.lifetime = 3.0


def _snapshot(chunk: bytes) -> dict:
    import json
    fields = dict(line.split(": ", 1) for line in chunk.decode().strip().splitlines()
                  if ": " in line and not line.startswith(":"))
    assert fields["event"] == "snapshot"
    return json.loads(fields["data"])


def test_the_inbox_stream_pushes_the_offer_keys_when_an_offer_arrives(
        app, alex, fake_store, settings, clock, staff):
    _stream_client(app, fake_store)
    resp = alex.get("/inbox/stream", buffered=False)
    try:
        assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
        chunks = iter(resp.response)
        assert _snapshot(next(chunks)) == {"offers": ""}
        case_id, _ = routed_case(fake_store, settings, "watford", now=clock())
        assert fake_store.cases.get(case_id)["officer"] == "alex"
        pushed = next(c for c in chunks if b"event: snapshot" in c)
        deadline = fake_store.cases.get(case_id)["offer_deadline"]
        assert _snapshot(pushed) == {"offers": f"{case_id}:{float(deadline)}"}
        keys = re.search(r'data-offer-keys="([^"]*)"', html(alex, "/inbox")).group(1)
        assert keys == f"{case_id}:{float(deadline)}"   # what officer.js compares
    finally:
        resp.close()


def test_the_inbox_stream_sends_nothing_new_when_nothing_of_mine_changed(
        app, fake_store, settings, clock, staff):
    from services.console import live
    from services.console.handlers import Staff as HStaff
    from services.console.handlers import my_cases
    from services.console.web_officer import offer_keys
    from shared.domain.officers import Role

    deps = app.extensions["liaison_console"]
    me = HStaff("alex", "Alex", Role.OFFICER)
    stream = iter(live.SnapshotStream(
        lambda _: {"offers": offer_keys(my_cases(deps, me)["offers"])}, fake_store.feed,
        block_ms=50, heartbeat=0.3, debounce=0.0, lifetime=1.0, only_changes=True))
    assert '"offers":""' in next(stream)
    fake_store.audit.record_availability("blake", "away", by="sam", now=clock())  # not mine
    assert fake_store.feed.latest_event_id()     # an event the stream wakes up for
    rest = list(stream)
    assert not any("event: snapshot" in chunk for chunk in rest), rest
    assert rest[-1].startswith("event: bye")


def test_each_offer_has_a_one_line_summary_that_names_nobody(alex, fake_store, settings,
                                                               clock, offered):
    row = html(alex, "/inbox")
    summary = re.search(r'<span class="offer-summary">([^<]*)</span>', row).group(1)
    assert summary.startswith("Report · ") and "priority · Watford" in summary
    assert "received" in summary and summary.endswith("ago")
    assert CANARY not in row
    assert re.search(r'data-summary="Report · [^"]*priority · Watford[^"]*"', row)
    assert 'data-label="Reference"' in row and 'class="offers-table cards"' in row


def test_a_case_sent_by_a_partner_centre_says_so(alex, fake_store, offered):
    assert 'id="partner"' not in html(alex, f"/cases/{offered}")
    fake_store.redis.hset(fake_store.keys.case(offered), "partner", "herts-lgbt-centre")
    page = html(alex, f"/cases/{offered}")
    assert "Sent by partner reporting centre: <strong>herts-lgbt-centre</strong>" in page
