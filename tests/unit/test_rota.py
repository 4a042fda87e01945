"""An officer's rota: weekly shifts in local time, leave that overrides them, and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.rota import Leave, Rota, always_on, parse_shift
from shared.domain.weekly import Window

LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def rota(*shifts: str, leave: tuple[Leave, ...] = ()) -> Rota:
    return Rota(shifts=tuple(parse_shift(s) for s in shifts), leave=leave)


# 2026-01-14 is a Wednesday in winter (GMT): local time is UTC.
WEEKDAYS_9_TO_5 = "mon-fri 09:00-17:00"


class TestAPlainDayShift:
    def test_is_on_shift_during_the_day_and_off_in_the_evening(self) -> None:
        r = rota(WEEKDAYS_9_TO_5)

        assert r.on_shift(utc(2026, 1, 14, 9), LONDON)
        assert r.on_shift(utc(2026, 1, 14, 16, 59, 59), LONDON)
        assert not r.on_shift(utc(2026, 1, 14, 17), LONDON)
        assert not r.on_shift(utc(2026, 1, 17, 12), LONDON)  # Saturday

    def test_next_change_is_the_shift_end_while_on_shift(self) -> None:
        assert rota(WEEKDAYS_9_TO_5).next_change(utc(2026, 1, 14, 12), LONDON) == \
            utc(2026, 1, 14, 17)

    def test_next_change_is_the_next_start_while_off_shift(self) -> None:
        r = rota(WEEKDAYS_9_TO_5)

        assert r.next_change(utc(2026, 1, 14, 18), LONDON) == utc(2026, 1, 15, 9)
        assert r.next_change(utc(2026, 1, 16, 18), LONDON) == utc(2026, 1, 19, 9)  # Fri->Mon


class TestAShiftAcrossMidnight:
    def test_friday_night_covers_saturday_0300_but_not_0700(self) -> None:
        r = rota("fri 22:00-06:00")

        assert r.on_shift(utc(2026, 1, 17, 3), LONDON)
        assert not r.on_shift(utc(2026, 1, 17, 7), LONDON)

    def test_sunday_night_covers_monday_0200_across_the_week_wrap(self) -> None:
        r = rota("sun 22:00-06:00")

        assert r.on_shift(utc(2026, 1, 19, 2), LONDON)
        assert r.next_change(utc(2026, 1, 19, 2), LONDON) == utc(2026, 1, 19, 6)


class TestLeave:
    christmas = Leave(start=utc(2026, 12, 24), end=utc(2026, 12, 27))

    def test_leave_overrides_a_shift(self) -> None:
        r = rota(WEEKDAYS_9_TO_5, leave=(self.christmas,))

        assert not r.on_shift(utc(2026, 12, 24, 12), LONDON)  # a Thursday
        assert r.on_shift(utc(2026, 12, 28, 12), LONDON)  # Monday, back at work

    def test_the_start_of_leave_is_a_change(self) -> None:
        r = rota("mon-sun 09:00-17:00", leave=(Leave(utc(2026, 1, 14, 12), utc(2026, 1, 14, 13)),))

        assert r.next_change(utc(2026, 1, 14, 10), LONDON) == utc(2026, 1, 14, 12)

    def test_the_end_of_leave_is_a_change_when_it_falls_inside_a_shift(self) -> None:
        r = rota("mon-sun 09:00-17:00", leave=(Leave(utc(2026, 1, 14, 12), utc(2026, 1, 14, 13)),))

        assert r.next_change(utc(2026, 1, 14, 12, 30), LONDON) == utc(2026, 1, 14, 13)

    def test_shift_boundaries_during_leave_are_not_changes(self) -> None:
        r = rota(WEEKDAYS_9_TO_5, leave=(self.christmas,))

        # Wed 23 Dec on shift; off from 17:00, and leave keeps it off until Mon 28 Dec 09:00.
        assert r.next_change(utc(2026, 12, 23, 12), LONDON) == utc(2026, 12, 23, 17)
        assert r.next_change(utc(2026, 12, 23, 17), LONDON) == utc(2026, 12, 28, 9)

    def test_long_leave_beyond_the_lookahead_still_finds_the_return(self) -> None:
        r = rota(WEEKDAYS_9_TO_5, leave=(
            Leave(utc(2026, 7, 1), utc(2026, 8, 1)), Leave(utc(2026, 7, 20), utc(2026, 8, 10))))

        # Overlapping leave until Mon 10 Aug 00:00 UTC; back at 09:00 BST = 08:00 UTC.
        assert r.next_change(utc(2026, 7, 1, 12), LONDON) == utc(2026, 8, 10, 8)

    def test_always_on_with_leave_changes_at_the_leave_boundaries(self) -> None:
        r = Rota(shifts=always_on().shifts, leave=(self.christmas,))

        assert r.next_change(utc(2026, 11, 1), LONDON) == utc(2026, 12, 24)
        assert r.next_change(utc(2026, 12, 24), LONDON) == utc(2026, 12, 27)
        assert r.next_change(utc(2026, 12, 27), LONDON) is None

    def test_leave_must_end_after_it_starts_and_be_timezone_aware(self) -> None:
        with pytest.raises(ValueError, match="must be after the start"):
            Leave(utc(2026, 1, 2), utc(2026, 1, 1))
        with pytest.raises(ValueError, match="has no timezone"):
            Leave(datetime(2026, 1, 1), utc(2026, 1, 2))


class TestNoShiftsAndAlwaysOn:
    def test_no_shifts_is_never_on_shift_and_never_changes(self) -> None:
        r = Rota()

        assert not r.on_shift(utc(2026, 1, 14, 12), LONDON)
        assert r.next_change(utc(2026, 1, 14, 12), LONDON) is None

    @pytest.mark.parametrize("at", [utc(2026, 1, 14, 12), utc(2026, 3, 29, 0, 30),
                                    utc(2026, 10, 25, 0, 30)])
    def test_always_on_is_on_shift_and_never_changes(self, at: datetime) -> None:
        assert always_on().on_shift(at, LONDON)
        assert always_on().next_change(at, LONDON) is None


class TestSummerAndWinterTime:
    def test_a_summer_day_shift_is_08_to_16_utc(self) -> None:
        r = rota("wed 09:00-17:00")  # 2026-07-15 is a Wednesday in BST

        assert r.next_change(utc(2026, 7, 15, 0), LONDON) == utc(2026, 7, 15, 8)
        assert r.next_change(utc(2026, 7, 15, 8), LONDON) == utc(2026, 7, 15, 16)

    def test_a_winter_day_shift_is_09_to_17_utc(self) -> None:
        r = rota("wed 09:00-17:00")

        assert r.next_change(utc(2026, 1, 14, 0), LONDON) == utc(2026, 1, 14, 9)
        assert r.next_change(utc(2026, 1, 14, 9), LONDON) == utc(2026, 1, 14, 17)


def half_hours(first: datetime, last: datetime) -> list[datetime]:
    count = int((last - first) / timedelta(minutes=30)) + 1
    return [first + timedelta(minutes=30 * i) for i in range(count)]


class TestClockChangeNights:
    """A Saturday-night 22:00-06:00 shift over the nights the clocks change.

    The rule: local boundaries resolved with fold=0 (a repeated time means its first
    occurrence); a boundary in the skipped hour moves to the end of the gap.
    """

    shift = rota("sat 22:00-06:00")

    def test_spring_forward_night_is_seven_hours(self) -> None:
        # Sat 28 Mar 22:00 GMT = 22:00 UTC; Sun 29 Mar 06:00 BST = 05:00 UTC.
        start, end = utc(2026, 3, 28, 22), utc(2026, 3, 29, 5)
        for at in half_hours(utc(2026, 3, 28, 20), utc(2026, 3, 29, 8)):
            assert self.shift.on_shift(at, LONDON) == (start <= at < end), at

        assert self.shift.next_change(utc(2026, 3, 28, 20), LONDON) == start
        assert self.shift.next_change(start, LONDON) == end
        assert end - start == timedelta(hours=7)

    def test_autumn_back_night_is_nine_hours(self) -> None:
        # Sat 24 Oct 22:00 BST = 21:00 UTC; Sun 25 Oct 06:00 GMT = 06:00 UTC.
        start, end = utc(2026, 10, 24, 21), utc(2026, 10, 25, 6)
        for at in half_hours(utc(2026, 10, 24, 19), utc(2026, 10, 25, 8)):
            assert self.shift.on_shift(at, LONDON) == (start <= at < end), at

        assert self.shift.next_change(utc(2026, 10, 24, 19), LONDON) == start
        assert self.shift.next_change(start, LONDON) == end
        assert end - start == timedelta(hours=9)

    @pytest.mark.parametrize("night", [utc(2026, 3, 28, 12), utc(2026, 10, 24, 12)])
    def test_nothing_raises_at_any_minute_of_either_night(self, night: datetime) -> None:
        r = rota("mon-sun 00:30-01:30", "mon-sun 01:15-01:45", "sat 22:00-06:00")
        for minute in range(0, 24 * 60, 5):
            at = night + timedelta(minutes=minute)
            r.on_shift(at, LONDON)
            change = r.next_change(at, LONDON)
            assert change is None or change > at


class TestParseShift:
    @pytest.mark.parametrize(("text", "days", "start", "end"), [
        ("mon-fri 08:00-16:00", ("mon", "tue", "wed", "thu", "fri"), time(8), time(16)),
        ("sat 22:00-06:00", ("sat",), time(22), time(6)),
        ("mon,wed 09:00-17:00", ("mon", "wed"), time(9), time(17)),
        ("Mon, Wed  09:00 - 17:00", ("mon", "wed"), time(9), time(17)),
        ("fri-mon 20:00-08:00", ("mon", "fri", "sat", "sun"), time(20), time(8)),
        ("mon-wed,sat 07:30-07:30", ("mon", "tue", "wed", "sat"), time(7, 30), time(7, 30)),
    ])
    def test_reads_days_and_hours(self, text: str, days: tuple[str, ...], start: time,
                                  end: time) -> None:
        assert parse_shift(text) == Window(days=days, start=start, end=end)

    @pytest.mark.parametrize(("text", "named"), [
        ("", "expected 'DAYS HH:MM-HH:MM'"),
        ("mon-fri", "expected 'DAYS HH:MM-HH:MM'"),
        ("08:00-16:00", "expected 'DAYS HH:MM-HH:MM'"),
        ("funday 08:00-16:00", "'funday' is not a weekday"),
        ("mon-fry 08:00-16:00", "'fry' is not a weekday"),
        ("mon,,tue 08:00-16:00", "an empty day"),
        ("mon-tue-wed 08:00-16:00", "'mon-tue-wed' is not a day or a day range"),
        ("mon 8am-16:00", "start: '8am' is not a time"),
        ("mon 08:00-24:00", "end: '24:00' is not a time"),
    ])
    def test_bad_input_raises_naming_what_is_wrong(self, text: str, named: str) -> None:
        with pytest.raises(ValueError) as caught:
            parse_shift(text)

        assert named in str(caught.value)


class TestJson:
    def test_round_trips(self) -> None:
        r = rota("mon-fri 08:00-16:00", "sat 22:00-06:00",
                 leave=(Leave(utc(2026, 12, 24), utc(2026, 12, 27)),))

        assert Rota.from_json(r.to_json()) == r

    def test_is_compact_with_utc_leave(self) -> None:
        r = rota("mon 08:00-16:00", leave=(Leave(
            datetime(2026, 12, 24, tzinfo=LONDON), datetime(2026, 12, 27, tzinfo=LONDON)),))

        assert r.to_json() == (
            '{"shifts":[{"days":["mon"],"start":"08:00","end":"16:00"}],'
            '"leave":[{"start":"2026-12-24T00:00:00+00:00","end":"2026-12-27T00:00:00+00:00"}]}')

    @pytest.mark.parametrize("text", ["", "  ", "{}"])
    def test_empty_text_is_an_empty_rota(self, text: str) -> None:
        assert Rota.from_json(text) == Rota()

    @pytest.mark.parametrize(("text", "named"), [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"shift": []}', "unknown field(s) shift"),
        ('{"shifts": {}}', "rota shifts: expected a list"),
        ('{"shifts": [{"days": ["mon"], "start": "08:00", "end": "99:00"}]}',
         "rota shifts[0]: window end: '99:00'"),
        ('{"leave": [{"start": "2026-12-24T00:00:00", "end": "2026-12-27T00:00:00+00:00"}]}',
         "rota leave[0]: leave start: '2026-12-24T00:00:00' has no timezone"),
        ('{"leave": [{"start": "Christmas", "end": "2026-12-27T00:00:00+00:00"}]}',
         "leave start: 'Christmas' is not an ISO 8601 date-time"),
        ('{"leave": [{"start": "2026-12-27T00:00:00+00:00"}]}', "leave[0]: leave: missing end"),
    ])
    def test_bad_input_raises_a_clear_error(self, text: str, named: str) -> None:
        with pytest.raises(ValueError) as caught:
            Rota.from_json(text)

        assert named in str(caught.value)
