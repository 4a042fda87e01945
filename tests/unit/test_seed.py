"""`make run`'s demo staff: a believable force, someone always on, gaps that make cases wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from ops.seed import DEMO_OFFICERS, read_roster, seed_demo
from shared.config import Settings
from shared.domain.officers import Availability, Officer, Role
from shared.domain.rota import parse_shift
from shared.domain.routing import FORCE_WIDE
from shared.geography import load_force
from shared.officer_records import save_officer
from shared.store import Store

LONDON = ZoneInfo("Europe/London")
FORCE = load_force()
# Monday 23 March 2026, midnight in London; the clocks go forward on Sunday the 29th.
WEEK_START = datetime(2026, 3, 23, 0, 0, tzinfo=UTC)
HOURS = [WEEK_START + timedelta(hours=h) for h in range(7 * 24)]


@pytest.fixture(scope="module")
def demo() -> list[Officer]:
    officers, problems = read_roster(DEMO_OFFICERS.read_text(encoding="utf-8"), FORCE)
    assert problems == []
    return officers


def working(officers: list[Officer], at: datetime) -> list[Officer]:
    return [o for o in officers if o.role is Role.OFFICER
            and o.status is Availability.AVAILABLE and o.rota.on_shift(at, LONDON)]


def test_the_demo_roster_loads_without_problems(demo: list[Officer]) -> None:
    assert len(demo) >= 30
    assert len({o.id for o in demo}) == len(demo)


def test_at_least_28_officers_cover_all_ten_districts(demo: list[Officer]) -> None:
    officers = [o for o in demo if o.role is Role.OFFICER]

    assert len(officers) >= 28
    assert {d for o in officers for d in o.districts} == set(FORCE.districts)
    assert all(2 <= o.capacity <= 5 for o in officers)


def test_the_demo_has_two_supervisors_and_an_admin(demo: list[Officer]) -> None:
    roles = [o.role for o in demo]

    assert roles.count(Role.SUPERVISOR) == 2 and roles.count(Role.ADMIN) == 1


def test_demo_emails_are_firstname_dot_lastname_at_the_test_domain(demo: list[Officer]) -> None:
    for o in demo:
        first, last = o.name.lower().split(" ", 1)
        assert o.email == f"{first}.{last.replace(' ', '')}@liaison.test"


def test_the_demo_has_the_skills_the_intake_form_asks_for(demo: list[Officer]) -> None:
    skills = {s for o in demo for s in o.skills}

    assert {"lang:polish", "lang:urdu", "lang:bengali", "bsl", "trans_specialist",
            "youth"} <= skills


def test_someone_available_is_on_shift_every_hour_of_the_week(demo: list[Officer]) -> None:
    empty = [at for at in HOURS if not working(demo, at)]

    assert empty == []


def test_the_rotas_mix_earlies_lates_nights_weekdays_and_weekends(demo: list[Officer]) -> None:
    shifts = {w for o in demo for w in o.rota.shifts}

    for spec in ("mon-fri 07:00-15:00", "mon-fri 15:00-23:00", "mon-sun 00:00-00:00"):
        assert parse_shift(spec) in shifts
    assert any(w.start.hour == 23 for w in shifts)  # nights
    assert any(set(w.days) == {"sat", "sun"} for w in shifts)  # weekends only
    assert sum(o.status is Availability.AWAY for o in demo) >= 2


def test_some_district_has_nobody_of_its_own_on_shift_at_some_hours(
        demo: list[Officer]) -> None:
    gaps = {d for d in FORCE.districts for at in HOURS
            if not any(d in o.districts for o in working(demo, at))}

    assert gaps  # so cases there go to neighbours, then force-wide, or wait


def test_a_quiet_district_is_mostly_uncovered_so_neighbours_show(demo: list[Officer]) -> None:
    quiet = [at for at in HOURS
             if not any("stevenage" in o.districts for o in working(demo, at))]

    assert len(quiet) > len(HOURS) / 2


def test_seeding_saves_the_force_staff_and_two_tokens(fake_store: Store,
                                                      settings: Settings) -> None:
    summary = seed_demo(fake_store, settings, now=WEEK_START)

    staff = fake_store.officers.all()
    assert summary.startswith(f"Hertfordshire Constabulary: 10 districts, {len(staff)} staff")
    assert len(fake_store.force.districts()) == 10
    tokens = [word.strip(",") for word in summary.split() if word.startswith("lt_")]
    holders = [fake_store.officers.officer_for_token(t) for t in tokens]
    roles = {o.id: o.role for o in staff}
    assert [roles[h] for h in holders if h] == [Role.OFFICER, Role.SUPERVISOR]


def test_seeding_twice_keeps_the_staff_and_issues_no_new_tokens(fake_store: Store,
                                                                settings: Settings) -> None:
    first = seed_demo(fake_store, settings, now=WEEK_START)
    token = next(w.strip(",") for w in first.split() if w.startswith("lt_"))
    count = len(fake_store.officers.all())

    again = seed_demo(fake_store, settings, now=WEEK_START)

    assert again == f"Hertfordshire Constabulary: 10 districts, {count} staff (existing)"
    assert len(fake_store.officers.all()) == count
    assert fake_store.officers.officer_for_token(token) is not None


def test_seeding_again_keeps_changes_made_since(fake_store: Store, settings: Settings) -> None:
    seed_demo(fake_store, settings, now=WEEK_START)
    fake_store.officers.remove("kerry-walsh")
    fake_store.officers.set_status("jordan-ellis", Availability.AWAY)

    seed_demo(fake_store, settings, now=WEEK_START)

    assert fake_store.officers.get("kerry-walsh") is None
    jordan = fake_store.officers.get("jordan-ellis")
    assert jordan is not None and jordan.status is Availability.AWAY


def test_seeded_officers_on_shift_can_take_cases_and_the_rest_wait_for_the_sweeper(
        fake_store: Store, settings: Settings, demo: list[Officer]) -> None:
    seed_demo(fake_store, settings, now=WEEK_START)  # Monday 00:00

    anywhere = set(fake_store.officers.available_in(FORCE_WIDE))
    assert anywhere == {o.id for o in working(demo, WEEK_START)}
    monday_early = datetime(2026, 3, 23, 7, 0, tzinfo=UTC).timestamp()
    assert "aisha-khan" in fake_store.officers.rota_due(monday_early)


def test_save_officer_records_whether_on_shift_and_when_that_changes(
        fake_store: Store, demo: list[Officer]) -> None:
    aisha = next(o for o in demo if o.id == "aisha-khan")  # mon-fri 07:00-15:00
    tuesday_noon = datetime(2026, 3, 24, 12, 0, tzinfo=UTC)

    assert save_officer(fake_store, aisha, LONDON, tuesday_noon) is True

    assert fake_store.officers.raw("aisha-khan")["on_shift"] == "1"
    # on shift now: due for the sweeper at once, so waiting cases are offered to them
    assert fake_store.officers.rota_due(tuesday_noon.timestamp()) == ["aisha-khan"]

    tuesday_night = datetime(2026, 3, 24, 22, 0, tzinfo=UTC)
    assert save_officer(fake_store, aisha, LONDON, tuesday_night) is False
    next_start = datetime(2026, 3, 25, 7, 0, tzinfo=UTC).timestamp()  # 07:00 GMT
    assert fake_store.officers.rota_due(next_start) == ["aisha-khan"]
    assert fake_store.officers.rota_due(next_start - 1) == []


def test_a_roster_reports_each_problem_with_its_line_and_column() -> None:
    text = ("name,districts,capacity,shifts,role\n"
            "Good,watford,3,mon 09:00-17:00,officer\n"
            "\n"
            ",narnia,-2,someday,chief\n")

    officers, problems = read_roster(text, FORCE)

    assert officers == []
    assert [(p.line, p.column) for p in problems] == [
        (4, "name"), (4, "role"), (4, "districts"), (4, "capacity"), (4, "shifts")]


def test_demo_staff_are_skipped_for_a_force_they_do_not_fit(
        fake_store: Store, tmp_path: Path) -> None:
    force_file = tmp_path / "force.yaml"
    force_file.write_text(yaml.safe_dump({
        "force": {"code": "tiny", "name": "Tiny Police", "timezone": "Europe/London"},
        "districts": [{"code": "north", "name": "North", "neighbours": [],
                       "outward_codes": ["ZZ1"]}],
    }))
    settings = Settings.for_tests(var_dir=tmp_path, force_file=str(force_file))

    summary = seed_demo(fake_store, settings)

    assert summary.startswith("Tiny Police: 1 districts; no demo staff")
    assert fake_store.officers.all() == []
