"""A BSL interpreter or a language the person needs is required, never just preferred: such a
case waits for an officer with the skill, and a supervisor is told at once, skill named."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import free_port
from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from services.notifier.templates import render
from shared import casework
from shared.config import Settings
from shared.domain.officers import Role
from shared.messaging import DELIVER_NOTIFICATION
from shared.store import Store
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.support.console import signed_in, use_cheap_hashing
from tests.support.world import World


@pytest.fixture
def world(fake_store: Store, publisher: FakePublisher) -> World:
    return World(fake_store, publisher=publisher)


@pytest.fixture
def intake(fake_store: Store, publisher: FakePublisher) -> Flask:
    # the rate limiter points at a closed port and falls back to memory
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  rate_limit="1000 per minute", api_rate_limit="1000 per minute")
    return create_intake(settings, store=fake_store, publisher=publisher)


@pytest.fixture
def client(intake: Flask) -> Iterator[FlaskClient]:
    with intake.test_client() as c:
        yield c


def callback(client: FlaskClient, store: Store, **needs: object) -> str:
    """A Stevenage callback from someone with these needs; returns the case id."""
    resp = client.post("/api/v1/callbacks", json=payloads.callback(
        needs={"language": "", "bsl_interpreter": False, **needs},
        reason=f"Please call me about {CANARY}."))
    assert resp.status_code == 201, resp.json
    case_id = store.cases.id_for_reference(resp.json["reference"])
    assert case_id
    return case_id


def skill_alerts(store: Store) -> list[dict[str, str]]:
    return [a for a in store.alerts.open() if a["kind"] == "skill_waiting"]


def test_a_bsl_callback_waits_for_the_busy_bsl_officer_rather_than_going_to_another(
        client, world, fake_store):
    world.officer("signer", "stevenage", skills=("bsl",), capacity=1)
    world.officer("plain", "stevenage")
    world.route(world.case("stevenage", required=("bsl",)))  # the signer is now full
    assert world.store.officers.load("signer") == 1

    case_id = callback(client, fake_store, bsl_interpreter=True)
    result = world.route(case_id)

    assert result.outcome == "waiting"
    assert world.store.officers.load("plain") == 0
    assert fake_store.cases.get(case_id)["required_skills"] == "bsl"


def test_a_language_the_person_needs_is_required_too(client, world, fake_store):
    world.officer("plain", "stevenage")
    case_id = callback(client, fake_store, language="Polish")
    assert world.route(case_id).outcome == "waiting"
    world.officer("polish", "broxbourne", skills=("lang:polish",))
    assert world.route(case_id).officer_id == "polish"


def test_english_and_no_needs_constrain_nothing(client, world, fake_store):
    world.officer("plain", "stevenage")
    case_id = callback(client, fake_store, language="English")
    assert world.route(case_id).officer_id == "plain"


def test_the_bsl_officer_gets_the_waiting_case_when_they_free_up(client, world, fake_store):
    world.officer("signer", "stevenage", skills=("bsl",), capacity=1)
    world.officer("plain", "stevenage")
    first = world.route(world.case("stevenage", required=("bsl",))).case_id
    case_id = callback(client, fake_store, bsl_interpreter=True)
    world.route(case_id)
    casework.accept(world.deps, first, "signer")
    casework.close(world.deps, first, "signer", "advice_given")
    assert world.holder(case_id) == "signer"


def test_a_supervisor_is_alerted_at_once_naming_the_skill(world):
    world.officer("plain", "watford")
    case_id = world.case(required=("bsl",))
    world.route(case_id)

    [alert] = skill_alerts(world.store)
    assert alert["case_id"] == case_id and alert["skills"] == "bsl"
    # the supervisors' notification is handed to the notifier now, not after 30 minutes
    delivered = [nid for task, nid in world.publisher.sent if task == DELIVER_NOTIFICATION]
    record = world.store.notifications.get(delivered[-1])
    assert record is not None
    assert record["kind"] == "skill_waiting" and record["recipient_type"] == "supervisors"
    message = render(record["kind"], record, "https://console.example")
    assert "bsl" in message.body and record["reference"] in message.subject


def test_the_skill_alert_names_a_language_and_no_personal_data(client, world, fake_store):
    case_id = callback(client, fake_store, language="Polish")
    world.route(case_id)
    [alert] = skill_alerts(fake_store)
    assert alert["skills"] == "lang:polish"
    record = next(n for task, nid in world.publisher.sent if task == DELIVER_NOTIFICATION
                  if (n := fake_store.notifications.get(nid)) and n["kind"] == "skill_waiting")
    message = render(record["kind"], record, "https://console.example")
    assert "lang:polish" in message.body
    assert CANARY not in f"{message.subject}{message.body}{record}"


def test_the_skill_alert_is_raised_once_per_wait_not_on_every_re_route(world):
    world.officer("signer", "watford", skills=("bsl",), capacity=1)
    busy = world.route(world.case()).case_id
    case_id = world.case(required=("bsl",))
    for _ in range(3):  # the sweeper re-publishes; the router sees it again and again
        assert world.route(case_id).outcome == "waiting"
    assert len(skill_alerts(world.store)) == 1

    # the signer frees up and is offered it, declines: a new wait, a new alert
    casework.accept(world.deps, busy, "signer")
    casework.close(world.deps, busy, "signer", "advice_given")
    assert world.holder(case_id) == "signer"
    world.decline(case_id)
    world.route(case_id)
    assert len(skill_alerts(world.store)) == 2


def test_a_case_needing_no_skill_raises_no_skill_alert(world):
    world.route(world.case())
    assert skill_alerts(world.store) == []


def test_an_emergency_waiting_for_a_skill_raises_both_alerts(world):
    case_id = world.case(emergency=True, required=("bsl",))
    world.route(case_id)
    kinds = sorted(a["kind"] for a in world.store.alerts.open() if a["case_id"] == case_id)
    assert kinds == ["emergency_waiting", "skill_waiting"]


def test_the_dashboard_lists_the_alert_with_the_skill_named(world, monkeypatch):
    use_cheap_hashing(monkeypatch)
    world.officer("sam", "watford", role=Role.SUPERVISOR)
    case_id = world.case(required=("lang:polish",))
    world.route(case_id)
    app = create_console(world.settings, store=world.store, publisher=world.publisher,
                         clock=world.clock)
    page = signed_in(app, world.store, "sam").get("/dashboard").get_data(as_text=True)
    alerts = page[page.index('id="alerts-title"'):page.index("</section>",
                                                             page.index('id="alerts-title"'))]
    row = " ".join(alerts.split())
    assert "Waiting for a scarce skill" in row and "lang:polish" in row
    assert world.store.cases.get(case_id)["reference"] in row


def test_a_language_not_on_the_list_is_other_and_its_name_stays_sealed(
        client, world, fake_store):
    """What the person wrote about their language never reaches the case hash (or the AOF)
    in the clear: routing sees the code `lang:other`, supervisors are told an interpreter is
    needed, and the name they gave is only inside the sealed submission."""
    world.officer("polish-speaker", "stevenage", skills=("lang:polish",))
    case_id = callback(client, fake_store, language="other",
                       language_other="Kashubian-CANARY-lang")
    result = world.route(case_id)

    stored = fake_store.cases.get(case_id)
    assert result.outcome == "waiting" and stored["required_skills"] == "lang:other"
    [alert] = skill_alerts(fake_store)
    assert alert["skills"] == "lang:other"
    plain = [v for v in stored.values() if v != stored["sealed"]]
    assert not any("Kashubian" in v for v in plain)
    everything = json.dumps([fake_store.redis.hgetall(k) for k in fake_store.redis.keys("*")
                             if fake_store.redis.type(k) == "hash"])
    assert "Kashubian" not in everything  # sealed: not even in any other hash


def test_a_language_named_loosely_routes_by_its_code(client, world, fake_store):
    world.officer("polish-speaker", "stevenage", skills=("lang:polish",))
    case_id = callback(client, fake_store, language="POLISH")
    assert world.route(case_id).officer_id == "polish-speaker"
