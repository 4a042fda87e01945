"""Victims' Code update clocks: when the next update to a reporter is due. Pure.

A schedule is a list of steps (`LIAISON_UPDATE_SCHEDULE`, e.g.
`standard=5d,28d;enhanced=1d,10d,28d`). Step n is the time from the report (n = 0) or from
the last update given (n >= 1) to the next update due; the last step repeats for as long as
the case is open. Standard: within 5 days of the report, then every 28 days. Enhanced (a
repeat victim, Victims' Code enhanced rights): within 24 hours, 10 days after that, then
every 28 days. Clocks run only for cases someone may contact, until they are closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

STANDARD = "standard"
ENHANCED = "enhanced"
SCHEDULES = (STANDARD, ENHANCED)
DEFAULT_SCHEDULE = "standard=5d,28d;enhanced=1d,10d,28d"
_UNITS = {"d": 86400, "h": 3600, "m": 60}


def parse_schedule(text: str) -> dict[str, tuple[int, ...]]:
    """'standard=5d,28d;enhanced=1d,10d,28d' -> {name: (seconds, ...)}; both schedules
    needed, each step a positive number of days (d), hours (h) or minutes (m)."""
    result: dict[str, tuple[int, ...]] = {}
    for part in text.split(";"):
        name, sep, steps = part.partition("=")
        name = name.strip()
        if not sep or name not in SCHEDULES or name in result:
            raise ValueError(f"{text!r} is not like '{DEFAULT_SCHEDULE}' (one list of steps "
                             "for each of standard and enhanced)")
        result[name] = tuple(_seconds(step) for step in steps.split(","))
    if sorted(result) != sorted(SCHEDULES):
        raise ValueError("give steps for both standard and enhanced")
    return result


def _seconds(step: str) -> int:
    step = step.strip().lower()
    unit = _UNITS.get(step[-1:]) if step else None
    if unit is None or not step[:-1].isdigit() or int(step[:-1]) < 1:
        raise ValueError(f"step {step!r} must be a positive whole number of days (5d), "
                         "hours (24h) or minutes (90m)")
    return int(step[:-1]) * unit


def schedule_name(enhanced: bool) -> str:
    return ENHANCED if enhanced else STANDARD


def next_due(steps: Sequence[int], given: int, since: float) -> float:
    """When the next update is due after `given` updates, the last of them (or the report,
    when none) at `since` (epoch seconds)."""
    return since + steps[min(given, len(steps) - 1)]


def first_due(schedules: Mapping[str, Sequence[int]], *, enhanced: bool,
              created_at: float) -> float:
    """The first update's due time for a new contactable case."""
    return next_due(schedules[schedule_name(enhanced)], 0, created_at)
