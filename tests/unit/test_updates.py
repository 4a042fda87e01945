"""Victims' Code update schedules (shared/domain/updates.py) and their setting."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, Settings
from shared.domain.updates import DEFAULT_SCHEDULE, first_due, next_due, parse_schedule

DAY = 86400


def test_the_default_schedules_follow_the_victims_code():
    schedules = parse_schedule(DEFAULT_SCHEDULE)
    assert schedules == {"standard": (5 * DAY, 28 * DAY),
                         "enhanced": (1 * DAY, 10 * DAY, 28 * DAY)}


def test_standard_is_within_5_days_then_every_28():
    steps = parse_schedule(DEFAULT_SCHEDULE)["standard"]
    assert next_due(steps, 0, 1000.0) == 1000.0 + 5 * DAY
    assert next_due(steps, 1, 2000.0) == 2000.0 + 28 * DAY
    assert next_due(steps, 7, 3000.0) == 3000.0 + 28 * DAY  # the last step repeats


def test_enhanced_is_within_24_hours_then_10_days_then_every_28():
    schedules = parse_schedule(DEFAULT_SCHEDULE)
    assert first_due(schedules, enhanced=True, created_at=0.0) == 1 * DAY
    assert first_due(schedules, enhanced=False, created_at=0.0) == 5 * DAY
    steps = schedules["enhanced"]
    assert [next_due(steps, n, 0.0) for n in (1, 2, 3)] == [10 * DAY, 28 * DAY, 28 * DAY]


def test_hours_and_minutes_are_allowed():
    assert parse_schedule("standard=48h;enhanced=90m,1d") == {
        "standard": (48 * 3600,), "enhanced": (90 * 60, DAY)}


@pytest.mark.parametrize("text", [
    "", "standard=5d", "standard=5d;enhanced=", "standard=5d;enhanced=0d",
    "standard=5d;enhanced=1w", "standard=5d;enhanced=1d;enhanced=2d",
    "standard=5d;other=1d", "standard=-1d;enhanced=1d", "standard 5d;enhanced 1d",
])
def test_a_bad_schedule_is_refused(text):
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_the_setting_is_validated_at_start_up():
    settings = Settings.from_env({"LIAISON_UPDATE_SCHEDULE": "standard=2d,14d;enhanced=1d"})
    assert settings.update_schedules()["standard"] == (2 * DAY, 14 * DAY)
    with pytest.raises(ConfigError, match="LIAISON_UPDATE_SCHEDULE"):
        Settings.from_env({"LIAISON_UPDATE_SCHEDULE": "standard=5d"})
