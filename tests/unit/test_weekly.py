"""Weekly windows: local wall-clock hours on weekdays, across midnight, week wrap and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.model import WEEKDAYS
from shared.domain.weekly import (
    LOOKAHEAD,
    Window,
    changes,
    next_change,
    next_start,
    resolve,
    within,
)

LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def window(days: str, start: str, end: str) -> Window:
    return Window.from_dict({"days": days.split(","), "start": start, "end": end})


# 2026-03-29 (Sun): clocks go forward at 01:00 UTC. 2026-10-25 (Sun): back at 01:00 UTC.
# 2026-07-15 is a Wednesday (BST, UTC+1); 2026-01-14 is a Wednesday (GMT, UTC+0).


class TestWindowFromDict:
    def test_reads_days_and_times(self) -> None:
        w = Window.from_dict({"days": ["mon", "tue"], "start": "08:00", "end": "16:00"})

        assert w == Window(days=("mon", "tue"), start=time(8), end=time(16))

    def test_days_are_normalised_to_week_order_without_repeats(self) -> None:
        w = Window.from_dict({"days": ["fri", "Mon", "fri"], "start": "08:00", "end": "16:00"})

        assert w.days == ("mon", "fri")

    def test_to_dict_round_trips(self) -> None:
        d = {"days": ["sat"], "start": "22:00", "end": "06:00"}

        assert Window.from_dict(d).to_dict() == d
        assert Window.from_dict(Window.from_dict(d).to_dict()) == Window.from_dict(d)

    @pytest.mark.parametrize(("bad", "named"), [
        ({"days": ["funday"], "start": "08:00", "end": "16:00"}, "'funday' is not a weekday"),
        ({"days": [], "start": "08:00", "end": "16:00"}, "at least one day"),
        ({"days": "mon", "start": "08:00", "end": "16:00"}, "window days"),
        ({"days": ["mon"], "start": "25:00", "end": "16:00"}, "window start: '25:00'"),
        ({"days": ["mon"], "start": "08:00", "end": "4pm"}, "window end: '4pm'"),
        ({"days": ["mon"], "start": 800, "end": "16:00"}, "window start: 800"),
        ({"days": ["mon"], "start": "08:00"}, "missing end"),
        ({"days": ["mon"], "start": "08:00", "end": "16:00", "tz": "x"}, "unknown field(s) tz"),
        (["mon", "08:00", "16:00"], "expected an object"),
    ])
    def test_bad_input_raises_naming_the_bad_part(self, bad: object, named: str) -> None:
        with pytest.raises(ValueError) as caught:
            Window.from_dict(bad)  # type: ignore[arg-type]

        assert named in str(caught.value)

    def test_times_must_be_whole_minutes(self) -> None:
        with pytest.raises(ValueError, match="whole minutes"):
            Window(days=("mon",), start=time(8, 0, 30), end=time(9))


class TestAPlainDayShift:
    shift = [window("mon,tue,wed,thu,fri", "08:00", "16:00")]

    def test_covers_the_working_day_and_not_the_evening(self) -> None:
        assert within(self.shift, utc(2026, 1, 14, 8), LONDON)
        assert within(self.shift, utc(2026, 1, 14, 15, 59, 59), LONDON)
        assert not within(self.shift, utc(2026, 1, 14, 16), LONDON)
        assert not within(self.shift, utc(2026, 1, 14, 7, 59), LONDON)

    def test_does_not_cover_the_weekend(self) -> None:
        assert not within(self.shift, utc(2026, 1, 17, 10), LONDON)

    def test_next_change_is_the_end_while_inside(self) -> None:
        assert next_change(self.shift, utc(2026, 1, 14, 10), LONDON) == utc(2026, 1, 14, 16)

    def test_next_change_is_the_next_start_while_outside(self) -> None:
        assert next_change(self.shift, utc(2026, 1, 14, 17), LONDON) == utc(2026, 1, 15, 8)
        # Friday evening: the next start is Monday morning.
        assert next_change(self.shift, utc(2026, 1, 16, 17), LONDON) == utc(2026, 1, 19, 8)

    def test_next_start_is_now_when_inside_and_the_next_opening_when_outside(self) -> None:
        inside = utc(2026, 1, 14, 10, 15)

        assert next_start(self.shift, inside, LONDON) == inside
        assert next_start(self.shift, utc(2026, 1, 14, 17), LONDON) == utc(2026, 1, 15, 8)

    def test_at_may_be_in_any_timezone(self) -> None:
        new_york = datetime(2026, 1, 14, 5, 30, tzinfo=ZoneInfo("America/New_York"))

        assert within(self.shift, new_york, LONDON)  # 10:30 in London

    def test_a_naive_instant_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            within(self.shift, datetime(2026, 1, 14, 10), LONDON)


class TestAShiftAcrossMidnight:
    def test_friday_night_covers_early_saturday_but_not_saturday_morning(self) -> None:
        shift = [window("fri", "22:00", "06:00")]

        assert within(shift, utc(2026, 1, 17, 3), LONDON)
        assert not within(shift, utc(2026, 1, 17, 7), LONDON)

    def test_sunday_night_wraps_into_monday(self) -> None:
        shift = [window("sun", "22:00", "06:00")]

        assert within(shift, utc(2026, 1, 19, 2), LONDON)  # Monday 02:00
        assert next_change(shift, utc(2026, 1, 19, 2), LONDON) == utc(2026, 1, 19, 6)

    def test_an_end_equal_to_the_start_is_a_full_day(self) -> None:
        shift = [window("wed", "09:00", "09:00")]

        assert within(shift, utc(2026, 1, 15, 8, 59), LONDON)
        assert next_change(shift, utc(2026, 1, 14, 10), LONDON) == utc(2026, 1, 15, 9)


class TestNoWindowsAndAllWindows:
    def test_no_windows_is_never_inside_and_never_changes(self) -> None:
        assert not within([], utc(2026, 1, 14, 10), LONDON)
        assert next_change([], utc(2026, 1, 14, 10), LONDON) is None
        assert next_start([], utc(2026, 1, 14, 10), LONDON) is None

    @pytest.mark.parametrize("at", [utc(2026, 1, 14, 10), utc(2026, 3, 28, 23, 30),
                                    utc(2026, 10, 24, 23, 30)])
    def test_every_day_around_the_clock_never_changes_even_across_clock_changes(
            self, at: datetime) -> None:
        always = [window(",".join(WEEKDAYS), "01:30", "01:30")]

        assert within(always, at, LONDON)
        assert next_change(always, at, LONDON) is None

    def test_touching_windows_merge_into_one_stretch(self) -> None:
        windows = [window("mon", "08:00", "12:00"), window("mon", "12:00", "16:00")]

        assert next_change(windows, utc(2026, 1, 12, 9), LONDON) == utc(2026, 1, 12, 16)


class TestSummerAndWinterTime:
    shift = [window("wed", "09:00", "17:00")]

    def test_a_summer_day_is_08_to_16_utc(self) -> None:
        assert next_start(self.shift, utc(2026, 7, 15, 0), LONDON) == utc(2026, 7, 15, 8)
        assert next_change(self.shift, utc(2026, 7, 15, 8), LONDON) == utc(2026, 7, 15, 16)

    def test_a_winter_day_is_09_to_17_utc(self) -> None:
        assert next_start(self.shift, utc(2026, 1, 14, 0), LONDON) == utc(2026, 1, 14, 9)
        assert next_change(self.shift, utc(2026, 1, 14, 9), LONDON) == utc(2026, 1, 14, 17)


class TestTheClockChangeRule:
    def test_a_skipped_time_moves_to_the_end_of_the_gap(self) -> None:
        assert resolve(datetime(2026, 3, 29, 1, 30), LONDON) == utc(2026, 3, 29, 1)
        assert resolve(datetime(2026, 3, 29, 1, 0), LONDON) == utc(2026, 3, 29, 1)
        assert resolve(datetime(2026, 3, 29, 2, 0), LONDON) == utc(2026, 3, 29, 1)

    def test_a_repeated_time_means_its_first_occurrence(self) -> None:
        assert resolve(datetime(2026, 10, 25, 1, 30), LONDON) == utc(2026, 10, 25, 0, 30)

    def test_a_window_ending_in_the_skipped_hour_ends_at_0200_local(self) -> None:
        w = [window("sun", "00:30", "01:30")]

        assert next_start(w, utc(2026, 3, 28, 12), LONDON) == utc(2026, 3, 29, 0, 30)
        assert next_change(w, utc(2026, 3, 29, 0, 30), LONDON) == utc(2026, 3, 29, 1)

    def test_a_window_wholly_inside_the_skipped_hour_is_empty_that_day(self) -> None:
        w = [window("sun", "01:15", "01:45")]

        assert not within(w, utc(2026, 3, 29, 1), LONDON)
        assert next_start(w, utc(2026, 3, 29, 0), LONDON) == utc(2026, 4, 5, 0, 15)

    def test_a_window_ending_in_the_repeated_hour_ends_the_first_time_round(self) -> None:
        w = [window("sat", "22:00", "01:30")]

        assert next_change(w, utc(2026, 10, 24, 22), LONDON) == utc(2026, 10, 25, 0, 30)
        assert not within(w, utc(2026, 10, 25, 1, 15), LONDON)  # the second 01:15

    def test_changes_lists_every_flip_in_the_lookahead(self) -> None:
        w = [window("mon,tue,wed,thu,fri", "08:00", "16:00")]
        found = changes(w, utc(2026, 1, 12, 0), LONDON)

        assert len(found) == 12  # Mon-Fri this week, and Mon next week (at + 8 days)
        assert found[0] == utc(2026, 1, 12, 8) and found[-1] == utc(2026, 1, 19, 16)


# ---- a property: next_change is exactly the first flip ------------------------------------

ZONES = [LONDON, ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
windows = st.lists(st.builds(
    Window,
    days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7).map(tuple),
    start=times, end=times), max_size=3)
# Instants near the clock changes and anywhere in the year, down to the microsecond.
near_changes = st.sampled_from([utc(2026, 3, 29), utc(2026, 10, 25), utc(2026, 3, 8, 7),
                                utc(2026, 11, 1, 6), utc(2026, 4, 4, 15), utc(2026, 10, 3, 15)])
instants = st.one_of(
    st.builds(lambda base, offset: base + timedelta(seconds=offset), near_changes,
              st.integers(-3 * 86400, 3 * 86400)),
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                 timezones=st.just(UTC)),
)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(windows=windows, at=instants, tz=st.sampled_from(ZONES))
def test_next_change_is_the_first_instant_after_at_when_within_flips(
        windows: list[Window], at: datetime, tz: ZoneInfo) -> None:
    # Every boundary is a whole minute of UTC and every stretch in or out lasts at least a
    # minute, so one second either side of a change is on either side of that change.
    change = next_change(windows, at, tz)
    now = within(windows, at, tz)

    if change is None:
        samples = [at + LOOKAHEAD * k / 16 for k in range(17)]
        assert all(within(windows, t, tz) == now for t in samples)
        return

    assert at < change <= at + LOOKAHEAD
    assert change.tzinfo is UTC
    assert within(windows, change - timedelta(seconds=1), tz) == now
    assert within(windows, change, tz) != now
    assert within(windows, change + timedelta(seconds=1), tz) != now
    span = change - at
    assert all(within(windows, at + span * k / 7, tz) == now for k in range(7))

    start = next_start(windows, at, tz)
    assert start == (at if now else change)
