"""The sweeper's timers: offer expiry, rota changes, re-publishing, SLA and wait alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.router.sweeper import sweep
from shared import casework
from shared.domain.officers import Officer
from shared.domain.rota import Rota, parse_shift
from tests.support.world import Clock, World

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def world(fake_store) -> World:
    # Monday 2026-11-23 07:00 UTC (= 07:00 GMT)
    return World(fake_store, clock=Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC).timestamp()))


def save_with_rota(world: World, officer_id: str, district: str, shift: str) -> None:
    rota = Rota(shifts=(parse_shift(shift),))
    at = datetime.fromtimestamp(world.clock(), UTC)
    officer = Officer(id=officer_id, name=officer_id, districts=(district,), rota=rota)
    change = rota.next_change(at, LONDON)
    world.store.officers.save(officer, on_shift=rota.on_shift(at, LONDON),
                              next_change=change.timestamp() if change else None)


def test_an_offer_past_its_deadline_is_expired_and_re_routed(world):
    world.officer("slow", "watford")
    world.officer("next", "watford")
    result = world.new_routed_case()
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    report = sweep(world.deps)
    assert report.expired == [result.case_id]
    assert world.state(result.case_id) == "waiting"
    assert ("router.assign_case", result.case_id) in world.publisher.sent


def test_a_shift_start_makes_an_officer_available_and_drains_the_queue(world):
    save_with_rota(world, "early", "watford", "mon-fri 08:00-16:00")
    case_id = world.case()
    assert world.route(case_id).outcome == "waiting"
    world.clock.advance(3600 + 1)  # 08:00 GMT
    report = sweep(world.deps)
    assert "early" in report.shift_changes
    assert world.holder(case_id) == "early"


def test_a_shift_end_withdraws_pending_offers_for_someone_on_shift(world):
    world.clock.advance(2 * 3600)  # 09:00
    save_with_rota(world, "early", "watford", "mon-fri 08:00-10:00")
    world.officer("allday", "broxbourne")
    result = world.new_routed_case()
    assert result.officer_id == "early"
    world.clock.advance(3600 + 1)  # 10:00: early goes off shift with the offer pending
    sweep(world.deps)
    assert world.state(result.case_id) == "waiting"
    assert world.store.officers.load("early") == 0
    assert world.route(result.case_id).officer_id == "allday"


def test_a_case_whose_message_was_lost_is_re_published(world):
    case_id = world.case()  # stored with an outbox entry; the router never saw it
    assert sweep(world.deps).republished_cases == []  # not due yet
    world.clock.advance(world.settings.outbox_grace_seconds + 1)
    assert sweep(world.deps).republished_cases == [case_id]
    assert sweep(world.deps).republished_cases == []  # backed off


def test_a_notification_not_yet_delivered_is_re_published(world):
    world.officer("o", "watford")
    result = world.new_routed_case()
    world.clock.advance(world.settings.outbox_grace_seconds + 1)
    report = sweep(world.deps)
    assert result.notification_id in report.republished_notifications


def test_accept_and_contact_sla_breaches_alert_supervisors_once(world):
    world.officer("o", "watford")
    late = world.new_routed_case().case_id
    world.clock.advance(world.settings.sla_accept_seconds(3))
    report = sweep(world.deps)
    assert f"sla_accept:{late}" in report.alerts
    assert f"sla_accept:{late}" not in sweep(world.deps).alerts


def test_a_contact_sla_breach_is_raised_after_acceptance(world):
    world.officer("o", "watford")
    case_id = world.new_routed_case().case_id
    casework.accept(world.deps, case_id, "o")
    world.clock.advance(world.settings.sla_contact_seconds(3) + 1)
    report = sweep(world.deps)
    assert f"sla_contact:{case_id}" in report.alerts


def test_recording_contact_stops_the_contact_sla_clock(world):
    world.officer("o", "watford")
    case_id = world.new_routed_case().case_id
    casework.accept(world.deps, case_id, "o")
    casework.record_contact(world.deps, case_id, "o", "phone", "spoke")
    world.clock.advance(world.settings.sla_contact_seconds(3) + 1)
    assert f"sla_contact:{case_id}" not in sweep(world.deps).alerts


def test_a_long_wait_alerts_supervisors(world):
    case_id = world.case()
    world.route(case_id)
    world.clock.advance(world.settings.wait_alert_seconds + 1)
    assert f"waiting_too_long:{case_id}" in sweep(world.deps).alerts
    kinds = [a["kind"] for a in world.store.alerts.open()]
    assert "waiting_too_long" in kinds
