"""An officer's rota: weekly shifts in the force's local time, minus leave. Pure rules.

Shifts are `shared.domain.weekly.Window`s, so they follow that module's clock-change rule
(ambiguous local times mean the first occurrence; skipped local times move to the end of the
gap). Leave is a list of absolute [start, end) instants; leave always wins over a shift.

Text forms:
* a shift: "mon-fri 08:00-16:00", "sat 22:00-06:00", "mon,wed 09:00-17:00", "sat-sun ...".
  A day range may wrap the week ("fri-mon" is fri, sat, sun, mon). An end at or before the
  start runs into the next day; an equal end is a full 24 hours.
* a rota: compact JSON, {"shifts":[{"days":["mon"],"start":"08:00","end":"16:00"}],
  "leave":[{"start":"2026-12-24T00:00:00+00:00","end":"2026-12-27T00:00:00+00:00"}]}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain import weekly
from shared.domain.model import WEEKDAYS
from shared.domain.weekly import Window, parse_hhmm

__all__ = ["Leave", "Rota", "always_on", "parse_shift"]

_SHIFT = re.compile(r"^(?P<days>.*?)\s+(?P<start>[^\s-]+)\s*-\s*(?P<end>[^\s-]+)$")
_SHIFT_FORMAT = "expected 'DAYS HH:MM-HH:MM', like 'mon-fri 08:00-16:00' or 'sat 22:00-06:00'"


def _instant(value: object, what: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a date-time, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: {value.isoformat()!r} has no timezone; give an offset "
                         "like +00:00")
    return value


@dataclass(frozen=True)
class Leave:
    """Time off, [start, end) as aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = _instant(self.start, "leave start")
        end = _instant(self.end, "leave end")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        if end <= start:
            raise ValueError(f"leave: the end {end.isoformat()} must be after the start "
                             f"{start.isoformat()}")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.astimezone(UTC).isoformat(),
                "end": self.end.astimezone(UTC).isoformat()}

    @classmethod
    def from_dict(cls, d: object) -> Leave:
        if not isinstance(d, dict):
            raise ValueError(f"leave: expected an object with start and end, got {d!r}")
        unknown = sorted(str(k) for k in d if k not in ("start", "end"))
        if unknown:
            raise ValueError(f"leave: unknown field(s) {', '.join(unknown)}; "
                             "expected start and end")
        missing = [k for k in ("start", "end") if k not in d]
        if missing:
            raise ValueError(f"leave: missing {', '.join(missing)}")
        return cls(start=_instant(d["start"], "leave start"),
                   end=_instant(d["end"], "leave end"))


@dataclass(frozen=True)
class Rota:
    shifts: tuple[Window, ...] = ()
    leave: tuple[Leave, ...] = ()

    def __post_init__(self) -> None:
        for name, kind in (("shifts", Window), ("leave", Leave)):
            items = getattr(self, name)
            if isinstance(items, str) or not isinstance(items, Sequence):
                raise ValueError(f"rota {name}: expected a list, got {items!r}")
            for item in items:
                if not isinstance(item, kind):
                    raise ValueError(f"rota {name}: expected {kind.__name__}, got {item!r}")
            object.__setattr__(self, name, tuple(items))

    def on_leave(self, at: datetime) -> bool:
        return any(leave.covers(at) for leave in self.leave)

    def on_shift(self, at: datetime, tz: ZoneInfo) -> bool:
        """Inside a shift (read in `tz`) and not on leave."""
        return weekly.within(self.shifts, at, tz) and not self.on_leave(at)

    def _leave_ends(self, at: datetime) -> datetime:
        """The end of the unbroken stretch of (possibly overlapping) leave covering `at`."""
        end = at
        while True:
            later = [leave.end for leave in self.leave if leave.covers(end)]
            if not later:
                return end
            end = max(later)

    def next_change(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """The first instant strictly after `at` when `on_shift` flips (UTC), or None.

        Shift changes are looked for up to `weekly.LOOKAHEAD` ahead of each step; leave
        boundaries at any distance count. Each step either returns, or enters or leaves a
        stretch of leave, so this always ends.
        """
        state = self.on_shift(at, tz)
        t = at.astimezone(UTC)
        while True:
            if self.on_leave(t):
                change: datetime | None = self._leave_ends(t)
            else:
                starts = [leave.start for leave in self.leave if leave.start > t]
                candidates = [c for c in (weekly.next_change(self.shifts, t, tz),
                                          min(starts, default=None)) if c is not None]
                change = min(candidates, default=None)
            if change is None:
                return None
            change = change.astimezone(UTC)
            if self.on_shift(change, tz) != state:
                return change
            t = change

    def to_dict(self) -> dict[str, Any]:
        return {"shifts": [w.to_dict() for w in self.shifts],
                "leave": [leave.to_dict() for leave in self.leave]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Rota:
        """'' or '{}' -> an empty rota; ValueError with a clear message on bad input."""
        if not isinstance(text, str):
            raise ValueError(f"rota: expected JSON text, got {type(text).__name__}")
        if not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"rota: not valid JSON ({exc.msg} at line {exc.lineno} "
                             f"column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ValueError(f"rota: expected a JSON object with shifts and leave, "
                             f"got {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in ("shifts", "leave"))
        if unknown:
            raise ValueError(f"rota: unknown field(s) {', '.join(unknown)}; "
                             "expected shifts and leave")
        shifts, leave = data.get("shifts", []), data.get("leave", [])
        for name, items in (("shifts", shifts), ("leave", leave)):
            if not isinstance(items, list):
                raise ValueError(f"rota {name}: expected a list, got {items!r}")
        parsed_shifts = []
        for i, item in enumerate(shifts):
            try:
                parsed_shifts.append(Window.from_dict(item))
            except ValueError as exc:
                raise ValueError(f"rota shifts[{i}]: {exc}") from None
        parsed_leave = []
        for i, item in enumerate(leave):
            try:
                parsed_leave.append(Leave.from_dict(item))
            except ValueError as exc:
                raise ValueError(f"rota leave[{i}]: {exc}") from None
        return cls(shifts=tuple(parsed_shifts), leave=tuple(parsed_leave))


def _days(text: str, whole: str) -> tuple[str, ...]:
    days: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"shift {whole!r}: an empty day in {text!r}")
        ends = [p.strip() for p in part.split("-")]
        if len(ends) > 2:
            raise ValueError(f"shift {whole!r}: {part!r} is not a day or a day range")
        for end in ends:
            if end not in WEEKDAYS:
                raise ValueError(f"shift {whole!r}: {end!r} is not a weekday; "
                                 f"use {', '.join(WEEKDAYS)}")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        span = (last - first) % 7
        days.extend(WEEKDAYS[(first + i) % 7] for i in range(span + 1))
    return tuple(days)


def parse_shift(text: str) -> Window:
    """'mon-fri 08:00-16:00' -> Window; ValueError naming what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"shift: expected text, got {text!r}")
    whole = text.strip()
    match = _SHIFT.match(whole.lower())
    if not match:
        raise ValueError(f"shift {whole!r}: {_SHIFT_FORMAT}")
    day_text = "".join(match["days"].split())
    return Window(days=_days(day_text, whole),
                  start=parse_hhmm(match["start"], f"shift {whole!r} start"),
                  end=parse_hhmm(match["end"], f"shift {whole!r} end"))


def always_on() -> Rota:
    """On shift at every instant: every day, 00:00 to 00:00 (a full 24 hours)."""
    return Rota(shifts=(parse_shift("mon-sun 00:00-00:00"),))
