"""An officer who becomes ineligible — away, off duty, on leave, off shift, no longer an
officer — loses their pending offers at once, and those cases are routed again. Accepted
and contacted cases stay theirs; a lower capacity takes nothing back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from ops.cli import Runtime, main
from services.console.app import create_app
from services.router.sweeper import sweep
from shared import casework
from shared.domain.officers import Availability, Role
from shared.domain.rota import Leave, Rota, parse_shift
from shared.messaging import ASSIGN_CASE
from shared.store import Store
from tests.fakes import FakePublisher
from tests.support.console import signed_in, use_cheap_hashing
from tests.support.world import Clock, World

# Monday 23 November 2026, 09:00 in London (GMT)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(fake_store: Store, publisher: FakePublisher) -> World:
    return World(fake_store, publisher=publisher, clock=Clock(NOW.timestamp()))


def offered_to_a(world: World, **case: object) -> str:
    """Officers A (Watford) and B (Three Rivers, a neighbour); a Watford case offered to A."""
    world.officer("a", "watford")
    world.officer("b", "three_rivers")
    result = world.new_routed_case("watford", **case)  # type: ignore[arg-type]
    assert result.officer_id == "a"
    return result.case_id


def withdrawals(world: World, case_id: str) -> list[dict[str, str]]:
    return [e for e in world.store.cases.log(case_id) if e["type"] == "OfferWithdrawn"]


def assert_withdrawn(world: World, case_id: str, officer_id: str, reason: str) -> None:
    assert world.state(case_id) == "waiting"
    assert case_id not in world.store.officers.cases(officer_id)
    [event] = withdrawals(world, case_id)
    assert (event["officer_id"], event["reason"]) == (officer_id, reason)


@pytest.mark.parametrize(("status", "reason"), [(Availability.AWAY, "officer_away"),
                                                 (Availability.OFF_DUTY, "officer_off_duty")])
def test_going_away_or_off_duty_withdraws_the_pending_offer_and_re_routes_it(
        world, status, reason):
    case_id = offered_to_a(world)
    casework.set_availability(world.deps, "a", status)

    assert_withdrawn(world, case_id, "a", reason)
    assert (ASSIGN_CASE, case_id) in world.publisher.sent  # announced to the router now
    if status is Availability.AWAY:  # away is busy, not gone: Watford (its district ring)
        assert world.route(case_id).outcome == "waiting"  # holds it until its time is up
        priority = int(world.store.cases.get(case_id)["priority"])
        world.clock.advance(world.settings.ring_times(priority)[1])
    # off duty: nobody is left on shift in Watford, so its ring is skipped at once
    assert world.route(case_id).officer_id == "b"
    assert world.store.officers.load("a") == 0


def test_accepted_and_contacted_cases_stay_with_the_officer(world):
    world.officer("a", "watford", capacity=3)
    accepted, contacted, pending = (world.new_routed_case().case_id for _ in range(3))
    casework.accept(world.deps, accepted, "a")
    casework.accept(world.deps, contacted, "a")
    casework.record_contact(world.deps, contacted, "a", "phone", "spoke")

    casework.set_availability(world.deps, "a", Availability.OFF_DUTY)

    assert world.state(accepted) == "accepted" and world.holder(accepted) == "a"
    assert world.state(contacted) == "contacted" and world.holder(contacted) == "a"
    assert world.state(pending) == "waiting"
    assert sorted(world.store.officers.cases("a")) == sorted([accepted, contacted])


def test_an_officer_who_comes_back_can_be_offered_the_case_again(world):
    # The only BSL officer steps away: the case waits for them, and is theirs on return.
    world.officer("signer", "watford", skills=("bsl",))
    case_id = world.new_routed_case(required=("bsl",)).case_id
    casework.set_availability(world.deps, "signer", Availability.AWAY)
    assert world.route(case_id).outcome == "waiting"
    casework.set_availability(world.deps, "signer", Availability.AVAILABLE)
    assert world.holder(case_id) == "signer" and world.state(case_id) == "offered"


def test_a_lower_capacity_takes_no_offer_back(world):
    world.officer("a", "watford", capacity=3)
    held = [world.new_routed_case().case_id for _ in range(2)]
    world.officer("a", "watford", capacity=1)  # saved again with room for one
    assert [world.state(c) for c in held] == ["offered", "offered"]
    assert withdrawals(world, held[0]) == withdrawals(world, held[1]) == []


def test_an_officer_made_a_supervisor_loses_their_pending_offers(world):
    case_id = offered_to_a(world)
    world.officer("a", "watford", role=Role.SUPERVISOR)
    assert_withdrawn(world, case_id, "a", "role_changed")


def test_saving_an_officer_as_away_withdraws_at_once_and_the_sweeper_re_routes(world):
    # `liaison officers update` and the admin page save the whole record; no message is sent
    # from there, so the case waits in the outbox, due now, for the next sweep.
    case_id = offered_to_a(world)
    world.officer("a", "watford", status=Availability.AWAY)
    assert_withdrawn(world, case_id, "a", "officer_away")
    assert case_id in sweep(world.deps).republished_cases


def test_an_officer_set_away_after_missed_offers_loses_their_other_offers(world):
    world.officer("a", "watford", capacity=3)
    world.officer("b", "three_rivers", capacity=3)
    first = world.new_routed_case().case_id
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, first)          # one miss
    assert world.route(first).officer_id == "b"
    second = world.new_routed_case().case_id    # A is local: A gets both
    third = world.new_routed_case().case_id
    assert world.holder(second) == world.holder(third) == "a"
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, second)          # the second miss in a row: set away

    assert world.store.officers.get("a").status is Availability.AWAY
    assert_withdrawn(world, third, "a", "officer_away")
    assert (ASSIGN_CASE, third) in world.publisher.sent


def test_the_sweeper_withdraws_offers_when_leave_starts(world):
    leave_from = NOW + timedelta(minutes=30)  # before the offer's deadline
    rota = Rota(shifts=(parse_shift("mon-fri 08:00-18:00"),),
                leave=(Leave(leave_from, leave_from + timedelta(days=2)),))
    world.officer("a", "watford", rota=rota)
    world.officer("b", "three_rivers")
    world.store.officers.recheck("a", leave_from.timestamp())
    case_id = world.new_routed_case().case_id
    assert world.holder(case_id) == "a"

    world.clock.advance(1800 + 1)
    sweep(world.deps)

    assert_withdrawn(world, case_id, "a", "on_leave")
    assert (ASSIGN_CASE, case_id) in world.publisher.sent


def test_the_sweeper_says_a_shift_ended(world):
    rota = Rota(shifts=(parse_shift("mon-fri 08:00-09:30"),))
    world.officer("a", "watford", rota=rota)
    world.officer("b", "three_rivers")
    world.store.officers.recheck("a", (NOW + timedelta(minutes=30)).timestamp())
    case_id = world.new_routed_case().case_id
    world.clock.advance(1800 + 1)
    sweep(world.deps)
    assert_withdrawn(world, case_id, "a", "shift_ended")


# --- the command line ------------------------------------------------------------------------

def cli(world: World, *args: str) -> Result:
    runtime = Runtime(settings=world.settings, store=world.store,
                      clock=lambda: datetime.fromtimestamp(world.clock(), UTC))
    result = CliRunner().invoke(main, list(args), obj=runtime)
    assert result.exit_code == 0, result.output
    return result


def test_liaison_officers_status_away_withdraws_the_pending_offer(world):
    case_id = offered_to_a(world)
    result = cli(world, "officers", "status", "a", "away")
    assert_withdrawn(world, case_id, "a", "officer_away")
    assert "1 pending offer withdrawn" in result.output
    assert case_id in sweep(world.deps).republished_cases


def test_liaison_officers_leave_from_today_withdraws_the_pending_offer(world):
    case_id = offered_to_a(world)
    cli(world, "officers", "leave", "a", "--from", "2026-11-23", "--to", "2026-11-27")
    assert_withdrawn(world, case_id, "a", "on_leave")


def test_leave_booked_for_later_withdraws_nothing_yet(world):
    case_id = offered_to_a(world)
    cli(world, "officers", "leave", "a", "--from", "2026-12-01", "--to", "2026-12-04")
    assert world.state(case_id) == "offered" and withdrawals(world, case_id) == []


# --- the console pages -------------------------------------------------------------------------

@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch) -> Flask:
    use_cheap_hashing(monkeypatch)
    app = create_app(world.settings, store=world.store, publisher=world.publisher,
                     clock=world.clock)
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def csrf(client: FlaskClient, page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"',
                      client.get(page).get_data(as_text=True))
    assert found
    return found.group(1)


def test_an_officer_setting_themselves_away_in_the_console_loses_the_offer(app, world):
    case_id = offered_to_a(world)
    client = signed_in(app, world.store, "a")
    resp = client.post("/availability", data={"csrf_token": csrf(client, "/inbox"),
                                              "status": "away"})
    assert resp.status_code == 302
    assert_withdrawn(world, case_id, "a", "officer_away")
    assert (ASSIGN_CASE, case_id) in world.publisher.sent


def test_a_supervisor_setting_an_officer_off_duty_on_the_dashboard_withdraws(app, world):
    case_id = offered_to_a(world)
    world.officer("sam", "watford", role=Role.SUPERVISOR)
    client = signed_in(app, world.store, "sam")
    resp = client.post("/dashboard/officers/a/availability",
                       data={"csrf_token": csrf(client, "/dashboard"), "status": "off_duty"})
    assert resp.status_code == 302
    assert_withdrawn(world, case_id, "a", "officer_off_duty")


def test_the_supervisor_api_setting_away_withdraws(app, world):
    case_id = offered_to_a(world)
    world.officer("sam", "watford", role=Role.SUPERVISOR)
    token = world.store.officers.issue_token("sam")
    resp = app.test_client().put("/api/v1/officers/a/availability",
                                 headers={"Authorization": f"Bearer {token}"},
                                 json={"status": "away"})
    assert resp.status_code == 200, resp.json
    assert_withdrawn(world, case_id, "a", "officer_away")
    assert (ASSIGN_CASE, case_id) in world.publisher.sent


def test_an_admin_adding_leave_from_now_withdraws(app, world):
    case_id = offered_to_a(world)
    world.officer("ada", role=Role.ADMIN)
    client = signed_in(app, world.store, "ada")
    officer = world.store.officers.get("a")
    assert officer is not None
    form = {"name": officer.name, "role": "officer", "status": "available", "home": "watford",
            "skills": "", "capacity": str(officer.capacity), "email": "", "channels": "",
            "shift-0-days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "shift-0-start": "00:00", "shift-0-end": "00:00",
            "leave-0-from": "2026-11-23", "leave-0-to": "2026-11-27"}
    resp = client.post("/admin/officers/a", data={"csrf_token": csrf(client, "/admin/officers"),
                                                  **form})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    saved = world.store.officers.get("a")
    assert saved is not None and saved.rota.leave
    assert_withdrawn(world, case_id, "a", "on_leave")

