"""DPA 2018 s.62: every read and every change of a case's personal data by staff is in the
audit trail (who, which case, what, when, from where), and so are sign-ins, failed sign-ins
and sign-outs.

The case routes are read from the console's URL map (`RULES`, as in the access matrix):
every rule with `<case_id>` in its URL, called successfully by a caller allowed to use it,
must append at least one audit entry naming that case and that caller. A new case route
without an audit write fails here, unless it is put in `NO_PERSONAL_DATA` with a reason.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from shared import casework
from shared.bootstrap import Deps
from shared.config import Settings
from shared.domain import events
from shared.store import Store
from shared.store.accounts import username_digest
from tests.fakes import FakePublisher
from tests.support.console import csrf_token
from tests.unit.console.test_console_access_matrix import (
    API,
    BODIES,
    PAGES,
    PASSWORD,
    QUERIES,
    RULES,
    World,
    client_for,
    make_world,
    path_for,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")

# Case routes that touch no personal data, each with its reason (none so far).
NO_PERSONAL_DATA: dict[str, str] = {}
# Views that need the case accepted first (by its officer, before the call under test).
NEEDS_ACCEPTED = frozenset({"contact", "record_update", "close"})
STAFF_ID = {"officer": "officer", "supervisor": "supervisor", "admin": "admin"}
CASE_RULES = [(rule, method) for rule, method in RULES if "case_id" in rule.arguments]


@pytest.fixture
def world(settings: Settings, fake_store: Store, publisher: FakePublisher) -> World:
    """As in the access matrix: the staff, and a case offered to "officer"."""
    return make_world(settings, fake_store, publisher)


def caller_for(rule: Rule) -> str:
    """One caller allowed to use the rule (the case's officer where they may)."""
    blueprint, _, view = rule.endpoint.rpartition(".")
    allowed = API[view] if blueprint == "staff_api" else PAGES[blueprint]
    for role in ("officer", "supervisor", "admin"):
        if role in allowed:
            return role
    pytest.fail(f"no staff caller may use {rule.endpoint}")


def test_the_table_covers_every_case_route() -> None:
    assert len(CASE_RULES) >= 15  # 7 API, 8 pages when this was written
    assert {r.endpoint for r, _ in CASE_RULES} >= {
        "staff_api.read_case", "staff_api.reassign", "officer.case", "officer.add_note",
        "supervisor.case", "supervisor.reassign"}
    assert set(NO_PERSONAL_DATA) <= {r.endpoint for r, _ in CASE_RULES}


@pytest.mark.parametrize(("rule", "method"), CASE_RULES,
                         ids=[f"{m} {r.rule}" for r, m in CASE_RULES])
def test_every_case_route_writes_an_audit_entry_naming_the_case_and_the_caller(
        world: World, fake_store: Store, rule: Rule, method: str) -> None:
    if rule.endpoint in NO_PERSONAL_DATA:
        pytest.skip(NO_PERSONAL_DATA[rule.endpoint])
    view = rule.endpoint.rpartition(".")[2]
    role = caller_for(rule)
    client = client_for(world, role)
    deps: Deps = world.app.extensions["liaison_console"]
    if view in NEEDS_ACCEPTED:
        casework.accept(deps, world.case_id, "officer")
    path, known = path_for(rule, world.case_id)
    assert known, rule.rule
    if method == "GET" and role != "officer" and view in QUERIES:
        path += "?" + QUERIES[view]  # the reason anyone but the case's officer gives
    body = BODIES.get(view, {})
    api = path.startswith("/api/")
    kwargs: dict[str, object] = {}
    if api:
        kwargs["headers"] = {"Authorization": f"Bearer {world.tokens[role]}"}
        if method == "POST":
            kwargs["json"] = body
    elif method == "POST":
        form = {k: str(v) for k, v in body.items() if v is not None}
        kwargs["data"] = form | {"csrf_token": csrf_token(world.app, client)}
    before = fake_store.redis.xrevrange(fake_store.keys.audit, count=1)
    low = "(" + before[0][0] if before else "-"

    response = client.open(path, method=method, **kwargs)  # type: ignore[arg-type]

    assert response.status_code in (200, 201, 302), (rule.rule, response.status_code)
    added = [f for _, f in fake_store.redis.xrange(fake_store.keys.audit, min=low)]
    mine = [f for f in added if f.get("case_id") == world.case_id
            and f.get("by") == STAFF_ID[role]]
    assert mine, f"{method} {rule.rule} wrote no audit entry for the case and caller: {added}"
    assert all(f.get("via") == ("api" if api else "console") for f in mine), mine
    assert all(f["type"] in vars(events).values() for f in mine)


# Routes that collect personal data for a new case (a 101 call taken by phone): no case id
# in the URL, so each is listed here; its POST must audit the collection as the caller's.
COLLECTING = frozenset({"call.record_callback", "call.record_report"})
COLLECTION_RULES = [(rule, method) for rule, method in RULES
                    if rule.endpoint in COLLECTING and method == "POST"]


def test_the_collection_table_covers_every_call_page_post() -> None:
    assert {r.endpoint for r, _ in COLLECTION_RULES} == COLLECTING
    assert {r.endpoint for r, m in RULES if r.endpoint.startswith("call.") and m == "POST"} \
        == COLLECTING


@pytest.mark.parametrize(("rule", "method"), COLLECTION_RULES,
                         ids=[f"{m} {r.rule}" for r, m in COLLECTION_RULES])
def test_every_collecting_route_audits_the_collection_as_the_callers(
        world: World, fake_store: Store, rule: Rule, method: str) -> None:
    client = client_for(world, "call_handler")
    body = BODIES[rule.endpoint.rpartition(".")[2]]
    before = fake_store.redis.xrevrange(fake_store.keys.audit, count=1)
    low = "(" + before[0][0] if before else "-"

    response = client.post(rule.rule, data=body | {"csrf_token": csrf_token(world.app, client)})

    assert response.status_code == 200, (rule.rule, response.get_data(as_text=True))
    added = [f for _, f in fake_store.redis.xrange(fake_store.keys.audit, min=low)]
    mine = [f for f in added if f["type"] == events.CASE_COLLECTED]
    assert len(mine) == 1, added
    assert {k: mine[0].get(k) for k in ("by", "taken_by", "via")} == {
        "by": "call_handler", "taken_by": "call_handler", "via": "console-phone"}
    assert fake_store.cases.get(mine[0]["case_id"]), "the entry names the new case"


# --- what the entries say ------------------------------------------------------------------

def audit_of(store: Store, kind: str) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit) if f["type"] == kind]


def test_each_case_action_names_its_case_action_caller_and_door(
        world: World, fake_store: Store) -> None:
    officer = client_for(world, "officer")
    token = {"Authorization": f"Bearer {world.tokens['officer']}"}
    assert officer.post(f"/cases/{world.case_id}/accept",
                        data={"csrf_token": csrf_token(world.app, officer)}).status_code == 302
    assert officer.post(f"/api/v1/cases/{world.case_id}/notes", json={"text": "A note."},
                        headers=token).status_code == 201
    supervisor = client_for(world, "supervisor")
    assert supervisor.post(f"/dashboard/cases/{world.case_id}/reassign",
                           data={"csrf_token": csrf_token(world.app, supervisor),
                                 "officer_id": ""}).status_code == 302  # to routing
    actions = audit_of(fake_store, events.CASE_ACTION_TAKEN)
    assert [(a["case_id"], a["action"], a["by"], a["via"], a.get("officer_id"))
            for a in actions] == [(world.case_id, "accept", "officer", "console", None),
                                  (world.case_id, "reassign", "supervisor", "console", "")]
    notes = audit_of(fake_store, events.NOTE_ADDED)
    assert [(n["case_id"], n["by"], n["via"]) for n in notes] == [
        (world.case_id, "officer", "api")]
    assert notes[0]["note_id"] == fake_store.notes.list(world.case_id)[0]["id"]
    assert "A note." not in str(fake_store.redis.xrange(fake_store.keys.audit))


def sign_in_audit(store: Store) -> list[dict[str, str]]:
    kinds = (events.SIGNED_IN, events.SIGN_IN_FAILED, events.SIGNED_OUT)
    return [f for _, f in store.redis.xrange(store.keys.audit) if f["type"] in kinds]


def login(app: Flask, client: FlaskClient, username: str, password: str) -> int:
    client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_token(app, client),
                                       "username": username,
                                       "password": password}).status_code


def test_sign_in_failure_and_sign_out_are_audited_without_what_was_typed(
        world: World, fake_store: Store) -> None:
    client = world.app.test_client()
    typed = "  Pa55word-Typed-As-Username "
    assert login(world.app, client, typed, PASSWORD) == 200
    assert login(world.app, client, "officer", "wrong " + PASSWORD) == 200
    assert login(world.app, client, "officer", PASSWORD) == 302
    assert client.post("/logout", data={"csrf_token": csrf_token(world.app, client)}
                       ).status_code == 302
    entries = sign_in_audit(fake_store)
    assert [(e["type"], e["by"], e["via"], e.get("username_digest")) for e in entries] == [
        (events.SIGN_IN_FAILED, "", "console", username_digest("pa55word-typed-as-username")),
        (events.SIGN_IN_FAILED, "officer", "console", username_digest("officer")),
        (events.SIGNED_IN, "officer", "console", None),
        (events.SIGNED_OUT, "officer", "console", None)]
    everything = str(fake_store.redis.xrange(fake_store.keys.audit))
    assert "pa55word" not in everything.lower() and PASSWORD not in everything
    assert "127.0.0.1" not in everything  # never an address
