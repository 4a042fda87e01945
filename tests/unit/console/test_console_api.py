"""The staff JSON API on fakeredis: who may call what, the officer's case flow, the
supervisor's views and actions, the audit trail, and where personal data may (not) go."""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient

from services.console.app import create_app
from shared.domain.officers import Availability, Role
from shared.messaging import ASSIGN_CASE, DELIVER_NOTIFICATION
from shared.sealing import Sealer, new_key
from shared.store import Store, redis_client
from tests.support.cases import CANARY, add_staff, create_case, routed_case
from tests.support.console import bearer, events_of, override_notes, stream

NOTE_CANARY = "NOTE-CANARY-Wren-5521"


# --- who may call what -------------------------------------------------------------------

ENDPOINTS = [  # (method, path, body, who may call it)
    ("GET", "/api/v1/me", None, "staff"),
    ("GET", "/api/v1/me/cases", None, "staff"),
    ("PUT", "/api/v1/me/availability", {"status": "away"}, "staff"),
    ("GET", "/api/v1/cases/{case}", None, "case"),
    ("POST", "/api/v1/cases/{case}/accept", None, "case"),
    ("POST", "/api/v1/cases/{case}/decline", {"reason": "other"}, "case"),
    ("POST", "/api/v1/cases/{case}/contact", {"channel": "phone", "outcome": "spoke"}, "case"),
    ("POST", "/api/v1/cases/{case}/updates", {"channel": "sms"}, "case"),
    ("POST", "/api/v1/cases/{case}/notes", {"text": "A note."}, "case"),
    ("POST", "/api/v1/cases/{case}/close", {"outcome": "advice_given"}, "case"),
    ("POST", "/api/v1/cases/{case}/reassign", {"officer_id": None}, "supervisor"),
    ("PUT", "/api/v1/officers/alex/availability", {"status": "away"}, "supervisor"),
    ("GET", "/api/v1/cases?reference=K7XM-4QPA-R", None, "supervisor"),
    ("GET", "/api/v1/queues", None, "supervisor"),
    ("GET", "/api/v1/stats/offers?hours=24", None, "supervisor"),
    ("GET", "/api/v1/sla", None, "supervisor"),
    ("GET", "/api/v1/dead-letters", None, "supervisor"),
    ("GET", "/api/v1/alerts", None, "supervisor"),
    ("POST", "/api/v1/alerts/{alert}/acknowledge", None, "supervisor"),
]
CASE_ENDPOINTS = [e for e in ENDPOINTS if "{case}" in e[1]]
SUPERVISOR_ENDPOINTS = [e for e in ENDPOINTS if e[3] == "supervisor"]


def ids(endpoints: list[tuple[str, str, object, str]]) -> list[str]:
    return [f"{m} {p}" for m, p, _, _ in endpoints]


def call(client: FlaskClient, method: str, path: str, body: object, headers: dict[str, str],
         case_id: str = "0" * 32, alert_id: str = "0" * 32):
    url = path.format(case=case_id, alert=alert_id)
    return client.open(url, method=method, headers=headers,
                       json=body if body is not None else None)


@pytest.mark.parametrize(("method", "path", "body", "who"), ENDPOINTS, ids=ids(ENDPOINTS))
def test_every_endpoint_needs_a_token(client, offered, method, path, body, who):
    resp = call(client, method, path, body, {}, offered)
    assert resp.status_code == 401
    assert resp.json["code"] == 401 and "token" in resp.json["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("header", ["Bearer lt_not-a-real-token", "Basic YWxleDpzZWNyZXQ=",
                                    "Bearer", "lt_no-scheme", "Bearer " + "x" * 500])
@pytest.mark.parametrize(("method", "path", "body", "who"), ENDPOINTS, ids=ids(ENDPOINTS))
def test_every_endpoint_refuses_a_wrong_token(client, offered, method, path, body, who, header):
    resp = call(client, method, path, body, {"Authorization": header}, offered)
    assert resp.status_code == 401
    assert resp.json["code"] == 401


def test_a_replaced_token_stops_working(client, fake_store, staff):
    old = staff.alex
    fake_store.officers.issue_token("alex")
    assert client.get("/api/v1/me", headers=old).status_code == 401


@pytest.mark.parametrize("state", ["offered", "accepted"])
@pytest.mark.parametrize(("method", "path", "body", "who"), CASE_ENDPOINTS,
                         ids=ids(CASE_ENDPOINTS))
def test_an_officer_can_never_touch_another_officers_case(
        client, fake_store, staff, offered, state, method, path, body, who):
    if state == "accepted":
        assert client.post(f"/api/v1/cases/{offered}/accept", headers=staff.alex).status_code \
            == 200
    before = fake_store.cases.get(offered)
    audit_before = fake_store.redis.xlen(fake_store.keys.audit)
    resp = call(client, method, path, body, staff.blake, offered)
    assert resp.status_code == 403, resp.json
    assert CANARY not in resp.get_data(as_text=True)
    if who == "case":  # refused for ownership before any state is revealed
        assert resp.json["reason"] == "not_yours"
    assert fake_store.cases.get(offered) == before
    audit = stream(fake_store, fake_store.keys.audit)[audit_before:]
    if who == "case":  # the refusal itself is audited: who, which case, what they tried
        assert [(a["type"], a["case_id"], a["by"], a["reason"]) for a in audit] == [
            ("CaseAccessRefused", offered, "blake", "not_yours")]
    else:
        assert audit == []


@pytest.mark.parametrize(("method", "path", "body", "who"), SUPERVISOR_ENDPOINTS,
                         ids=ids(SUPERVISOR_ENDPOINTS))
def test_officers_cannot_use_supervisor_endpoints(client, staff, offered, method, path, body,
                                                  who):
    resp = call(client, method, path, body, staff.alex, offered)
    assert resp.status_code == 403
    assert resp.json["message"] == "Only supervisors may do this."


@pytest.mark.parametrize("action", ["accept", "decline", "contact"])
def test_only_officers_accept_decline_or_record_contact(client, staff, offered, action):
    body = {"decline": {"reason": "other"},
            "contact": {"channel": "phone", "outcome": "spoke"}}.get(action)
    resp = client.post(f"/api/v1/cases/{offered}/{action}", json=body, headers=staff.sam)
    assert resp.status_code == 403


def test_an_unknown_case_is_404(client, staff):
    for case_id in ("f" * 32, "not-a-case-id", "x:y"):
        resp = client.get(f"/api/v1/cases/{case_id}?purpose=supervision", headers=staff.sam)
        assert resp.status_code == 404
        assert resp.json["message"] == "No such case."


def test_the_openapi_document_lists_every_endpoint_with_bearer_auth(client):
    doc = client.get("/api/v1/openapi.json").json
    paths = {p.replace("{case_id}", "{case}").replace("{alert_id}", "{alert}")
             .replace("{officer_id}", "alex") for p in doc["paths"]}
    assert {p.split("?")[0] for _, p, _, _ in ENDPOINTS} == paths
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    decline = doc["paths"]["/api/v1/cases/{case_id}/decline"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(decline["responses"])


# --- an officer's work -------------------------------------------------------------------

def test_me_says_who_i_am_and_my_load(client, staff, offered):
    me = client.get("/api/v1/me", headers=staff.alex).json
    assert me == {"id": "alex", "name": "Alex", "role": "officer", "status": "available",
                  "on_shift": True, "districts": ["watford"], "skills": [], "load": 1,
                  "capacity": 2}
    assert client.get("/api/v1/me", headers=staff.sam).json["role"] == "supervisor"


def test_my_cases_lists_offers_with_deadlines_and_no_personal_data(
        client, fake_store, settings, staff, offered, clock):
    clock.advance(60)
    resp = client.get("/api/v1/me/cases", headers=staff.alex)
    assert resp.status_code == 200
    [offer] = resp.json["offers"]
    assert offer["id"] == offered and offer["state"] == "offered"
    assert offer["priority"] == "high" and offer["reference"]
    assert offer["seconds_left"] == pytest.approx(settings.offer_timeout(2) - 60, abs=1)
    assert offer["deadline"].endswith("+00:00")
    assert resp.json["open"] == []
    assert CANARY not in resp.get_data(as_text=True)
    assert fake_store.redis.xlen(fake_store.keys.audit) == 0  # no personal data, no audit


def test_open_cases_are_ordered_by_sla_due(client, fake_store, settings, staff, clock):
    # Alex (capacity 2) is offered both: a standard report, then an emergency
    first, _ = routed_case(fake_store, settings, threats=False, now=clock())
    second, _ = routed_case(fake_store, settings, emergency=True, now=clock())
    for case_id in (first, second):
        assert client.post(f"/api/v1/cases/{case_id}/accept", headers=staff.alex).status_code \
            == 200
    open_cases = client.get("/api/v1/me/cases", headers=staff.alex).json["open"]
    assert [c["id"] for c in open_cases] == [second, first]  # the emergency's SLA is sooner
    assert open_cases[0]["sla_seconds_left"] < open_cases[1]["sla_seconds_left"]


def test_an_officer_accepts_contacts_adds_a_note_and_closes(
        client, fake_store, publisher, staff, offered):
    case_url = f"/api/v1/cases/{offered}"
    resp = client.get(case_url, headers=staff.alex)
    assert resp.status_code == 200
    assert list(resp.json) == ["contact_safety", "case", "submission", "events", "notes"]
    assert resp.json["contact_safety"]["contact_allowed"] is True
    assert resp.json["contact_safety"]["profile"]["discreet"] is True
    assert CANARY in resp.json["submission"]["what_happened"]

    resp = client.post(f"{case_url}/accept", headers=staff.alex)
    assert resp.json == {"case_id": offered, "state": "accepted"}
    assert fake_store.redis.zscore(fake_store.keys.sla_contact, offered) is not None
    assert client.post(f"{case_url}/accept", headers=staff.alex).status_code == 409

    resp = client.post(f"{case_url}/contact", headers=staff.alex,
                       json={"channel": "phone", "outcome": "spoke"})
    assert resp.json["state"] == "contacted"
    assert fake_store.redis.zscore(fake_store.keys.sla_contact, offered) is None  # clock stopped

    resp = client.post(f"{case_url}/notes", headers=staff.alex,
                       json={"text": f"Spoke to them. {NOTE_CANARY}"})
    assert resp.status_code == 201 and resp.json["case_id"] == offered

    resp = client.post(f"{case_url}/close", headers=staff.alex, json={"outcome": "advice_given"})
    assert resp.json == {"case_id": offered, "state": "closed"}
    assert fake_store.officers.load("alex") == 0

    case = client.get(case_url, headers=staff.alex).json
    assert case["case"]["state"] == "closed" and case["case"]["outcome"] == "advice_given"
    assert [n["text"] for n in case["notes"]] == [f"Spoke to them. {NOTE_CANARY}"]
    assert [n["by"] for n in case["notes"]] == ["alex"]
    types = [e["type"] for e in case["events"]]
    assert types == ["CaseReceived", "CaseOffered", "OfferAccepted", "ContactRecorded",
                     "NoteAdded", "CaseClosed"]


def test_an_officer_cannot_close_an_offer_they_have_not_accepted(client, staff, offered):
    resp = client.post(f"/api/v1/cases/{offered}/close", headers=staff.alex,
                       json={"outcome": "advice_given"})
    assert resp.status_code == 409
    assert resp.json["reason"] == "illegal_transition"


def test_declining_reroutes_the_case_and_the_decliner_loses_access(
        client, fake_store, publisher, staff, offered):
    resp = client.post(f"/api/v1/cases/{offered}/decline", headers=staff.alex,
                       json={"reason": "conflict_of_interest", "note": "I know the family."})
    assert resp.json == {"case_id": offered, "state": "waiting"}
    assert (ASSIGN_CASE, offered) in publisher.sent
    assert client.get(f"/api/v1/cases/{offered}", headers=staff.alex).status_code == 403
    assert client.get("/api/v1/me/cases", headers=staff.alex).json["offers"] == []
    [declined] = events_of(fake_store, "OfferDeclined")
    assert declined["reason"] == "conflict_of_interest" and declined["officer_id"] == "alex"
    notes = client.get(f"/api/v1/cases/{offered}?purpose=supervision",
                       headers=staff.sam).json["notes"]
    assert [(n["kind"], n["text"]) for n in notes] == [("decline", "I know the family.")]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("decline", {}, "reason"),
    ("decline", {"reason": "bored"}, "reason"),
    ("decline", {"reason": "other", "note": "x" * 501}, "note"),
    ("decline", {"reason": "other", "extra": 1}, "extra"),
    ("contact", {"channel": "pigeon", "outcome": "spoke"}, "channel"),
    ("contact", {"channel": "phone", "outcome": "maybe"}, "outcome"),
    ("notes", {"text": ""}, "text"),
    ("notes", {"text": "   "}, "text"),
    ("notes", {"text": "x" * 5001}, "text"),
    ("close", {"outcome": "solved"}, "outcome"),
    ("close", {"outcome": "advice_given", "officer": "alex"}, "officer"),
])
def test_bodies_are_validated_strictly(client, staff, offered, path, body, field):
    resp = client.post(f"/api/v1/cases/{offered}/{path}", headers=staff.alex, json=body)
    assert resp.status_code == 422
    assert field in resp.json["errors"]["json"]


def test_a_body_must_be_json(client, staff, offered):
    resp = client.post(f"/api/v1/cases/{offered}/notes", headers=staff.alex,
                       data="text=hello", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415


def test_becoming_available_offers_me_the_next_waiting_case(
        client, fake_store, settings, publisher, staff, clock):
    resp = client.put("/api/v1/me/availability", headers=staff.alex, json={"status": "away"})
    assert resp.json == {"officer_id": "alex", "status": "away", "available_for_cases": False}
    fake_store.officers.set_status("blake", Availability.OFF_DUTY)
    case_id, result = routed_case(fake_store, settings, now=clock())
    assert result.outcome == "waiting"
    resp = client.put("/api/v1/me/availability", headers=staff.alex,
                      json={"status": "available"})
    assert resp.json["available_for_cases"] is True
    assert fake_store.cases.get(case_id)["officer"] == "alex"
    assert publisher.sent[-1][0] == DELIVER_NOTIFICATION
    changes = events_of(fake_store, "AvailabilityChanged")
    assert [(e["officer_id"], e["status"], e["by"]) for e in changes] == [
        ("alex", "away", "alex"), ("alex", "available", "alex")]
    resp = client.put("/api/v1/me/availability", headers=staff.alex, json={"status": "asleep"})
    assert resp.status_code == 422


# --- supervisors ---------------------------------------------------------------------------

def test_the_queue_view_matches_what_is_set_up(client, fake_store, settings, staff, clock):
    add_staff(fake_store, "casey", "watford", capacity=1)        # will be full
    add_staff(fake_store, "drew", "watford", status=Availability.AWAY)
    fake_store.officers.set_status("alex", Availability.OFF_DUTY)
    fake_store.officers.set_status("blake", Availability.AWAY)
    t0 = clock()
    offered_id, r = routed_case(fake_store, settings, "watford", now=t0)
    assert r.officer_id == "casey"
    emergency, r = routed_case(fake_store, settings, "watford", emergency=True, now=t0)
    assert r.outcome == "waiting"
    clock.advance(30)
    routed_case(fake_store, settings, "watford", now=clock())    # high, waiting 90s later
    routed_case(fake_store, settings, "stevenage", threats=False, now=clock())
    clock.advance(90)

    resp = client.get("/api/v1/queues", headers=staff.sam)
    assert resp.status_code == 200
    board = {d["district"]: d for d in resp.json["districts"]}
    watford, stevenage = board["watford"], board["stevenage"]
    assert watford["waiting"]["total"] == 2
    assert watford["waiting"]["by_priority"]["emergency"] == {
        "count": 1, "oldest_wait_seconds": pytest.approx(120, abs=1)}
    assert watford["waiting"]["by_priority"]["high"]["count"] == 1
    assert watford["waiting"]["by_priority"]["high"]["oldest_wait_seconds"] == \
        pytest.approx(90, abs=1)
    assert watford["officers"] == {"on_shift": 3, "available": 0, "at_capacity": 1}
    assert watford["offers"]["open"] == 1
    assert watford["offers"]["oldest_seconds"] == pytest.approx(120, abs=1)
    [offer] = watford["offers"]["items"]
    assert offer["case_id"] == offered_id and offer["officer_id"] == "casey"
    assert offer["seconds_left"] == pytest.approx(settings.offer_timeout(2) - 120, abs=1)
    assert stevenage["waiting"]["by_priority"]["standard"]["count"] == 1
    assert stevenage["officers"] == {"on_shift": 1, "available": 0, "at_capacity": 0}
    force = resp.json["force"]
    assert force["waiting"]["total"] == 3
    assert force["officers"] == {"on_shift": 4, "available": 0, "at_capacity": 1}
    assert force["offers"]["open"] == 1
    assert board["broxbourne"]["waiting"]["total"] == 0
    assert resp.json["truncated"] is False
    assert CANARY not in resp.get_data(as_text=True)


def test_reassign_to_an_officer_and_back_to_routing(client, fake_store, publisher, staff,
                                                    offered):
    url = f"/api/v1/cases/{offered}/reassign"
    resp = client.post(url, headers=staff.sam, json={"officer_id": "blake"})
    assert resp.json == {"case_id": offered, "state": "offered", "officer_id": "blake"}
    assert publisher.sent[-1][0] == DELIVER_NOTIFICATION
    assert client.get(f"/api/v1/cases/{offered}", headers=staff.blake).status_code == 200
    assert client.get(f"/api/v1/cases/{offered}", headers=staff.alex).status_code == 403

    resp = client.post(url, headers=staff.sam, json={"officer_id": None})
    assert resp.json == {"case_id": offered, "state": "waiting", "officer_id": ""}
    assert publisher.sent[-1] == (ASSIGN_CASE, offered)
    moves = events_of(fake_store, "CaseReassigned")
    assert [(e["by"], e["from_officer"], e["to_officer"]) for e in moves] == [
        ("sam", "alex", "blake"), ("sam", "blake", "")]


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"officer_id": "nobody"}, 422, "no_such_officer"),
    ({"officer_id": "sam"}, 422, "no_such_officer"),
    ({"officer_id": "alex"}, 409, "same_officer"),
    ({}, 422, None),
    ({"officer_id": "a:b"}, 422, None),
])
def test_reassign_refusals(client, staff, offered, body, status, reason):
    resp = client.post(f"/api/v1/cases/{offered}/reassign", headers=staff.sam, json=body)
    assert resp.status_code == status
    if reason:
        assert resp.json["reason"] == reason
    if status == 422:
        assert "officer_id" in resp.json["errors"]["json"]


def test_reassign_to_a_full_officer_is_refused(client, fake_store, settings, staff, offered):
    add_staff(fake_store, "casey", "dacorum", capacity=0)
    resp = client.post(f"/api/v1/cases/{offered}/reassign", headers=staff.sam,
                       json={"officer_id": "casey"})
    assert resp.status_code == 409 and resp.json["reason"] == "at_capacity"


def officer_problem(store, kind: str) -> str:
    """Casey, an officer routing would pass over for `kind` (off shift, away, ...)."""
    add_staff(store, "casey", "watford", capacity=0 if kind == "at_capacity" else 2,
              status={"officer_away": Availability.AWAY,
                      "officer_off_duty": Availability.OFF_DUTY}.get(
                          kind, Availability.AVAILABLE))
    store.redis.hset(store.keys.officer("casey"), "name", "Casey Jones")
    if kind == "off_shift":
        store.officers.set_on_shift("casey", False, None)
    return "casey"


@pytest.mark.parametrize(("kind", "words"), [
    ("off_shift", "Casey Jones is off shift."),
    ("officer_away", "Casey Jones is away."),
    ("officer_off_duty", "Casey Jones is off duty."),
    ("at_capacity", "Casey Jones is at capacity (0 of 0 cases)."),
])
def test_reassign_to_an_officer_routing_would_pass_over_needs_a_reason(
        client, fake_store, settings, staff, offered, kind, words):
    officer_problem(fake_store, kind)
    url = f"/api/v1/cases/{offered}/reassign"
    for body in ({"officer_id": "casey"}, {"officer_id": "casey", "reason": "  "},
                 {"officer_id": "casey", "reason": None}):
        resp = client.post(url, headers=staff.sam, json=body)
        assert resp.status_code == 409 and resp.json["reason"] == kind
        message = f"{words} Give a reason (`reason`) to assign anyway."
        assert resp.json["message"] == message
        assert resp.json["errors"] == {"json": {"officer_id": [message]}}
    assert fake_store.cases.get(offered)["officer"] == "alex"

    resp = client.post(url, headers=staff.sam,
                       json={"officer_id": "casey", "reason": "Casey is covering tonight."})
    assert resp.status_code == 200
    [note_id] = [n["id"] for n in fake_store.notes.list(offered) if n["kind"] == "override"]
    assert resp.json == {"case_id": offered, "state": "offered", "officer_id": "casey",
                         "overridden": [kind], "override_reason": "Casey is covering tonight.",
                         "override_note": note_id}
    # the reason is a sealed note; the event and the audit say what was overridden
    assert override_notes(fake_store, settings, offered) == [
        f"Reassigned past routing's rules ({kind.replace('_', ' ')}): "
        "Casey is covering tonight."]
    [moved] = events_of(fake_store, "CaseReassigned")
    assert moved["overridden"] == kind and "override_reason" not in moved
    [action] = [f for _, f in fake_store.redis.xrange(fake_store.keys.audit)
                if f["type"] == "CaseActionTaken"]
    assert (action["by"], action["via"], action["officer_id"], action["overridden"],
            action["override_note"]) == ("sam", "api", "casey", kind, note_id)
    assert "Casey is covering" not in str(stream(fake_store, fake_store.keys.audit)) + str(
        stream(fake_store, fake_store.keys.events))


def test_reassign_to_an_officer_without_a_required_skill_needs_a_reason(
        client, fake_store, staff, offered):
    fake_store.redis.hset(fake_store.keys.case(offered), "required_skills", "bsl")
    url = f"/api/v1/cases/{offered}/reassign"
    resp = client.post(url, headers=staff.sam, json={"officer_id": "blake"})
    assert resp.status_code == 409 and resp.json["reason"] == "lacks_skill"
    assert resp.json["errors"]["json"]["officer_id"] == [
        "Blake does not have BSL (the case needs it). Give a reason (`reason`) to assign "
        "anyway."]
    resp = client.post(url, headers=staff.sam,
                       json={"officer_id": "blake", "reason": "Interpreter booked."})
    assert resp.status_code == 200 and resp.json["overridden"] == ["lacks_skill:bsl"]


def test_a_reason_is_checked_like_any_text(client, staff, offered):
    url = f"/api/v1/cases/{offered}/reassign"
    resp = client.post(url, headers=staff.sam, json={"officer_id": "blake", "reason": "x" * 501})
    assert resp.status_code == 422 and "reason" in resp.json["errors"]["json"]
    resp = client.post(url, headers=staff.sam, json={"officer_id": "blake", "reason": 7})
    assert resp.status_code == 422 and "reason" in resp.json["errors"]["json"]


def test_a_supervisor_may_close_any_open_case(client, fake_store, settings, staff, clock):
    fake_store.officers.set_status("alex", Availability.AWAY)
    fake_store.officers.set_status("blake", Availability.AWAY)
    case_id, result = routed_case(fake_store, settings, now=clock())
    assert result.outcome == "waiting"
    resp = client.post(f"/api/v1/cases/{case_id}/close", headers=staff.sam,
                       json={"outcome": "duplicate"})
    assert resp.json["state"] == "closed"
    [closed] = events_of(fake_store, "CaseClosed")
    assert closed["by"] == "sam"


def test_a_supervisor_sets_an_officers_availability(client, fake_store, staff):
    resp = client.put("/api/v1/officers/blake/availability", headers=staff.sam,
                      json={"status": "off_duty"})
    assert resp.json == {"officer_id": "blake", "status": "off_duty",
                         "available_for_cases": False}
    assert fake_store.officers.get("blake").status is Availability.OFF_DUTY
    [change] = events_of(fake_store, "AvailabilityChanged")
    assert (change["officer_id"], change["by"]) == ("blake", "sam")
    resp = client.put("/api/v1/officers/nobody/availability", headers=staff.sam,
                      json={"status": "away"})
    assert resp.status_code == 404


def test_an_alert_is_listed_then_acknowledged_by_name(client, fake_store, settings, staff,
                                                      clock):
    fake_store.officers.set_status("alex", Availability.AWAY)
    fake_store.officers.set_status("blake", Availability.AWAY)
    case_id, _ = routed_case(fake_store, settings, emergency=True, now=clock())
    [alert] = client.get("/api/v1/alerts", headers=staff.sam).json["alerts"]
    assert alert["kind"] == "emergency_waiting" and alert["case_id"] == case_id
    assert alert["priority"] == "emergency" and alert["status"] == "open"

    resp = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=staff.sam)
    assert resp.status_code == 200
    assert resp.json["status"] == "acknowledged" and resp.json["acknowledged_by"] == "sam"
    assert client.get("/api/v1/alerts", headers=staff.sam).json["alerts"] == []
    [ack] = events_of(fake_store, "AlertAcknowledged")
    assert (ack["alert_id"], ack["by"]) == (alert["id"], "sam")

    add_staff(fake_store, "sky", "watford", role=Role.SUPERVISOR)
    again = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=staff.sam)
    assert again.status_code == 409
    assert fake_store.alerts.get(alert["id"])["acknowledged_by"] == "sam"
    assert client.post(f"/api/v1/alerts/{'0' * 32}/acknowledge",
                       headers=staff.sam).status_code == 404


def test_offer_statistics_count_outcomes_and_the_median_time_to_accept(
        client, fake_store, settings, staff, clock):
    add_staff(fake_store, "casey", "watford", capacity=5)
    accepted = []
    for wait in (10, 30, 50):
        case_id, result = routed_case(fake_store, settings, now=clock())
        clock.advance(wait)
        holder = staff.alex if result.officer_id == "alex" else bearer(
            fake_store.officers.issue_token(result.officer_id))
        assert client.post(f"/api/v1/cases/{case_id}/accept", headers=holder).status_code == 200
        accepted.append(case_id)
    declined_id, result = routed_case(fake_store, settings, now=clock())
    holder = bearer(fake_store.officers.issue_token(result.officer_id))
    client.post(f"/api/v1/cases/{declined_id}/decline", headers=holder,
                json={"reason": "no_capacity"})

    stats = client.get("/api/v1/stats/offers?hours=1", headers=staff.sam).json
    assert stats["offered"] == 4 and stats["accepted"] == 3 and stats["declined"] == 1
    assert stats["expired"] == 0
    assert stats["median_seconds_to_accept"] == pytest.approx(30)
    assert stats["decline_reasons"] == {"no_capacity": 1}
    assert stats["by_district"]["watford"]["accepted"] == 3
    for bad in ("0", "721", "soon"):
        assert client.get(f"/api/v1/stats/offers?hours={bad}",
                          headers=staff.sam).status_code == 422


def test_sla_at_risk_then_breached_and_still_shown_after_the_alert(
        client, fake_store, settings, staff, clock):
    fake_store.officers.set_status("alex", Availability.AWAY)
    fake_store.officers.set_status("blake", Availability.AWAY)
    case_id, _ = routed_case(fake_store, settings, now=clock())   # high: accept within 1h
    target = settings.sla_accept_seconds(2)
    assert client.get("/api/v1/sla", headers=staff.sam).json == {"at_risk": [], "breached": []}

    clock.advance(target * 0.8)  # 20% left: at risk
    view = client.get("/api/v1/sla", headers=staff.sam).json
    [item] = view["at_risk"]
    assert item["case_id"] == case_id and item["clock"] == "accept"
    assert item["seconds_left"] == pytest.approx(target * 0.2, abs=2)

    clock.advance(target * 0.3)
    view = client.get("/api/v1/sla", headers=staff.sam).json
    assert view["at_risk"] == [] and [i["case_id"] for i in view["breached"]] == [case_id]

    # the sweeper alerts and stops the timer; the breach is still shown until handled
    fake_store.alerts.raise_for_case("sla_breach", case_id, now=clock(), timer="sla_accept")
    view = client.get("/api/v1/sla", headers=staff.sam).json
    [breach] = view["breached"]
    assert breach["case_id"] == case_id and breach["seconds_left"] < 0


def test_the_contact_clock_is_watched_after_acceptance(client, fake_store, staff, offered,
                                                      settings, clock):
    client.post(f"/api/v1/cases/{offered}/accept", headers=staff.alex)
    clock.advance(settings.sla_contact_seconds(2) * 0.9)
    [item] = client.get("/api/v1/sla", headers=staff.sam).json["at_risk"]
    assert (item["case_id"], item["clock"], item["officer_id"]) == (offered, "contact", "alex")


def test_dead_letters_list_cases_and_notifications(client, fake_store, settings, staff, clock,
                                                   offered):
    stuck = create_case(fake_store, settings, now=clock())
    fake_store.cases.dead_letter(stuck, now=clock(), reason="routing kept failing")
    offer_note = fake_store.redis.zrange(fake_store.keys.notify_outbox, 0, -1)[0]
    fake_store.notifications.dead_letter(offer_note, clock() + 1)
    letters = client.get("/api/v1/dead-letters", headers=staff.sam).json["dead_letters"]
    assert [(d["kind"], d["case_id"]) for d in letters] == [
        ("notification", offered), ("case", stuck)]
    assert letters[0]["what"] == "offer"
    assert letters[1]["reason"] == "routing kept failing"


# --- the audit trail and personal data -----------------------------------------------------

def test_every_case_read_is_audited_and_so_is_a_refused_read(client, fake_store, staff,
                                                             offered):
    client.get(f"/api/v1/cases/{offered}", headers=staff.alex)
    client.get(f"/api/v1/cases/{offered}?purpose=request&reference=41/123/26",
               headers=staff.sam)
    client.get(f"/api/v1/cases/{offered}", headers=staff.blake)   # refused
    client.get(f"/api/v1/cases/{offered}")                        # anonymous
    audit = stream(fake_store, fake_store.keys.audit)
    assert [(a["type"], a["case_id"], a["by"]) for a in audit] == [
        ("CaseViewed", offered, "alex"), ("CaseViewed", offered, "sam"),
        ("CaseAccessRefused", offered, "blake")]
    chain = {"prev", "hash", "kid"}  # every audit entry's place in the hash chain
    assert set(audit[0]) == {"type", "case_id", "by", "via", "at"} | chain
    assert set(audit[1]) == {"type", "case_id", "by", "via", "at", "purpose",
                             "reference"} | chain  # not the case's officer: why
    assert (audit[1]["purpose"], audit[1]["reference"]) == ("request", "41/123/26")
    assert set(audit[2]) == {"type", "case_id", "by", "action", "reason", "via", "at"} | chain
    assert [a["via"] for a in audit] == ["api"] * 3  # where from: never an address
    viewed = events_of(fake_store, "CaseViewed")
    assert [(e["case_id"], e["by"]) for e in viewed] == [(offered, "alex"), (offered, "sam")]


def test_personal_data_reaches_the_reader_and_nowhere_else(
        client, fake_store, staff, offered, caplog):
    caplog.set_level(logging.DEBUG)
    client.post(f"/api/v1/cases/{offered}/notes", headers=staff.alex,
                json={"text": f"Called back. {NOTE_CANARY}"})
    resp = client.get(f"/api/v1/cases/{offered}", headers=staff.alex)
    body = resp.get_data(as_text=True)
    assert CANARY in body and NOTE_CANARY in body
    client.post(f"/api/v1/cases/{offered}/decline", headers=staff.alex,
                json={"reason": "other", "note": f"Declined. {NOTE_CANARY}"})

    logged = "\n".join([caplog.text] + [json.dumps(r.__dict__, default=str)
                                        for r in caplog.records])
    assert CANARY not in logged and NOTE_CANARY not in logged
    for key in (fake_store.keys.audit, fake_store.keys.events, fake_store.keys.case_log(offered)):
        text = json.dumps(stream(fake_store, key))
        assert CANARY not in text and NOTE_CANARY not in text
    stored = json.dumps(fake_store.redis.lrange(fake_store.keys.case_notes(offered), 0, -1))
    assert NOTE_CANARY not in stored and "Called back" not in stored   # notes sealed at rest


def test_a_supervisor_may_add_a_note_to_any_case(client, fake_store, staff, offered):
    resp = client.post(f"/api/v1/cases/{offered}/notes", headers=staff.sam,
                       json={"text": "Checked in with the officer."})
    assert resp.status_code == 201
    notes = client.get(f"/api/v1/cases/{offered}", headers=staff.alex).json["notes"]
    assert [(n["by"], n["text"]) for n in notes] == [("sam", "Checked in with the officer.")]
    [added] = events_of(fake_store, "NoteAdded")
    assert set(added) == {"type", "case_id", "note_id", "kind", "by", "at"}


def test_a_case_sealed_with_a_retired_key_is_a_500_and_not_audited(
        client, fake_store, staff, offered):
    fake_store.redis.hset(fake_store.keys.case(offered), "sealed",
                          Sealer([new_key()]).seal({"submission": {}}))
    resp = client.get(f"/api/v1/cases/{offered}", headers=staff.alex)
    assert resp.status_code == 500
    assert "sealing keys" in resp.json["message"]
    assert fake_store.redis.xlen(fake_store.keys.audit) == 0


# --- the app around the API ----------------------------------------------------------------

def test_security_headers_on_every_response(client, staff):
    for resp in (client.get("/"), client.get("/api/v1/me", headers=staff.alex),
                 client.get("/api/v1/me"), client.get("/api/v1/openapi.json")):
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_health_answers_and_the_start_page_asks_to_sign_in(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok", "redis": "ok"}
    start = client.get("/")
    assert start.status_code == 302 and "/login" in start.headers["Location"]


def test_storage_down_is_503_with_retry_after(settings, publisher):
    down = Store(redis_client("redis://127.0.0.1:1/0", timeout=0.5), prefix="test:")
    client = create_app(settings, store=down, publisher=publisher).test_client()
    resp = client.get("/api/v1/me", headers=bearer("lt_anything"))
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize("officer_id", [
    "blake:cases",      # the name of blake's open-cases set, not an officer
    "a:b", "-leading-dash", "x" * 65, "blake cases", "%00", "blake%3Acases",
])
def test_a_malformed_officer_id_is_a_404_never_a_500(client, fake_store, staff, officer_id):
    fake_store.redis.sadd(fake_store.keys.officer_cases("blake"), "case-x")
    resp = client.put(f"/api/v1/officers/{officer_id}/availability", headers=staff.sam,
                      json={"status": "away"})
    assert resp.status_code == 404, resp.text
    assert resp.json["message"] == "No such officer."
    assert fake_store.redis.type(fake_store.keys.officer_cases("blake")) == "set"


def test_the_store_refuses_ids_that_would_name_another_kind_of_key(fake_store, staff):
    fake_store.redis.sadd(fake_store.keys.officer_cases("blake"), "case-x")
    with pytest.raises(KeyError):
        fake_store.officers.set_status("blake:cases", Availability.AWAY)
    assert fake_store.officers.get("blake:cases") is None
    assert fake_store.officers.raw("blake:cases") == {}
