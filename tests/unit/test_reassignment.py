"""A supervisor's reassignment (issue 12): the script refuses an officer routing would pass
over unless a reason is given, names every problem, and agrees with the picker's twin
(`shared.domain.reassignment.problems`) about who that is."""

from __future__ import annotations

import itertools

import pytest

from shared import casework
from shared.domain import reassignment
from shared.domain.officers import Availability
from shared.store.routing import CaseActionError
from tests.support.world import World


@pytest.fixture
def world(fake_store) -> World:
    return World(fake_store)


def held_by_a(world: World, *required: str) -> str:
    world.officer("a", "watford", capacity=5)
    case_id = world.case("watford", required=required) if required else world.case("watford")
    if required:  # nobody else has the skill: give it to "a" as a supervisor would
        casework.reassign(world.deps, case_id, "sup", "a", override=True)
    else:
        world.route(case_id)
    assert world.holder(case_id) == "a"
    return case_id


@pytest.mark.parametrize(("status", "on_shift", "capacity", "skills", "required"),
                         list(itertools.product(list(Availability), (True, False), (0, 2),
                                                ((), ("bsl",)), ((), ("bsl", "lang:polish")))))
def test_the_script_and_the_picker_agree(world, status, on_shift, capacity, skills, required):
    case_id = held_by_a(world, *required)
    world.officer("b", "watford", status=status, on_shift=on_shift, capacity=capacity,
                  skills=skills)
    expected = reassignment.problems(status=status.value, on_shift=on_shift, load=0,
                                     capacity=capacity, skills=skills, required=required)
    if not expected:
        casework.reassign(world.deps, case_id, "sup", "b")
        assert world.holder(case_id) == "b"
        return
    with pytest.raises(CaseActionError) as refused:
        casework.reassign(world.deps, case_id, "sup", "b")
    assert refused.value.code == expected[0].code
    assert reassignment.parse(refused.value.detail) == expected
    assert world.holder(case_id) == "a"
    casework.reassign(world.deps, case_id, "sup", "b", override=True)
    assert world.holder(case_id) == "b"
    moved = world.store.cases.log(case_id)[-1]
    assert moved["type"] == "CaseReassigned" and "override_reason" not in moved  # a note's
    assert moved["overridden"] == ",".join(p.token for p in expected)


def test_an_override_may_take_an_officer_past_capacity(world):
    case_id = held_by_a(world)
    world.officer("full", "watford", capacity=0)
    casework.reassign(world.deps, case_id, "sup", "full", override=True)
    assert world.store.officers.load("full") == 1 and world.holder(case_id) == "full"


def test_a_reason_never_lets_a_case_go_to_someone_who_is_not_an_officer(world):
    case_id = held_by_a(world)
    with pytest.raises(CaseActionError, match="no_such_officer"):
        casework.reassign(world.deps, case_id, "sup", "nobody", override=True)


def test_the_words_name_the_officer_and_every_problem():
    found = reassignment.parse("off_shift,at_capacity,lacks_skill:bsl,lacks_skill:lang:welsh")
    assert reassignment.sentence("Sam Patel", found, load=3, capacity=3) == (
        "Sam Patel is off shift and at capacity (3 of 3 cases), and does not have BSL and "
        "Welsh (the case needs it).")
    assert reassignment.sentence("Ola", reassignment.parse("officer_away")) == "Ola is away."
    assert reassignment.parse("nonsense,off_shift") == (reassignment.Problem("off_shift"),)
