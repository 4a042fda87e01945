"""Nobody may contact an anonymous (or otherwise non-contactable) reporter, so accepting such
a case starts a review clock — time to review and close or refer it — never a first-contact
clock, and its breach alert says so."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask

from services.console.app import create_app
from services.notifier.templates import render
from services.router.sweeper import sweep
from shared import casework
from shared.messaging import DELIVER_NOTIFICATION
from shared.store import Store
from shared.store.sla import SlaView
from tests.fakes import FakePublisher
from tests.support.console import signed_in, use_cheap_hashing
from tests.support.world import Clock, World


@pytest.fixture
def world(fake_store: Store, publisher: FakePublisher) -> World:
    return World(fake_store, publisher=publisher, clock=Clock(time.time()))


def accepted(world: World, *, contactable: bool) -> str:
    world.officer("o", "watford")
    case_id = world.case(contactable=contactable)
    assert world.route(case_id).officer_id == "o"
    casework.accept(world.deps, case_id, "o")
    return case_id


def alert_kinds(world: World, case_id: str) -> list[str]:
    return [a["kind"] for a in world.store.alerts.open() if a["case_id"] == case_id]


def test_accepting_an_anonymous_case_starts_no_first_contact_clock(world):
    case_id = accepted(world, contactable=False)
    world.clock.advance(world.settings.sla_contact_seconds(3) + 1)
    report = sweep(world.deps)
    assert f"sla_contact:{case_id}" not in report.alerts
    assert "sla_breach" not in alert_kinds(world, case_id)


def test_an_anonymous_case_not_reviewed_in_time_raises_a_review_breach(world):
    case_id = accepted(world, contactable=False)
    world.clock.advance(world.settings.sla_review_seconds(3) - 60)
    assert f"sla_review:{case_id}" not in sweep(world.deps).alerts
    world.clock.advance(61)
    assert f"sla_review:{case_id}" in sweep(world.deps).alerts
    assert alert_kinds(world, case_id) == ["review_breach"]
    assert f"sla_review:{case_id}" not in sweep(world.deps).alerts  # once

    nid = world.publisher.sent[-1][1]
    assert world.publisher.sent[-1][0] == DELIVER_NOTIFICATION
    record = world.store.notifications.get(nid)
    assert record is not None and record["kind"] == "review_breach"
    message = render(record["kind"], record, "https://console.example")
    assert "review" in message.subject.lower() and "contact" not in message.subject.lower()


@pytest.mark.parametrize("outcome", ["referred", "no_further_action"])
def test_closing_or_referring_stops_the_review_clock(world, outcome):
    case_id = accepted(world, contactable=False)
    casework.close(world.deps, case_id, "o", outcome)
    world.clock.advance(world.settings.sla_review_seconds(3) + 1)
    assert sweep(world.deps).alerts == []


def test_a_contactable_case_still_gets_the_first_contact_clock_and_no_review_clock(world):
    case_id = accepted(world, contactable=True)
    world.clock.advance(max(world.settings.sla_contact_seconds(3),
                            world.settings.sla_review_seconds(3)) + 1)
    alerts = sweep(world.deps).alerts
    assert f"sla_contact:{case_id}" in alerts and f"sla_review:{case_id}" not in alerts


def test_a_case_sent_back_to_routing_stops_its_review_clock(world):
    case_id = accepted(world, contactable=False)
    casework.reassign(world.deps, case_id, "sup", None)
    world.clock.advance(world.settings.sla_review_seconds(3) + 1)
    assert f"sla_review:{case_id}" not in sweep(world.deps).alerts


def test_supervisors_see_the_review_clock_at_risk_then_breached(world):
    case_id = accepted(world, contactable=False)
    target = world.settings.sla_review_seconds(3)
    s = world.settings
    targets = {name: {p: getattr(s, f"sla_{name}_seconds")(p) for p in (1, 2, 3, 4)}
               for name in ("accept", "contact", "review")}

    def view() -> SlaView:
        return world.store.sla.clocks(now=world.clock(), accept_targets=targets["accept"],
                                      contact_targets=targets["contact"],
                                      review_targets=targets["review"])

    world.clock.advance(target * 0.8)
    assert [(i.case_id, i.clock) for i in view().at_risk] == [(case_id, "review")]
    world.clock.advance(target * 0.2 + 1)
    sweep(world.deps)  # alerts, and stops the timer
    assert [(i.case_id, i.clock) for i in view().breached] == [(case_id, "review")]


# --- the officer's inbox -------------------------------------------------------------------

@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch) -> Flask:
    use_cheap_hashing(monkeypatch)
    return create_app(world.settings, store=world.store, publisher=world.publisher,
                      clock=world.clock)


def open_row(page: str, reference: str) -> str:
    row = re.search(rf"<tr class=\"open-case\">(?:(?!</tr>).)*{reference}(?:(?!</tr>).)*</tr>",
                    page, re.S)
    assert row, page
    return " ".join(row.group(0).split())


def test_the_inbox_shows_review_due_for_an_anonymous_case_and_contact_for_others(app, world):
    world.officer("o", "watford", capacity=3)
    anonymous, named = world.case(contactable=False), world.case(contactable=True)
    for case_id in (anonymous, named):
        world.route(case_id)
        casework.accept(world.deps, case_id, "o")
    page = signed_in(app, world.store, "o").get("/inbox").get_data(as_text=True)

    anonymous_row = open_row(page, world.store.cases.get(anonymous)["reference"])
    named_row = open_row(page, world.store.cases.get(named)["reference"])
    assert "Review by" in anonymous_row and "contact" not in anonymous_row.lower()
    assert "First contact by" in named_row
