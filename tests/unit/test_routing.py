"""The assignment policy, run through the real Lua scripts on fakeredis."""

from __future__ import annotations

import pytest

from services.router.sweeper import sweep
from shared import casework
from shared.domain.officers import Availability
from shared.domain.routing import FORCE_WIDE, pools_for
from shared.geography import load_force
from shared.store.routing import CaseActionError
from tests.support.world import World


@pytest.fixture
def world(fake_store) -> World:
    return World(fake_store)


def test_pools_go_district_then_neighbours_then_force_wide():
    force = load_force()
    pools = pools_for("watford", force.neighbours)
    assert pools[0] == ["watford"]
    assert set(pools[1]) == set(force.neighbours("watford"))
    assert pools[2] == [FORCE_WIDE] == ["force_wide"]
    assert pools_for(None, force.neighbours) == [[FORCE_WIDE]]


def test_every_eligible_officer_is_in_the_force_wide_pool(world):
    world.officer("a", "watford")
    world.officer("b", "broxbourne", status=Availability.AWAY)
    assert world.store.officers.available_in(FORCE_WIDE) == ["a"]
    assert not world.store.redis.exists(world.store.keys.available("_all"))  # the old name


def test_officers_left_in_the_pools_old_set_are_moved_by_the_next_sweep(world):
    """Redis data from before the rename (`avail:_all`): the sweeper's first rota pass in a
    process rechecks everyone still in the old set, so they join `avail:force_wide` and are
    offered the waiting work they can take."""
    world.officer("far", "broxbourne")
    redis, keys = world.store.redis, world.store.keys
    score = redis.zscore(keys.available(FORCE_WIDE), "far")
    redis.zrem(keys.available(FORCE_WIDE), "far")          # as the old scripts left it
    redis.zadd(keys.available("_all"), {"far": score})
    case_id = world.case(None)
    assert world.route(case_id).outcome == "waiting"       # the new pool is empty

    sweep(world.deps)

    assert world.holder(case_id) == "far"
    assert not redis.exists(keys.available("_all"))
    assert world.store.officers.available_in(FORCE_WIDE) == ["far"]


def test_a_local_officer_is_chosen_before_a_neighbour(world):
    world.officer("near", "three_rivers")
    world.officer("local", "watford")
    assert world.new_routed_case("watford").officer_id == "local"


def test_a_neighbour_is_chosen_before_someone_far_away(world):
    world.officer("far", "broxbourne")
    world.officer("near", "three_rivers")
    assert world.new_routed_case("watford").officer_id == "near"


def test_force_wide_when_no_local_or_neighbouring_officer(world):
    world.officer("far", "broxbourne")
    assert world.new_routed_case("watford").officer_id == "far"


def test_a_cover_district_counts_as_local(world):
    world.officer("cover", "dacorum", "watford")
    world.officer("near", "three_rivers")
    assert world.new_routed_case("watford").officer_id == "cover"


def test_an_out_of_area_case_goes_force_wide(world):
    world.officer("anyone", "stevenage")
    assert world.new_routed_case(None).officer_id == "anyone"


def test_least_loaded_first_then_idle_longest(world):
    world.officer("a", "watford", capacity=5)
    world.officer("b", "watford", capacity=5)
    first = world.new_routed_case().officer_id
    world.clock.advance(10)
    second = world.new_routed_case().officer_id
    assert {first, second} == {"a", "b"}  # the idle one gets the second case
    world.clock.advance(10)
    third = world.new_routed_case().officer_id
    assert third == first  # equal loads: the one idle longest (first offered earliest)


def test_capacity_is_never_exceeded_and_then_cases_wait(world):
    world.officer("solo", "watford", capacity=2)
    results = [world.new_routed_case() for _ in range(3)]
    assert [r.outcome for r in results] == ["offered", "offered", "waiting"]
    assert world.store.officers.load("solo") == 2


def test_required_skills_are_hard(world):
    world.officer("plain", "watford")
    world.officer("signer", "broxbourne", skills=("bsl",))
    assert world.new_routed_case(required=("bsl",)).officer_id == "signer"
    world.store.officers.set_status("signer", Availability.AWAY)
    assert world.new_routed_case(required=("bsl",)).outcome == "waiting"


def test_preferred_skills_break_ties_but_never_beat_locality_or_load(world):
    world.officer("plain", "watford", capacity=5)
    world.officer("polish", "watford", capacity=5, skills=("lang:polish",))
    world.officer("far_polish", "broxbourne", skills=("lang:polish",))
    assert world.new_routed_case(preferred=("lang:polish",)).officer_id == "polish"
    # polish now has one case more than plain: load wins over the preference
    assert world.new_routed_case(preferred=("lang:polish",)).officer_id == "plain"


def test_off_shift_away_and_off_duty_officers_are_not_offered(world):
    world.officer("asleep", "watford", on_shift=False)
    world.officer("away", "watford", status=Availability.AWAY)
    world.officer("off", "watford", status=Availability.OFF_DUTY)
    assert world.new_routed_case().outcome == "waiting"


def test_a_declined_case_goes_to_the_next_officer_and_never_back(world):
    world.officer("a", "watford")
    world.officer("b", "watford")
    result = world.new_routed_case()
    world.decline(result.case_id)
    assert world.state(result.case_id) == "waiting"
    assert world.publisher.sent[-1][0] in ("router.assign_case", "notifier.deliver")
    second = world.route(result.case_id)
    assert second.officer_id not in ("", result.officer_id)
    world.decline(result.case_id)
    assert world.route(result.case_id).outcome == "waiting"  # both excluded now
    assert world.store.officers.load("a") == world.store.officers.load("b") == 0


def test_routing_a_case_already_offered_is_a_no_op(world):
    world.officer("a", "watford")
    world.officer("b", "watford")
    result = world.new_routed_case()
    assert world.route(result.case_id).outcome == "noop"
    assert world.store.officers.load("a") + world.store.officers.load("b") == 1


def test_an_officer_coming_free_gets_the_most_urgent_then_oldest_waiting_case(world):
    old_standard = world.case()
    world.clock.advance(60)
    newer_high = world.case(high=True)
    world.clock.advance(60)
    newest_high = world.case(high=True)
    for case_id in (old_standard, newer_high, newest_high):
        assert world.route(case_id).outcome == "waiting"
    world.officer("late", "watford", status=Availability.OFF_DUTY, capacity=1)
    casework.set_availability(world.deps, "late", Availability.AVAILABLE)
    assert world.holder(newer_high) == "late"
    assert world.state(old_standard) == world.state(newest_high) == "waiting"


def test_closing_a_case_offers_the_officer_the_next_waiting_one(world):
    world.officer("solo", "watford", capacity=1)
    first = world.new_routed_case().case_id
    waiting = world.new_routed_case().case_id
    assert world.state(waiting) == "waiting"
    casework.accept(world.deps, first, "solo")
    casework.close(world.deps, first, "solo", "advice_given")
    assert world.holder(waiting) == "solo" and world.state(waiting) == "offered"


def test_an_emergency_with_nobody_eligible_alerts_the_supervisors(world):
    result = world.new_routed_case(emergency=True)
    assert result.outcome == "waiting" and result.notification_id
    notice = world.store.redis.hgetall(world.store.keys.notification(result.notification_id))
    assert notice["kind"] == "emergency_waiting" and notice["recipient_type"] == "supervisors"
    assert [a["kind"] for a in world.store.alerts.open()] == ["emergency_waiting"]


def test_an_expired_offer_re_routes_and_two_in_a_row_set_the_officer_away(world):
    world.officer("slow", "watford", capacity=5)
    world.officer("other", "broxbourne", capacity=5)
    first = world.new_routed_case().case_id
    with pytest.raises(CaseActionError, match="not_due"):
        casework.expire(world.deps, first)
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, first)
    assert world.store.officers.get("slow").status is Availability.AVAILABLE
    second = world.new_routed_case().case_id
    assert world.holder(second) == "slow"
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, second)
    assert world.store.officers.get("slow").status is Availability.AWAY
    assert any(a["kind"] == "officer_set_away" for a in world.store.alerts.open())


def test_accepting_resets_the_expiry_count(world):
    world.officer("o", "watford", capacity=5)
    first = world.new_routed_case().case_id
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, first)
    world.route(first)  # back to o (the only officer)... excluded, so it waits
    second = world.new_routed_case().case_id
    casework.accept(world.deps, second, "o")
    third = world.new_routed_case().case_id
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, third)
    assert world.store.officers.get("o").status is Availability.AVAILABLE


def test_an_officer_cannot_act_on_another_officers_case(world):
    world.officer("a", "watford")
    world.officer("b", "broxbourne")
    case_id = world.new_routed_case().case_id
    with pytest.raises(CaseActionError, match="not_yours"):
        casework.accept(world.deps, case_id, "b")


def test_illegal_transitions_are_refused_not_applied(world):
    world.officer("a", "watford")
    case_id = world.new_routed_case().case_id
    with pytest.raises(CaseActionError, match="illegal_transition"):
        casework.record_contact(world.deps, case_id, "a", "phone", "spoke")
    with pytest.raises(CaseActionError, match="illegal_transition"):
        casework.close(world.deps, case_id, "a", "advice_given")
    assert world.state(case_id) == "offered"


def test_a_supervisor_reassigns_to_a_named_officer_and_back_to_routing(world):
    world.officer("a", "watford")
    world.officer("b", "broxbourne")
    case_id = world.new_routed_case().case_id
    casework.reassign(world.deps, case_id, "sup", "b")
    assert world.holder(case_id) == "b" and world.store.officers.load("a") == 0
    log = world.store.cases.log(case_id)
    assert log[-1]["type"] == "CaseReassigned" and log[-1]["by"] == "sup"
    casework.reassign(world.deps, case_id, "sup", None)
    assert world.state(case_id) == "waiting" and world.store.officers.load("b") == 0


def test_reassigning_to_an_officer_at_capacity_is_refused(world):
    world.officer("a", "watford")
    world.officer("full", "broxbourne", capacity=1)
    world.new_routed_case("broxbourne")
    case_id = world.new_routed_case("watford").case_id
    with pytest.raises(CaseActionError, match="at_capacity"):
        casework.reassign(world.deps, case_id, "sup", "full")


def test_the_pick_does_not_scan_past_the_first_eligible_load_tier(world):
    for i in range(120):
        world.officer(f"o{i:03}", "watford", capacity=3)
    world.officer("skilled", "watford", capacity=3, skills=("bsl",))
    # with everybody at load 0 the first tier is huge, but the scan is bounded
    result = world.new_routed_case(required=("bsl",))
    assert result.officer_id == "skilled"
