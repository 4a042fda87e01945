"""The supervisor's web pages on fakeredis: the dashboard (queues per district, offers,
alerts, SLA, workers, charts), its live event stream, the read-only case view, the actions
(reassign, availability, acknowledge — each recorded with who did it) and who may see what."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from services.console import live
from shared.domain.officers import Availability, Role
from shared.store import Store
from shared.store.feed import EventFeed
from tests.support.cases import CANARY, add_staff, route, routed_case
from tests.support.console import (
    Staff,
    case_audit,
    events_of,
    page_token,
    post_form,
    signed_in,
)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture
def staff(staff: Staff, fake_store: Store) -> Staff:
    """The usual staff and Ada, an admin (whom these pages refuse)."""
    add_staff(fake_store, "ada", role=Role.ADMIN)
    return staff


def token(client: FlaskClient) -> str:
    return page_token(client, "/dashboard")


def post(client: FlaskClient, url: str, **form: str) -> Any:
    return post_form(client, "/dashboard", url, **form)


def row(page: str, district: str) -> str:
    """The dashboard's table row for one district."""
    found = re.search(rf'<tr data-district="{district}".*?</tr>', page, re.S)
    assert found, f"no row for {district}"
    return found.group(0)


def metric(html: str, path: str) -> str:
    found = re.search(rf'data-metric="{re.escape(path)}"[^>]*>([^<]*)<', html)
    assert found, f"no metric {path}"
    return found.group(1).strip()


def away(store: Store, *officer_ids: str) -> None:
    for officer_id in officer_ids:
        store.officers.set_status(officer_id, Availability.AWAY)


# --- the dashboard -------------------------------------------------------------------------

def test_the_dashboard_shows_waiting_cases_by_priority_with_the_oldest_wait(
        sam, fake_store, settings, clock):
    away(fake_store, "alex", "blake")
    first = clock()
    routed_case(fake_store, settings, "watford", now=clock())             # high
    clock.advance(600)
    routed_case(fake_store, settings, "watford", now=clock())             # high
    routed_case(fake_store, settings, "watford", threats=False, now=clock())  # standard
    routed_case(fake_store, settings, "stevenage", emergency=True, now=clock())
    clock.advance(120)

    page = sam.get("/dashboard").get_data(as_text=True)
    watford, stevenage = row(page, "watford"), row(page, "stevenage")
    assert metric(watford, "waiting.2.count") == "2"
    assert metric(watford, "waiting.3.count") == "1"
    assert metric(watford, "waiting.1.count") == "0"
    assert metric(watford, "waiting.2.oldest_since") == "12 min"
    since = re.search(r'data-metric="waiting.2.oldest_since"[^>]*data-since="([^"]+)"', watford)
    assert float(since.group(1)) == pytest.approx(first)   # dashboard.js counts on from here
    assert metric(stevenage, "waiting.1.count") == "1"
    assert metric(row(page, "_all"), "waiting.2.count") == "2"
    assert metric(page, "force.waiting.1.count") == "1"     # flagged at the top
    assert "Emergency waiting" in page                       # and its alert listed
    assert CANARY not in page


def test_the_dashboard_shows_officers_and_open_offers_per_district(
        sam, fake_store, settings, offered, clock):
    clock.advance(90)
    page = sam.get("/dashboard").get_data(as_text=True)
    watford = row(page, "watford")
    assert metric(watford, "on_shift") == "1" and metric(watford, "offers") == "1"
    assert metric(watford, "oldest_offer_since") == "1 min"
    assert metric(row(page, "stevenage"), "available") == "1"
    offers = re.search(r'<tbody data-list="offers">(.*?)</tbody>', page, re.S).group(1)
    assert f'data-row-id="{offered}"' in offers and "Alex" in offers


def test_the_dashboard_shows_queue_depths_and_worker_signs_of_life(
        sam, fake_store, settings, offered, clock):
    fake_store.redis.lpush("route", "message-1", "message-2")
    fake_store.redis.lpush("notify", "message-3")
    page = sam.get("/dashboard").get_data(as_text=True)
    router = re.search(r'<tr data-scope="workers:router">.*?</tr>', page, re.S).group(0)
    notifier = re.search(r'<tr data-scope="workers:notifier">.*?</tr>', page, re.S).group(0)
    assert metric(router, "backlog") == "2" and 'data-state="alive"' in router  # just routed
    assert metric(notifier, "backlog") == "1" and 'data-state="stalled"' in notifier
    assert metric(page, "counts.stalled_workers") == "1"


def test_worker_states_from_signs_of_life_and_waiting_work():
    now = 10_000.0
    depths = {"route": 0, "notify": 3, "sweep": 0, "unacked": 0}
    signs = {"router": now - 60, "notifier": now - 30, "sweeper": None}
    states = {w["id"]: w["status"] for w in live.workers(signs, depths, None, now, 5)}
    assert states == {"router": "alive", "notifier": "alive", "sweeper": "idle"}
    signs = {"router": now - 3600, "notifier": now - 600, "sweeper": now - 7200}
    states = {w["id"]: w["status"] for w in live.workers(signs, depths, now - 600, now, 5)}
    assert states == {"router": "idle", "notifier": "stalled", "sweeper": "stalled"}
    piled = dict(depths, notify=0, sweep=30)
    assert live.workers(signs, piled, None, now, 5)[2]["status"] == "stalled"


def test_the_dashboard_has_charts_with_text_alternatives_and_a_table(sam, offered):
    page = sam.get("/dashboard").get_data(as_text=True)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    assert 'aria-label="Cases received per hour, last 24 hours. 1 cases received.' in page
    assert "The numbers behind the charts" in page
    charts = sam.get("/dashboard/charts")
    assert charts.status_code == 200 and charts.get_data(as_text=True).count("<svg") == 3


def test_dashboard_pages_have_no_inline_scripts_or_styles(sam, offered):
    for url in ("/dashboard", "/dashboard/charts",
                f"/cases/{offered}/view?purpose=supervision"):
        page = sam.get(url).get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), url
        assert "style=" not in page and "<style" not in page, url
        assert not re.search(r"\son[a-z]+\s*=", page), url
    for path in ("/static/js/dashboard.js", "/static/css/dashboard.css"):
        with sam.get(path) as resp:
            assert resp.status_code == 200, path


# --- the live stream -----------------------------------------------------------------------

def snapshot_of(chunk: str) -> tuple[str, dict[str, Any]]:
    fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines()
                  if ": " in line and not line.startswith(":"))
    assert fields["event"] == "snapshot"
    return fields["id"], json.loads(fields["data"])


def stream_for(app: Flask, store: Store, **kw: Any) -> Iterator[str]:
    deps = app.extensions["liaison_console"]
    sources = app.extensions[live.EXTENSION]
    options = {"block_ms": 50, "heartbeat": 60.0, "debounce": 0.0, "lifetime": 5.0} | kw
    return iter(live.SnapshotStream(
        lambda event_id: live.snapshot(deps, sources.broker, event_id), store.feed,
        **options))


def test_the_stream_sends_a_snapshot_then_a_new_one_after_a_routing_event(
        app, fake_store, settings, staff, clock):
    stream = stream_for(app, fake_store)
    first = next(stream)
    assert first.startswith("retry: 3000\n")
    _, snap = snapshot_of(first)
    assert snap["force"]["waiting_total"] == 0 and snap["offers"] == []

    away(fake_store, "alex", "blake")
    case_id, _ = routed_case(fake_store, settings, "watford", now=clock())
    event_id, snap = snapshot_of(next(stream))
    assert event_id == fake_store.feed.latest_event_id()
    watford = next(d for d in snap["districts"] if d["district"] == "watford")
    assert watford["waiting"]["2"]["count"] == 1
    assert snap["force"]["waiting_total"] == 1

    fake_store.officers.set_status("blake", Availability.AVAILABLE)
    # Alex (away) holds Watford's ring; Blake (Stevenage, not a neighbour of Watford) gets it
    # once the force-wide ring opens
    priority = int(fake_store.cases.get(case_id)["priority"])
    route(fake_store, settings, case_id, now=clock() + settings.ring_times(priority)[2])
    _, snap = snapshot_of(next(stream))
    assert [o["id"] for o in snap["offers"]] == [case_id]
    assert snap["offers"][0]["officer_id"] == "blake"


def test_the_stream_resumes_after_the_last_event_id(app, fake_store, settings, staff, clock):
    seen = fake_store.feed.latest_event_id()
    routed_case(fake_store, settings, "watford", now=clock())
    stream = stream_for(app, fake_store, last_event_id=seen)
    next(stream)                      # the snapshot on connecting
    event_id, _ = snapshot_of(next(stream))   # then one for what happened meanwhile
    assert event_id == fake_store.feed.latest_event_id()


def test_the_stream_ignores_case_views_sends_heartbeats_and_ends(app, fake_store, offered):
    stream = stream_for(app, fake_store, heartbeat=0.05, lifetime=0.5)
    next(stream)
    fake_store.audit.record_view(offered, by="sam", now=time.time())
    *beats, last = list(stream)
    assert beats and all(chunk == ": heartbeat\n\n" for chunk in beats)
    assert last == "event: bye\ndata: {}\n\n"     # a planned end: the browser reconnects


def test_without_events_a_fresh_snapshot_comes_every_refresh_interval(
        app, fake_store, settings, staff, clock):
    stream = stream_for(app, fake_store, refresh=0.05)
    _, first = snapshot_of(next(stream))
    fake_store.redis.lpush("notify", "a-message")        # no event says so
    _, later = snapshot_of(next(stream))
    assert (first["queues"]["notify"], later["queues"]["notify"]) == (0, 1)


def test_a_burst_of_events_brings_one_snapshot_of_the_newest(app, fake_store):
    stream = stream_for(app, fake_store)
    next(stream)
    for i in range(live.BATCH + 20):
        fake_store.redis.xadd(fake_store.keys.events, {"type": "CaseReceived", "n": str(i)})
    event_id, _ = snapshot_of(next(stream))
    assert event_id == fake_store.feed.latest_event_id()


def test_snapshots_carry_no_personal_data(app, fake_store, settings, staff, clock):
    away(fake_store, "alex", "blake")
    routed_case(fake_store, settings, "watford", now=clock())
    routed_case(fake_store, settings, "stevenage", emergency=True, now=clock())
    stream = stream_for(app, fake_store)
    chunk = next(stream)
    assert CANARY not in chunk
    _, snap = snapshot_of(chunk)
    assert snap["counts"]["emergency_alerts"] == 1 and len(snap["alerts"]) == 1
    names = {o.name for o in fake_store.officers.all()}
    assert not any(f'"{name}"' in chunk for name in names)  # ids only, never names


def test_the_stream_endpoint_answers_with_server_sent_events(app, sam, fake_store, offered):
    pool = fake_store.redis.connection_pool
    sources = app.extensions[live.EXTENSION]
    sources.stream_client = lambda timeout: redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class,
        **(pool.connection_kwargs | {"socket_timeout": timeout})))
    sources.block_ms = 50
    resp = sam.get("/dashboard/stream", buffered=False)
    try:
        assert resp.status_code == 200
        assert resp.mimetype == "text/event-stream"
        assert resp.headers["Cache-Control"] == "no-store"
        _, snap = snapshot_of(next(iter(resp.response)).decode())
        assert snap["offers"][0]["id"] == offered
    finally:
        resp.close()


def test_open_dashboards_share_one_snapshot_per_change(app, fake_store, offered):
    deps = app.extensions["liaison_console"]
    sources = app.extensions[live.EXTENSION]
    event_id = fake_store.feed.latest_event_id()
    first = sources.snapshot(deps, event_id)
    assert sources.snapshot(deps, event_id) is first
    fake_store.audit.record_view(offered, by="sam", now=time.time())
    assert sources.snapshot(deps, fake_store.feed.latest_event_id()) is not first


def test_the_stream_reads_on_its_own_client(fake_store):
    board = EventFeed(fake_store.redis, fake_store.keys)
    assert board.events_after("0-0", block_ms=10) == []
    fake_store.redis.xadd(fake_store.keys.events, {"type": "CaseReceived"})
    [(event_id, kind)] = board.events_after("0-0", block_ms=10)
    assert kind == "CaseReceived" and event_id == board.latest_event_id()


# --- the case view -------------------------------------------------------------------------

def test_a_supervisor_reads_any_case_safety_first_and_the_read_is_audited(
        sam, fake_store, offered):
    resp = sam.get(f"/cases/{offered}/view?purpose=supervision")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert page.index("How to contact safely") < page.index(CANARY)  # the officer's words
    assert "never leave a voicemail" in page
    audit = case_audit(fake_store)
    assert [(a["type"], a["case_id"], a["by"]) for a in audit] == [
        ("CaseViewed", offered, "sam")]


def test_an_unknown_case_is_404(sam):
    assert sam.get(f"/cases/{'f' * 32}/view").status_code == 404
    assert sam.get("/cases/not-a-case/view").status_code == 404


# --- actions -------------------------------------------------------------------------------

def test_a_supervisor_reassigns_a_case_to_an_officer_then_back_to_routing(
        sam, fake_store, publisher, offered):
    resp = post(sam, f"/dashboard/cases/{offered}/reassign", officer_id="blake")
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    assert fake_store.cases.get(offered)["officer"] == "blake"
    assert "Case reassigned to Blake." in sam.get("/dashboard").get_data(as_text=True)

    resp = post(sam, f"/dashboard/cases/{offered}/reassign", officer_id="", back="case")
    assert resp.headers["Location"] == f"/cases/{offered}/view"
    assert fake_store.cases.get(offered)["state"] == "waiting"
    moves = events_of(fake_store, "CaseReassigned")
    assert [(e["by"], e["from_officer"], e["to_officer"]) for e in moves] == [
        ("sam", "alex", "blake"), ("sam", "blake", "")]


def test_a_refused_reassignment_is_a_message_and_changes_nothing(sam, fake_store, offered):
    csrf = token(sam)
    for officer_id in ("nobody", "alex", "a:b"):
        resp = sam.post(f"/dashboard/cases/{offered}/reassign",
                        data={"csrf_token": csrf, "officer_id": officer_id})
        assert resp.status_code == 302
    page = sam.get("/dashboard").get_data(as_text=True)
    assert page.count("Choose an officer who takes cases.") == 2
    assert "The case is already with that officer." in page
    assert fake_store.cases.get(offered)["officer"] == "alex"
    assert events_of(fake_store, "CaseReassigned") == []


def test_a_supervisor_sets_an_officers_availability(sam, fake_store):
    resp = post(sam, "/dashboard/officers/alex/availability", status="off_duty")
    assert resp.status_code == 302
    assert fake_store.officers.get("alex").status is Availability.OFF_DUTY
    [change] = events_of(fake_store, "AvailabilityChanged")
    assert (change["officer_id"], change["status"], change["by"]) == ("alex", "off_duty", "sam")
    post(sam, "/dashboard/officers/alex/availability", status="sleeping")
    assert "Choose available, away or off duty." in sam.get("/dashboard").get_data(as_text=True)
    assert len(events_of(fake_store, "AvailabilityChanged")) == 1


def test_a_supervisor_acknowledges_an_alert_by_name(sam, fake_store, settings, staff, clock):
    away(fake_store, "alex", "blake")
    routed_case(fake_store, settings, "watford", emergency=True, now=clock())
    [alert] = fake_store.alerts.open()
    resp = post(sam, f"/dashboard/alerts/{alert['id']}/acknowledge")
    assert resp.status_code == 302
    assert fake_store.alerts.get(alert["id"])["acknowledged_by"] == "sam"
    [ack] = events_of(fake_store, "AlertAcknowledged")
    assert (ack["alert_id"], ack["by"]) == (alert["id"], "sam")
    post(sam, f"/dashboard/alerts/{alert['id']}/acknowledge")   # again: a message
    assert "now acknowledged" in sam.get("/dashboard").get_data(as_text=True)


def test_an_action_without_a_csrf_token_is_refused(sam, fake_store, offered):
    resp = sam.post(f"/dashboard/cases/{offered}/reassign", data={"officer_id": "blake"})
    assert resp.status_code == 400
    assert fake_store.cases.get(offered)["officer"] == "alex"


# --- who may see what ----------------------------------------------------------------------

SUPERVISOR_ROUTES = [("GET", "/dashboard"), ("GET", "/dashboard/charts"),
                     ("GET", "/dashboard/stream"), ("GET", "/cases/{case}/view"),
                     ("POST", "/dashboard/cases/{case}/reassign"),
                     ("POST", "/dashboard/officers/alex/availability"),
                     ("POST", f"/dashboard/alerts/{'0' * 32}/acknowledge")]


@pytest.mark.parametrize(("who", "home"), [("alex", "/inbox"), ("ada", "/admin/officers")])
def test_officers_and_admins_get_403_on_every_supervisor_route(
        app, fake_store, offered, who, home):
    client = signed_in(app, fake_store, who)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"',
                     client.get(home).get_data(as_text=True))
    assert csrf
    for method, path in SUPERVISOR_ROUTES:
        data = {"csrf_token": csrf.group(1)}
        resp = client.open(path.format(case=offered), method=method, data=data)
        assert resp.status_code == 403, (method, path)
    assert fake_store.cases.get(offered)["officer"] == "alex"
    assert case_audit(fake_store) == []  # the sign-in only


def test_supervisor_pages_need_a_sign_in(app, offered):
    client = app.test_client()
    for method, path in SUPERVISOR_ROUTES[:4]:
        resp = client.open(path.format(case=offered), method=method)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_supervisor_following_a_case_link_from_an_alert_reaches_the_case(
        sam, fake_store, offered):
    """Notifications link to /cases/<id> (the officer's address); a supervisor is sent on
    to the supervisor's view (which asks why first), never refused."""
    resp = sam.get(f"/cases/{offered}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}/view"
    assert "Why are you opening this case?" in sam.get(resp.headers["Location"]).get_data(
        as_text=True)
