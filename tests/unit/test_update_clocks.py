"""Victims' Code update clocks end to end on fakeredis: set at intake, reset when an update
is given, stopped at close, and an overdue one alerts the supervisors once (the sweeper)."""

from __future__ import annotations

from typing import Any

import pytest

from services.notifier.templates import render
from services.router.sweeper import sweep
from shared import casework
from shared.domain.model import CaseKind
from shared.domain.notifications import Kind
from shared.receiving import receive
from shared.schemas import ReportSchema
from tests import payloads
from tests.support.world import World

DAY = 86400


@pytest.fixture
def world(fake_store) -> World:
    w = World(fake_store)
    w.officer("alex", "watford")
    return w


def new_report(world: World, **overrides: Any) -> str:
    body = ReportSchema().load(payloads.report(**overrides))
    return receive(CaseKind.REPORT, body, world.deps).case_id


def overdue_alerts(world: World, case_id: str) -> list[dict[str, str]]:
    return [a for a in world.store.alerts.open()
            if a["kind"] == "update_overdue" and a["case_id"] == case_id]


def test_an_overdue_update_alerts_the_supervisors_once(world):
    case_id = new_report(world)
    world.clock.advance(5 * DAY - 60)
    assert not [a for a in sweep(world.deps).alerts if a.startswith("update_overdue")]
    world.clock.advance(120)
    report = sweep(world.deps)
    assert f"update_overdue:{case_id}" in report.alerts
    [alert] = overdue_alerts(world, case_id)
    notices = [world.store.notifications.get(n) or {} for n in
               world.store.redis.zrange(world.store.keys.notify_outbox, 0, -1)]
    assert any(n.get("kind") == Kind.UPDATE_OVERDUE.value and n.get("case_id") == case_id
               for n in notices)
    world.clock.advance(60)
    assert f"update_overdue:{case_id}" not in sweep(world.deps).alerts  # raised once
    assert len(overdue_alerts(world, case_id)) == 1
    assert alert["reference"] == world.store.cases.get(case_id)["reference"]


def test_an_update_given_restarts_the_clock_and_a_close_stops_it(world):
    case_id = new_report(world)
    world.route(case_id)
    casework.accept(world.deps, case_id, "alex")
    world.clock.advance(2 * DAY)
    result = casework.record_update(world.deps, case_id, "alex", "sms")
    assert float(result.extra) == pytest.approx(world.clock() + 28 * DAY)
    assert world.store.redis.zscore(world.store.keys.updates_due, case_id) \
        == pytest.approx(world.clock() + 28 * DAY)
    assert world.store.cases.get(case_id)["first_contact_at"]  # an update is contact
    casework.close(world.deps, case_id, "alex", "advice_given")
    assert world.store.redis.zscore(world.store.keys.updates_due, case_id) is None
    world.clock.advance(60 * DAY)
    assert not overdue_alerts(world, case_id) and not sweep(world.deps).alerts


def test_the_overdue_notice_has_its_own_wording_and_no_personal_data():
    message = render(Kind.UPDATE_OVERDUE.value, {
        "reference": "K7XM-4QPA-R", "priority": "3", "district": "watford",
        "case_id": "a" * 32}, "https://console.example")
    assert "overdue an update" in message.subject and "K7XM-4QPA-R" in message.subject
    assert "Victims' Code" in message.body and "/cases/" + "a" * 32 in message.body
