"""The staff JSON API against a real redis-server (real Lua), through the Flask test client."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from services.console.app import create_app
from shared.config import Settings
from shared.domain.officers import Availability, Role
from shared.messaging import ASSIGN_CASE, DELIVER_NOTIFICATION
from shared.store import Store
from tests.fakes import FakePublisher
from tests.support.cases import CANARY, add_staff, routed_case

pytestmark = pytest.mark.integration


@pytest.fixture
def app(real_settings: Settings, publisher: FakePublisher) -> Flask:
    return create_app(real_settings, publisher=publisher)


@pytest.fixture
def tokens(store: Store) -> dict[str, dict[str, str]]:
    made = {"alex": add_staff(store, "alex", "watford"),
            "blake": add_staff(store, "blake", "stevenage"),
            "sam": add_staff(store, "sam", "watford", role=Role.SUPERVISOR)}
    return {name: {"Authorization": f"Bearer {token}"} for name, token in made.items()}


def test_an_officer_works_a_case_from_offer_to_close(client, store, real_settings, tokens):
    case_id, result = routed_case(store, real_settings, "watford")
    assert result.officer_id == "alex"
    alex = tokens["alex"]
    [offer] = client.get("/api/v1/me/cases", headers=alex).json["offers"]
    assert offer["id"] == case_id and offer["seconds_left"] > 0

    case = client.get(f"/api/v1/cases/{case_id}", headers=alex)
    assert case.status_code == 200 and CANARY in case.json["submission"]["what_happened"]
    assert next(iter(case.json)) == "contact_safety"
    steps = [("accept", None, "accepted"),
             ("contact", {"channel": "sms", "outcome": "left_message"}, "contacted"),
             ("close", {"outcome": "referred"}, "closed")]
    for action, body, state in steps:
        resp = client.post(f"/api/v1/cases/{case_id}/{action}", headers=alex, json=body)
        assert resp.status_code == 200 and resp.json["state"] == state, resp.json
        if action == "contact":
            note = client.post(f"/api/v1/cases/{case_id}/notes", headers=alex,
                               json={"text": "Left a discreet message."})
            assert note.status_code == 201
    assert store.officers.load("alex") == 0
    assert client.get("/api/v1/me/cases", headers=alex).json == {"offers": [], "open": []}

    audit = [f for _, f in store.redis.xrange(store.keys.audit)]
    assert [(a["case_id"], a["by"]) for a in audit] == [(case_id, "alex")] * 5
    assert [(a["type"], a.get("action"), a["via"]) for a in audit] == [
        ("CaseViewed", None, "api"), ("CaseActionTaken", "accept", "api"),
        ("CaseActionTaken", "contact", "api"), ("NoteAdded", None, "api"),
        ("CaseActionTaken", "close", "api")]
    log = [e["type"] for e in store.cases.log(case_id)]
    assert log[-4:] == ["OfferAccepted", "ContactRecorded", "NoteAdded", "CaseClosed"]
    everything = json.dumps([store.redis.xrange(store.keys.events),
                             store.redis.lrange(store.keys.case_notes(case_id), 0, -1)])
    assert CANARY not in everything and "discreet message" not in everything


def test_a_decline_is_republished_and_hidden_from_the_decliner(client, store, real_settings,
                                                               tokens, publisher):
    case_id, _ = routed_case(store, real_settings, "watford")
    resp = client.post(f"/api/v1/cases/{case_id}/decline", headers=tokens["alex"],
                       json={"reason": "going_off_shift"})
    assert resp.json["state"] == "waiting"
    assert (ASSIGN_CASE, case_id) in publisher.sent
    assert client.get(f"/api/v1/cases/{case_id}", headers=tokens["alex"]).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}", headers=tokens["blake"]).status_code == 403
    audit = [f for _, f in store.redis.xrange(store.keys.audit)]  # the decline, both
    assert [(a["type"], a["by"]) for a in audit] == [("CaseActionTaken", "alex"),  # refusals,
                                                      ("CaseAccessRefused", "alex"),  # no read
                                                      ("CaseAccessRefused", "blake")]
    assert audit[0]["action"] == "decline" and audit[0]["case_id"] == case_id


def test_a_supervisor_watches_the_queues_and_reassigns(client, store, real_settings, tokens,
                                                       publisher):
    store.officers.set_status("blake", Availability.AWAY)
    offered_id, _ = routed_case(store, real_settings, "watford")
    routed_case(store, real_settings, "watford")
    waiting_id, result = routed_case(store, real_settings, "watford")  # alex is full
    assert result.outcome == "waiting"
    sam = tokens["sam"]
    watford = next(d for d in client.get("/api/v1/queues", headers=sam).json["districts"]
                   if d["district"] == "watford")
    assert watford["waiting"]["total"] == 1
    assert watford["officers"] == {"on_shift": 1, "available": 0, "at_capacity": 1}
    assert watford["offers"]["open"] == 2

    assert client.get("/api/v1/queues", headers=tokens["alex"]).status_code == 403
    resp = client.post(f"/api/v1/cases/{waiting_id}/reassign", headers=sam,
                       json={"officer_id": "blake"})
    assert resp.status_code == 409 and resp.json["reason"] == "officer_away"  # needs a reason
    assert "Blake is away." in resp.json["errors"]["json"]["officer_id"][0]
    resp = client.post(f"/api/v1/cases/{waiting_id}/reassign", headers=sam,
                       json={"officer_id": "blake", "reason": "Back from a meeting at two."})
    assert resp.json["officer_id"] == "blake" and resp.json["overridden"] == ["officer_away"]
    moved = [e for e in store.cases.log(waiting_id) if e["type"] == "CaseReassigned"]
    assert moved[-1]["overridden"] == "officer_away"
    assert [n["kind"] for n in store.notes.list(waiting_id)] == ["override"]  # the reason
    assert publisher.sent[-1][0] == DELIVER_NOTIFICATION
    resp = client.post(f"/api/v1/cases/{offered_id}/reassign", headers=sam,
                       json={"officer_id": None})
    assert resp.json["state"] == "waiting"
    assert publisher.sent[-1] == (ASSIGN_CASE, offered_id)
    stats = client.get("/api/v1/stats/offers", headers=sam).json
    assert stats["offered"] == 3  # two routed offers and one reassignment to an officer
