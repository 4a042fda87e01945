"""Weekly windows: "these days, from this time to that time", in a force's local time.

Shared by officers' rotas and by reporters' safe contact times. Pure standard library.

A `Window` names the weekdays it STARTS on and a local wall-clock start and end. An end
earlier than the start runs past midnight into the next day (Fri 22:00-06:00 ends on Saturday
morning, Sun 22:00-06:00 ends on Monday morning); an end equal to the start is a full 24 hours.

How local times become instants (the clock-change rule)
--------------------------------------------------------
Each occurrence of a window is turned into a half-open UTC interval [start, end): both
boundaries are computed as local wall-clock times on the right calendar dates and then
resolved to UTC, one boundary at a time:

* an ambiguous wall-clock time (the repeated hour when the clocks go back) means its FIRST
  occurrence (``fold=0``): on 2026-10-25 in Europe/London, 01:30 is 00:30 UTC;
* a wall-clock time that does not exist (the hour skipped when the clocks go forward) moves
  to the end of the gap, i.e. the instant of the change: on 2026-03-29 in Europe/London,
  01:30 is 01:00 UTC (02:00 BST).

So a window always covers one contiguous stretch of real time, never two: 22:00-06:00
on the spring-forward night lasts 7 hours and on the autumn-back night 9 hours; 00:30-01:30
on the spring-forward day ends at 02:00 BST; a window lying wholly inside the skipped hour
is empty that day. Overlapping or touching occurrences are merged, so `within` is a plain
membership test and every instant `next_change` reports really is a flip. Resolution never
raises, and because window times are whole minutes every boundary is a whole minute of UTC
(for zones whose offsets are whole minutes, which is all of them today).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.model import WEEKDAYS

__all__ = ["LOOKAHEAD", "WEEKDAYS", "Window", "changes", "days_text", "intervals",
           "next_change", "next_start", "parse_hhmm", "resolve", "within"]

#: How far `next_change` and `next_start` look ahead of `at`.
LOOKAHEAD = timedelta(days=8)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_KEYS = ("days", "start", "end")
_ONE_SECOND = timedelta(seconds=1)

Interval = tuple[datetime, datetime]


def parse_hhmm(text: object, what: str) -> time:
    """'08:00' -> time(8, 0); ValueError naming `what` otherwise."""
    if not isinstance(text, str) or not _HHMM.match(text.strip()):
        raise ValueError(f"{what}: {text!r} is not a time; use 24-hour HH:MM, like '08:00'")
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def days_text(days: Sequence[str]) -> str:
    """('mon', 'tue', 'wed', 'fri') -> 'mon-wed,fri' (what a shift spec's days read)."""
    runs: list[list[int]] = []
    for i in sorted(WEEKDAYS.index(d) for d in days):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(WEEKDAYS[r[0]] + (f"-{WEEKDAYS[r[-1]]}" if len(r) > 1 else "")
                    for r in runs)


@dataclass(frozen=True)
class Window:
    """Local wall-clock hours on some weekdays; `days` are the days the window starts on.

    Days are normalised to week order without repeats, so equal windows compare equal.
    """

    days: tuple[str, ...]
    start: time
    end: time

    def __post_init__(self) -> None:
        days = self.days
        if isinstance(days, str) or not isinstance(days, Sequence):
            raise ValueError(f"window days: expected a list of weekdays, got {days!r}")
        if not days:
            raise ValueError("window days: choose at least one day")
        for day in days:
            if day not in WEEKDAYS:
                raise ValueError(f"window days: {day!r} is not a weekday; "
                                 f"use {', '.join(WEEKDAYS)}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"window {name}: expected a time, got {value!r}")
            if value.tzinfo is not None or value.second or value.microsecond:
                raise ValueError(f"window {name}: {value!r} must be a local time in whole "
                                 "minutes (HH:MM, no timezone)")
        object.__setattr__(self, "days", tuple(d for d in WEEKDAYS if d in days))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Window:
        """{"days": ["mon"], "start": "08:00", "end": "16:00"} -> Window."""
        if not isinstance(d, Mapping):
            raise ValueError(f"window: expected an object with days, start and end, got {d!r}")
        unknown = sorted(str(k) for k in d if k not in _KEYS)
        if unknown:
            raise ValueError(f"window: unknown field(s) {', '.join(unknown)}; "
                             "expected days, start and end")
        missing = [k for k in _KEYS if k not in d]
        if missing:
            raise ValueError(f"window: missing {', '.join(missing)}")
        days = d["days"]
        if isinstance(days, str) or not isinstance(days, Sequence):
            raise ValueError(f"window days: expected a list of weekdays, got {days!r}")
        for day in days:
            if not isinstance(day, str) or day.strip().lower() not in WEEKDAYS:
                raise ValueError(f"window days: {day!r} is not a weekday; "
                                 f"use {', '.join(WEEKDAYS)}")
        return cls(days=tuple(day.strip().lower() for day in days),
                   start=parse_hhmm(d["start"], "window start"),
                   end=parse_hhmm(d["end"], "window end"))

    def to_dict(self) -> dict[str, Any]:
        return {"days": list(self.days), "start": _hhmm(self.start), "end": _hhmm(self.end)}

    def occurrence(self, day: date, tz: tzinfo) -> Interval | None:
        """The UTC interval of the occurrence starting on local `day`, or None (not that day,
        or empty because it lies wholly inside a skipped hour)."""
        if WEEKDAYS[day.weekday()] not in self.days:
            return None
        start = resolve(datetime.combine(day, self.start), tz)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        end = resolve(datetime.combine(end_day, self.end), tz)
        return (start, end) if start < end else None


def resolve(local: datetime, tz: tzinfo) -> datetime:
    """A naive local wall-clock time in `tz` -> aware UTC, by the module's clock-change rule:
    ambiguous -> the first occurrence (fold=0); nonexistent -> the end of the gap."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # In a gap: fold=0 and fold=1 use the offsets either side of the change, so the change
    # lies between the two readings. Find it (to the second) by bisection.
    other = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    after = hi.astimezone(tz).utcoffset()
    if lo.astimezone(tz).utcoffset() == after:  # not a real gap (odd tzinfo): be safe
        return hi
    while hi - lo > _ONE_SECOND:
        mid = lo + timedelta(seconds=((hi - lo) // _ONE_SECOND) // 2)
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def _aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {at!r}")
    return at


def intervals(windows: Sequence[Window], first: date, last: date,
              tz: tzinfo) -> list[Interval]:
    """Merged, sorted UTC intervals of every occurrence starting on local dates first..last."""
    found: list[Interval] = []
    day = first
    while day <= last:
        for window in windows:
            span = window.occurrence(day, tz)
            if span is not None:
                found.append(span)
        day += timedelta(days=1)
    found.sort()
    merged: list[Interval] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def within(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> bool:
    """Is the instant `at` (aware, any timezone) inside one of the windows, read in `tz`?"""
    at = _aware(at).astimezone(UTC)
    today = at.astimezone(tz).date()
    one = timedelta(days=1)
    return any(start <= at < end for start, end in intervals(windows, today - one,
                                                              today + one, tz))


def changes(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every instant in (at, at + LOOKAHEAD] when `within` flips, ascending, in UTC."""
    at = _aware(at).astimezone(UTC)
    today = at.astimezone(tz).date()
    spans = intervals(windows, today - timedelta(days=1), today + timedelta(days=9), tz)
    horizon = at + LOOKAHEAD
    return [edge for span in spans for edge in span if at < edge <= horizon]


def next_change(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant strictly after `at` when `within` flips (UTC), looking at most
    LOOKAHEAD ahead; None if it never flips (no windows, or always inside)."""
    found = changes(windows, at, tz)
    return found[0] if found else None


def next_start(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> datetime | None:
    """`at` (as UTC) if inside a window now; else the next instant a window opens (UTC),
    looking at most LOOKAHEAD ahead; None if none opens."""
    if within(windows, at, tz):
        return at.astimezone(UTC)
    return next_change(windows, at, tz)
