"""The running totals behind the metrics' counters: every event that counts is counted once,
in the same atomic step that writes it, by the Lua library and by Python alike."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import pytest

from shared import casework
from shared.domain import events
from shared.domain.model import CaseKind
from shared.domain.officers import Availability
from shared.store import Store
from shared.store.counters import COUNTED, Totals, count_event, counter_field, counters_key
from tests.support.world import World

LIB = resources.files("shared.lua").joinpath("lib.lua").read_text()


@pytest.fixture
def world(fake_store: Store) -> World:
    return World(fake_store)


def lua_counted() -> dict[str, tuple[str, ...]]:
    """lib.lua's COUNTED table, read from its source."""
    table = re.search(r"^local COUNTED = \{(.*?)^\}", LIB, re.MULTILINE | re.DOTALL)
    assert table, "lib.lua has no COUNTED table"
    return {name: tuple(re.findall(r'"([^"]*)"', fields))
            for name, fields in re.findall(r'\["(\w+)"\] = \{([^}]*)\}', table.group(1))}


def counters(store: Store) -> Counter[str]:
    return Counter({k: int(v) for k, v in store.redis.hgetall(counters_key(store.keys)).items()})


def counted_from_stream(store: Store) -> Counter[str]:
    """What the events stream says the counters should be (it is not capped in a test)."""
    found = (counter_field(fields) for _, fields in store.redis.xrange(store.keys.events))
    return Counter(name for name in found if name is not None)


def test_lua_and_python_count_the_same_events_under_the_same_fields() -> None:
    assert lua_counted() == COUNTED
    assert set(COUNTED) <= {v for v in vars(events).values() if isinstance(v, str)}


def test_every_counted_event_the_scripts_write_is_counted_once(world: World) -> None:
    world.officer("alex", "dacorum", capacity=3)
    world.officer("blake", "dacorum", capacity=3)
    notes = world.store.notifications
    # offered, declined, offered again, accepted, contacted, closed
    first = world.new_routed_case("dacorum")
    world.decline(first.case_id)
    again = world.route(first.case_id)
    casework.accept(world.deps, first.case_id, again.officer_id)
    casework.record_contact(world.deps, first.case_id, again.officer_id, "phone", "spoke")
    casework.close(world.deps, first.case_id, again.officer_id, "advice_given")
    assert notes.finish(first.notification_id, "sent")
    assert notes.finish(again.notification_id, "skipped")
    # a callback (advice) offered, reassigned by a supervisor, then sent back to routing
    second = world.new_routed_case("dacorum", kind=CaseKind.CALLBACK)
    other = "blake" if second.officer_id == "alex" else "alex"
    casework.reassign(world.deps, second.case_id, "sup", other)
    casework.reassign(world.deps, second.case_id, "sup", None)
    # an offer withdrawn (the officer goes away), one expired
    third = world.new_routed_case("dacorum")
    casework.set_availability(world.deps, third.officer_id, Availability.AWAY)
    fourth = world.new_routed_case("dacorum")
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    casework.expire(world.deps, fourth.case_id)
    # an emergency nobody can take; a notification that fails, then is given up on
    world.new_routed_case("stevenage", emergency=True)
    notes.fail(fourth.notification_id, "SMTPError", world.clock() + 60, now=world.clock())
    notes.dead_letter(fourth.notification_id, world.clock())

    expected = counted_from_stream(world.store)
    seen = {name.split("|")[0] for name in expected}
    assert seen == set(COUNTED) - {events.CASE_DEAD_LETTERED}  # the scenario covers them
    assert counters(world.store) == expected
    totals = world.store.counters.totals()
    assert totals.received == {("report", "3"): 3, ("callback", "4"): 1, ("report", "1"): 1}
    assert totals.offers == {"declined": 1, "accepted": 1, "withdrawn": 1, "expired": 1}
    assert totals.closed == {"3": 1}
    assert totals.notifications[("offer", "sent")] == 1
    assert totals.notifications[("offer", "dead_lettered")] == 1
    assert totals.dead_letters == {"notification": 1}


def test_count_event_counts_with_the_event_on_the_callers_pipeline(fake_store: Store) -> None:
    pipe = fake_store.redis.pipeline(transaction=True)
    count_event(pipe, fake_store.keys, {"type": events.CASE_DEAD_LETTERED, "case_id": "c1"})
    count_event(pipe, fake_store.keys, {"type": events.NOTE_ADDED, "case_id": "c1"})
    count_event(pipe, fake_store.keys, {"type": events.CASE_REASSIGNED, "to_officer": "x"})
    assert counters(fake_store) == {}                  # nothing until the pipeline runs
    pipe.execute()
    assert counters(fake_store) == {"CaseDeadLettered": 1, "CaseReassigned|1": 1}


def test_a_case_dead_lettered_by_python_is_counted(world: World) -> None:
    case_id = world.case("watford")
    world.store.cases.dead_letter(case_id, now=world.clock(), reason="routing kept failing")
    assert world.store.counters.totals().dead_letters == {"case": 1}
    assert counters(world.store) == counted_from_stream(world.store)


def test_totals_skip_fields_they_cannot_read() -> None:
    totals = Totals.parse({"CaseOffered": "3", "CaseReassigned|0": "5", "CaseReassigned|1": "2",
                           "OfferAccepted": "oops", "CaseReceived|report": "1",
                           "SomethingElse|x": "4"})
    assert totals.offered == 5
    assert totals.offers == {}
    assert totals.received == {}
