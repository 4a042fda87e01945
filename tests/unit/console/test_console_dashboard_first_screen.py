"""The supervisor dashboard's first screen: what needs action now (open alerts, emergencies
first; waiting cases one by one with how far routing has offered them and why they wait;
SLA clocks) before the fold, and everything else one click away in a <details>."""

from __future__ import annotations

import re

import pytest

from services.console import live
from services.console.auth import EXTENSION
from shared.domain.alerts import SKILL_WAITING
from shared.domain.officers import Availability, Role
from shared.store import Store
from tests.support.cases import add_staff, routed_case
from tests.support.console import Staff


@pytest.fixture
def staff(staff: Staff, fake_store: Store) -> Staff:
    add_staff(fake_store, "ada", role=Role.ADMIN)
    for officer_id in ("alex", "blake"):
        fake_store.officers.set_status(officer_id, Availability.AWAY)
    return staff


def first_screen(page: str) -> str:
    """What shows before the folded part."""
    return page.split('<details class="more"', 1)[0]


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, f"no section {name}"
    return found.group(0)


def test_waiting_cases_are_listed_one_by_one_with_priority_district_age_and_ring(
        sam, fake_store, settings, clock):
    standard, _ = routed_case(fake_store, settings, "stevenage", threats=False, now=clock())
    clock.advance(300)
    emergency, _ = routed_case(fake_store, settings, "watford", emergency=True, now=clock())
    fake_store.redis.hset(fake_store.keys.case(standard), "ring", "1")
    page = sam.get("/dashboard").get_data(as_text=True)
    waiting = section(first_screen(page), "waiting")
    rows = re.findall(r'<tr data-row-id="([0-9a-f]{32})"', waiting)
    assert rows == [emergency, standard]                              # emergencies first
    ref = fake_store.cases.get(standard)["reference"]
    row = re.search(rf'<tr data-row-id="{standard}".*?</tr>', waiting, re.S).group(0)
    assert f">{ref}</a>" in row and "Stevenage" in row
    assert "District and neighbours" in row                           # ring 1
    assert "5 min" in row                                             # waiting since
    assert "badge--standard" in row or "badge--high" in row
    assert "row--emergency" in re.search(rf'<tr data-row-id="{emergency}"[^>]*>',
                                         waiting).group(0)


def test_why_a_case_waits_comes_from_its_alert_and_alerts_put_emergencies_first(
        sam, fake_store, settings, clock):
    plain, _ = routed_case(fake_store, settings, "watford", now=clock())
    fake_store.alerts.raise_for_case(SKILL_WAITING, plain, now=clock())
    clock.advance(60)
    emergency, _ = routed_case(fake_store, settings, "watford", emergency=True, now=clock())
    page = first_screen(sam.get("/dashboard").get_data(as_text=True))
    alerts = section(page, "alerts")
    kinds = re.findall(r'data-field="kind" data-as="label">([^<]*)<', alerts)
    assert kinds[0].startswith("Emergency")                           # emergencies first
    assert "Waiting for a scarce skill" in kinds
    row = re.search(rf'<tr data-row-id="{plain}".*?</tr>', section(page, "waiting"),
                    re.S).group(0)
    assert "Waiting for a scarce skill" in row or "Needs" in row
    assert f"/cases/{emergency}/view" in alerts                       # to the reason page


def test_the_first_screen_shows_sla_clocks_and_folds_the_rest(sam):
    page = sam.get("/dashboard").get_data(as_text=True)
    top = first_screen(page)
    for part in ('id="alerts"', 'id="waiting"', 'id="breaches"', "At risk"):
        assert part in top, part
    rest = page.split('<details class="more"', 1)[1]
    for part in ('id="districts-title"', 'id="offers"', 'id="workers"', 'id="officers"',
                 'id="charts"', 'id="dead-letters"'):
        assert part in rest and part not in top, part
    assert "No case is waiting." in top


def test_the_snapshot_stream_carries_the_waiting_list(sam, fake_store, settings, clock):
    case_id, _ = routed_case(fake_store, settings, "watford", now=clock())
    app = sam.application
    with app.app_context():
        snap = live.snapshot(app.extensions[EXTENSION], app.extensions[live.EXTENSION].broker)
    [item] = snap["waiting"]
    assert item["case_id"] == case_id and item["district"] == "watford"
    assert item["ring"] in ("ring_0", "ring_1", "ring_2")
