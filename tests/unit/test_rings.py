"""Widening rings by case age, and aging in the waiting queue (shared/domain/rings.py):
the rule on its own, then through the real routing script on fakeredis."""

from __future__ import annotations

import pytest

from services.router.sweeper import sweep
from shared import casework
from shared.config import ConfigError, Settings
from shared.domain import events
from shared.domain.model import CaseKind
from shared.domain.officers import Availability, Role
from shared.domain.rings import (
    DEFAULT_RINGS,
    FORCE_RING,
    NEIGHBOURS_RING,
    WAITING_LEAD,
    Ring,
    officer_ring,
    parse_rings,
    plan,
    prefers,
    reached,
    waiting_score,
)
from shared.domain.routing import FORCE_WIDE
from shared.geography import load_force
from tests.support.world import World

FORCE = load_force()
T0 = 1_790_000_000.0
HOUR = 3600


# --- the rule -------------------------------------------------------------------------

def test_the_default_rings_widen_emergencies_in_minutes_and_advice_in_hours():
    rings = parse_rings(Settings.for_tests().rings)
    assert Settings.for_tests().rings == DEFAULT_RINGS
    assert rings[1] == (0, 60, 120)           # a neighbour in a minute, anyone in two
    assert rings[4] == (0, 7200, 28800)       # a local officer is worth hours of waiting
    assert all(rings[p][1] <= rings[p + 1][1] for p in (1, 2, 3))


@pytest.mark.parametrize(("text", "says"), [
    ("1=0/60/120,2=0/300/900,3=0/1800/7200", "each priority"),
    ("1=10/60/120,2=0/300/900,3=0/1800/7200,4=0/7200/28800", "opens at 0"),
    ("1=0/120/60,2=0/300/900,3=0/1800/7200,4=0/7200/28800", "must not decrease"),
    ("1=0/60,2=0/300/900,3=0/1800/7200,4=0/7200/28800", "is not like"),
    ("soon", "is not like"),
])
def test_bad_rings_stop_start_up_naming_the_variable(text, says):
    with pytest.raises(ConfigError, match=f"LIAISON_RINGS: .*{says}"):
        Settings.from_env({"LIAISON_ENV": "test", "LIAISON_RINGS": text,
                           "LIAISON_SECRET_KEY": "k" * 40})


def test_a_case_s_rings_open_at_its_age_district_then_neighbours_then_force_wide():
    case_plan = plan("watford", FORCE.neighbours, created_at=T0, times=(0, 300, 900))
    assert [(r.index, r.opens_at) for r in case_plan.rings] == [(0, T0), (1, T0 + 300),
                                                                (2, T0 + 900)]
    assert case_plan.rings[0].districts == ("watford",)
    assert set(case_plan.rings[1].districts) == set(FORCE.neighbours("watford"))
    assert case_plan.rings[2].districts == (FORCE_WIDE,)


def test_a_case_outside_the_force_is_force_wide_from_the_start():
    case_plan = plan(None, FORCE.neighbours, created_at=T0, times=(0, 300, 900))
    assert case_plan.rings == (Ring(FORCE_RING, (FORCE_WIDE,), T0),)


def rings3() -> tuple[Ring, ...]:
    return plan("watford", FORCE.neighbours, created_at=T0, times=(0, 300, 900)).rings


def test_a_busy_ring_holds_the_case_until_the_next_ring_s_time():
    busy = lambda ring: True  # noqa: E731 - somebody staffed everywhere
    assert reached(rings3(), T0 + 299, busy) == (0, T0 + 300)
    assert reached(rings3(), T0 + 300, busy) == (1, T0 + 900)
    assert reached(rings3(), T0 + 900, busy) == (2, None)  # the last ring: it waits there


def test_a_ring_with_nobody_staffed_is_skipped_at_once():
    nobody_local = lambda ring: ring.index != 0  # noqa: E731
    assert reached(rings3(), T0, nobody_local) == (1, T0 + 900)
    assert reached(rings3(), T0, lambda ring: False) == (2, None)


def test_a_ring_reached_is_never_given_back():
    assert reached(rings3(), T0 + 10, lambda ring: True, prior=1) == (1, T0 + 900)


def test_preferred_skills_count_until_the_neighbours_ring_s_time():
    case_plan = plan("watford", FORCE.neighbours, created_at=T0, times=(0, 300, 900))
    assert prefers(case_plan, T0 + 299) and not prefers(case_plan, T0 + 300)


def test_which_ring_of_a_case_an_officer_sits_in():
    near = {d: FORCE.neighbours(d) for d in FORCE.districts}
    assert officer_ring("watford", ("dacorum", "watford"), near) == 0
    assert officer_ring("watford", ("hertsmere",), near) == NEIGHBOURS_RING
    assert officer_ring("watford", ("broxbourne",), near) == FORCE_RING


def test_aging_lets_a_long_wait_overtake_a_fresh_higher_priority_but_never_an_emergency():
    assert WAITING_LEAD[2] - WAITING_LEAD[3] == 4 * HOUR   # high leads standard by 4 h
    assert WAITING_LEAD[3] - WAITING_LEAD[4] == 8 * HOUR   # standard leads advice by 8 h
    advice_9h_old, fresh_standard = waiting_score(4, T0), waiting_score(3, T0 + 9 * HOUR)
    assert advice_9h_old < fresh_standard
    assert waiting_score(3, T0 + 7 * HOUR) < waiting_score(4, T0)  # 7 h: not yet
    year_old_advice = waiting_score(4, T0 - 365 * 24 * HOUR)
    assert waiting_score(1, T0 + HOUR) < year_old_advice


# --- through route.lua on fakeredis ---------------------------------------------------

@pytest.fixture
def world(fake_store) -> World:
    return World(fake_store)


def busy(world: World, officer_id: str, district: str, **kw: object) -> None:
    """An officer at capacity (one accepted case), so on shift but unable to take more."""
    world.officer(officer_id, district, capacity=1, **kw)  # type: ignore[arg-type]
    case_id = world.case(district)
    assert world.route(case_id).officer_id == officer_id
    casework.accept(world.deps, case_id, officer_id)


def ring_events(world: World, case_id: str) -> list[tuple[str, str]]:
    return [(e["ring"], e["why"]) for e in world.store.cases.log(case_id)
            if e["type"] == events.RING_WIDENED]


def test_an_advice_callback_waits_for_watford_until_its_ring_time_then_reaches_hertsmere(world):
    busy(world, "w", "watford")
    world.officer("h", "hertsmere")
    case_id = world.case("watford", kind=CaseKind.CALLBACK)
    assert world.route(case_id).outcome == "waiting"
    neighbours_at = world.settings.ring_times(4)[1]
    assert world.store.cases.get(case_id)["ring"] == "0"

    world.clock.advance(neighbours_at - 1)
    assert sweep(world.deps).rings_opened == [] and world.state(case_id) == "waiting"
    world.clock.advance(1)
    assert sweep(world.deps).rings_opened == [case_id]

    assert world.holder(case_id) == "h"
    assert world.store.cases.get(case_id)["ring"] == "1"
    assert ring_events(world, case_id) == [("1", "age")]


def test_a_ring_with_nobody_on_shift_is_skipped_at_once(world):
    world.officer("w", "watford", on_shift=False)
    world.officer("off", "watford", status=Availability.OFF_DUTY)
    world.officer("sup", "watford", role=Role.SUPERVISOR)
    world.officer("h", "hertsmere")
    result = world.new_routed_case("watford", kind=CaseKind.CALLBACK)
    assert result.officer_id == "h"
    assert ring_events(world, result.case_id) == [("1", "nobody_staffed")]


def test_an_officer_who_declined_does_not_hold_the_ring(world):
    world.officer("w", "watford")
    world.officer("h", "hertsmere")
    result = world.new_routed_case("watford", kind=CaseKind.CALLBACK)
    assert result.officer_id == "w"
    world.decline(result.case_id)
    assert world.route(result.case_id).officer_id == "h"  # nobody left for it in Watford


def test_an_away_officer_holds_the_ring_as_busy(world):
    world.officer("w", "watford", status=Availability.AWAY)
    world.officer("h", "hertsmere")
    assert world.new_routed_case("watford", kind=CaseKind.CALLBACK).outcome == "waiting"


def test_an_emergency_widens_to_neighbours_at_60_seconds_and_force_wide_at_120(world):
    busy(world, "w", "watford")
    busy(world, "h", "hertsmere")
    world.officer("far", "broxbourne")
    case_id = world.case("watford", emergency=True)
    assert world.route(case_id).outcome == "waiting"
    assert [a["kind"] for a in world.store.alerts.open()] == ["emergency_waiting"]
    world.clock.advance(59)
    sweep(world.deps)
    assert world.store.cases.get(case_id)["ring"] == "0"
    world.clock.advance(1)
    assert sweep(world.deps).rings_opened == [case_id]
    assert world.store.cases.get(case_id)["ring"] == "1" and world.state(case_id) == "waiting"
    world.clock.advance(60)
    sweep(world.deps)
    assert world.holder(case_id) == "far"
    assert ring_events(world, case_id) == [("1", "age"), ("2", "age")]


def test_expansion_counts_from_the_case_s_age_not_from_the_last_step(world):
    """A case first routed late (its message delayed) opens every ring its age allows."""
    busy(world, "w", "watford")
    world.officer("h", "hertsmere")
    case_id = world.case("watford", kind=CaseKind.CALLBACK)
    world.clock.advance(world.settings.ring_times(4)[1])
    assert world.route(case_id).officer_id == "h"


def test_a_bsl_case_never_goes_to_an_officer_without_bsl_even_force_wide(world):
    busy(world, "signer", "watford", skills=("bsl",))
    world.officer("plain", "watford")
    world.officer("far_plain", "broxbourne")
    case_id = world.case("watford", kind=CaseKind.CALLBACK, required=("bsl",))
    assert world.route(case_id).outcome == "waiting"     # held for the busy local signer
    assert "skill_waiting" in [a["kind"] for a in world.store.alerts.open()]
    world.clock.advance(world.settings.ring_times(4)[2] + HOUR)
    for _ in range(3):
        sweep(world.deps)
    assert world.state(case_id) == "waiting" and world.store.cases.get(case_id)["ring"] == "2"
    assert not world.store.redis.zscore(world.store.keys.ring_due, case_id)  # last ring
    world.officer("far_signer", "broxbourne", skills=("bsl",), status=Availability.OFF_DUTY)
    casework.set_availability(world.deps, "far_signer", Availability.AVAILABLE)
    assert world.holder(case_id) == "far_signer"


def test_a_ring_is_skipped_when_nobody_in_it_has_the_required_skill(world):
    world.officer("plain", "watford")
    world.officer("near_signer", "hertsmere", skills=("bsl",))
    result = world.new_routed_case("watford", kind=CaseKind.CALLBACK, required=("bsl",))
    assert result.officer_id == "near_signer"


def test_drain_gives_a_freed_officer_only_cases_whose_ring_reaches_them(world):
    busy(world, "w", "watford")
    case_id = world.case("watford", kind=CaseKind.CALLBACK)
    assert world.route(case_id).outcome == "waiting"
    for officer_id, district in (("h", "hertsmere"), ("far", "broxbourne")):
        world.officer(officer_id, district, status=Availability.OFF_DUTY)
        casework.set_availability(world.deps, officer_id, Availability.AVAILABLE)
    assert world.state(case_id) == "waiting"             # neither is in the district ring

    world.clock.advance(world.settings.ring_times(4)[1])
    casework.set_availability(world.deps, "far", Availability.AWAY)
    casework.set_availability(world.deps, "h", Availability.AWAY)
    sweep(world.deps)                                     # the neighbours ring opens
    assert world.state(case_id) == "waiting"
    casework.set_availability(world.deps, "far", Availability.AVAILABLE)
    assert world.state(case_id) == "waiting"             # not force-wide yet
    casework.set_availability(world.deps, "h", Availability.AVAILABLE)
    assert world.holder(case_id) == "h"


def test_a_local_officer_coming_free_takes_the_held_case(world):
    busy(world, "w", "watford")
    world.officer("h", "hertsmere")
    held = world.case("watford", kind=CaseKind.CALLBACK)
    assert world.route(held).outcome == "waiting"
    [first] = world.store.officers.cases("w")
    casework.close(world.deps, first, "w", "advice_given")
    assert world.holder(held) == "w"
    assert not world.store.redis.zscore(world.store.keys.ring_due, held)


@pytest.mark.parametrize(("aged", "expected"), [(False, "polish"), (True, "plain")])
def test_preferred_skills_relax_on_the_ring_clock(world, aged, expected):
    world.officer("plain", "watford", capacity=5)
    world.officer("polish", "watford", capacity=5, skills=("lang:polish",))
    case_id = world.case("watford", kind=CaseKind.CALLBACK, preferred=("lang:polish",))
    if aged:  # its message was late: the neighbours ring's time has come
        world.clock.advance(world.settings.ring_times(4)[1])
    assert world.route(case_id).officer_id == expected  # equal loads; "plain" sorts first


def test_the_waiting_queue_ages_a_long_wait_past_a_fresh_higher_priority(world):
    world.officer("w", "watford", capacity=1, status=Availability.OFF_DUTY)
    advice = world.case("watford", kind=CaseKind.CALLBACK)
    world.clock.advance(9 * HOUR)
    standard = world.case("watford")
    for case_id in (advice, standard):
        assert world.route(case_id).outcome == "waiting"
    casework.set_availability(world.deps, "w", Availability.AVAILABLE)
    assert world.holder(advice) == "w"                  # waited 9 h: more than 8 h's lead


def test_an_emergency_leads_the_waiting_queue_whatever_else_has_waited(world):
    world.officer("w", "watford", capacity=1, status=Availability.OFF_DUTY)
    old = world.case("watford", kind=CaseKind.CALLBACK)
    assert world.route(old).outcome == "waiting"
    world.clock.advance(30 * 24 * HOUR)
    emergency = world.case("watford", emergency=True)
    assert world.route(emergency).outcome == "waiting"
    casework.set_availability(world.deps, "w", Availability.AVAILABLE)
    assert world.holder(emergency) == "w"


def test_the_ring_pass_reads_only_the_cases_due(world):
    busy(world, "w", "watford")
    ids = []
    for _ in range(30):
        ids.append(world.case("watford", kind=CaseKind.CALLBACK))
        assert world.route(ids[-1]).outcome == "waiting"
        world.clock.advance(1)
    world.clock.advance(world.settings.ring_times(4)[1] - 30)  # only the first is due
    assert sweep(world.deps).rings_opened == ids[:1]


def test_staffed_sets_follow_shift_status_role_and_districts(world):
    staffed = lambda d: world.store.redis.zrange(world.store.keys.staffed(d), 0, -1)  # noqa: E731
    world.officer("o", "watford", "dacorum")
    assert staffed("watford") == staffed("dacorum") == ["o"]
    casework.set_availability(world.deps, "o", Availability.AWAY)
    assert staffed("watford") == ["o"]                   # away: busy, not gone
    casework.set_availability(world.deps, "o", Availability.OFF_DUTY)
    assert staffed("watford") == []
    world.officer("o", "hertsmere")                      # saved again, new district
    assert staffed("watford") == staffed("dacorum") == [] and staffed("hertsmere") == ["o"]
    world.store.officers.set_on_shift("o", False, None, now=world.clock())
    assert staffed("hertsmere") == []
    world.officer("o", "hertsmere")
    world.store.officers.remove("o")
    assert staffed("hertsmere") == []
