"""The admin's officer form: structured fields in, an `Officer` (or a message per field) out.

Rota rows are weekday checkboxes with a start and an end time (`shift-N-days`,
`shift-N-start`, `shift-N-end`), leave rows a first and a last day (`leave-N-from`,
`leave-N-to`), skills checkboxes (`skills`), channels one URL an input (`channels`). Each
row becomes the text the CLI takes ('mon,tue 08:00-16:00', '2026-12-24 to 2026-12-27') and
goes through the same checks (`shared.domain.officer_checks`): one set of rules, and the
form works without JavaScript. An empty row is skipped; a problem names its row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from shared.domain.languages import LANGUAGES, language_skill
from shared.domain.model import WEEKDAYS
from shared.domain.officer_checks import (
    check_capacity,
    check_channels,
    check_districts,
    check_email,
    check_id,
    check_name,
    check_role,
    check_shifts,
    check_skills,
    check_status,
)
from shared.domain.officers import Officer, Role, new_officer_id
from shared.domain.rota import Leave, Rota
from shared.domain.weekly import resolve
from shared.outbound import Fence, check_channel_urls

T = TypeVar("T")
MAX_ROWS = 40
_ROW = re.compile(r"^(shift|leave)-(\d{1,3})-(?:days|start|end|from|to)\Z")
SKILLS: dict[str, str] = {"bsl": "British Sign Language (BSL)"} | {
    language_skill(code): name for code, name in LANGUAGES.items()}


@dataclass
class _Checks:
    """Runs each check, keeping the first problem per field (and None for its value)."""

    errors: dict[str, str]

    def run(self, name: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValueError as exc:
            self.errors[name] = str(exc)[:1].upper() + str(exc)[1:] + "."
            return None


def _rows(form: Any, kind: str) -> list[int]:
    """The row numbers of `kind` ('shift' or 'leave') the form posted, in order."""
    found = {int(m[2]) for key in form.keys() if (m := _ROW.match(key)) and m[1] == kind}
    return sorted(found)[:MAX_ROWS]


def _spoken(exc: ValueError) -> str:
    return str(exc)[:1].lower() + str(exc)[1:]


def read_shifts(form: Any) -> tuple[Any, ...]:
    """The shift rows as windows (through `check_shifts`); ValueError naming the row."""
    windows: list[Any] = []
    for position, n in enumerate(_rows(form, "shift"), start=1):
        days = [d.strip().lower() for d in form.getlist(f"shift-{n}-days") if d.strip()]
        start = form.get(f"shift-{n}-start", "").strip()
        end = form.get(f"shift-{n}-end", "").strip()
        if not (days or start or end):
            continue
        try:
            if not days:
                raise ValueError("choose at least one day")
            if not (start and end):
                raise ValueError("give a start and an end time (24-hour HH:MM)")
            windows.extend(check_shifts([f"{','.join(days)} {start}-{end}"]))
        except ValueError as exc:
            raise ValueError(f"shift {position}: {_spoken(exc)}") from None
    return tuple(windows)


def read_leave(form: Any, tz: ZoneInfo) -> tuple[Leave, ...]:
    """The leave rows (first and last day, inclusive, or date-times); ValueError naming the
    row."""
    found: list[Leave] = []
    for position, n in enumerate(_rows(form, "leave"), start=1):
        first = form.get(f"leave-{n}-from", "").strip()
        last = form.get(f"leave-{n}-to", "").strip()
        if not (first or last):
            continue
        try:
            if not (first and last):
                raise ValueError("give both the first and the last day")
            found.append(leave_between(first, last, tz))
        except ValueError as exc:
            raise ValueError(f"leave {position}: {_spoken(exc)}") from None
    return tuple(found)


def read_skills(form: Any) -> frozenset[str]:
    return check_skills(part for value in form.getlist("skills")
                        for part in re.split(r"[,\s]+", value))


def read_channels(form: Any, fence: Fence) -> tuple[str, ...]:
    urls = [line.strip() for value in form.getlist("channels")
            for line in value.splitlines() if line.strip()]
    return check_channel_urls(check_channels(urls), fence)


def read_officer(form: Any, force: Any, tz: ZoneInfo, old: Officer | None, *,
                 fence: Fence | None = None) -> tuple[Officer | None, dict[str, str]]:
    """An officer from the posted form, or None and a message per bad field (channel URLs
    also through the outbound fence: allowed scheme, host resolved, no internal address)."""
    c = _Checks({})
    name = c.run("name", lambda: check_name(form.get("name", "")))
    role = c.run("role", lambda: check_role(form.get("role", "")))
    home = c.run("home", lambda: check_districts(force, [form["home"]] if form.get("home")
                                                 else []))
    cover = c.run("cover", lambda: check_districts(force, form.getlist("cover")))
    skills = c.run("skills", lambda: read_skills(form))
    capacity = c.run("capacity", lambda: check_capacity(form.get("capacity", "").strip()))
    email = c.run("email", lambda: check_email(form.get("email", "")))
    channels = c.run("channels", lambda: read_channels(form, fence or Fence()))
    shifts = c.run("shifts", lambda: read_shifts(form))
    leave = c.run("leave", lambda: read_leave(form, tz))
    status = c.run("status", lambda: check_status(form.get("status", "")))
    officer_id = old.id if old else c.run("id", lambda: check_id(
        form.get("id", "").strip() or new_officer_id()))
    if role is Role.OFFICER and home == ():
        c.errors.setdefault("home", "An officer needs a home district.")
    if c.errors or None in (name, role, home, cover, skills, capacity, email, channels,
                            shifts, leave, status, officer_id):
        return None, c.errors
    assert name and role and home is not None and cover is not None and status and officer_id
    return Officer(id=officer_id, name=name, role=role,
                   districts=tuple(dict.fromkeys(home + cover)), skills=skills or frozenset(),
                   capacity=capacity or 0, status=status, email=email or "",
                   channels=channels or (), rota=Rota(shifts=shifts or (), leave=leave or ()),
                   ), {}


def leave_between(first: str, last: str, tz: ZoneInfo) -> Leave:
    """Leave from `first` to `last`: whole days (inclusive) or ISO date-times, in force
    time."""
    start, end = instant(first, tz, end_of_day=False), instant(last, tz, end_of_day=True)
    if end <= start:
        raise ValueError(f"the end ({last}) is not after the start ({first})")
    return Leave(start, end)


def instant(text: str, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
    """A date (a whole day in `tz`; its end with `end_of_day`) or a date-time, as UTC."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text[:30]!r} is not a date (YYYY-MM-DD) or a date and time "
                             "(YYYY-MM-DDTHH:MM)") from None
        return resolve(at, tz) if at.tzinfo is None else at.astimezone(UTC)
    return resolve(datetime.combine(day + timedelta(days=end_of_day), datetime.min.time()), tz)


def form_values(officer: Officer, tz: ZoneInfo) -> MultiDict[str, str]:
    """An officer as the form's fields (what `read_officer` reads back)."""
    values: MultiDict[str, str] = MultiDict({
        "name": officer.name, "role": officer.role.value, "home": officer.home,
        "capacity": str(officer.capacity), "email": officer.email,
        "status": officer.status.value})
    for code in officer.districts[1:]:
        values.add("cover", code)
    for skill in sorted(officer.skills):
        values.add("skills", skill)
    for url in officer.channels:
        values.add("channels", url)
    for n, window in enumerate(officer.rota.shifts):
        for day in window.days:
            values.add(f"shift-{n}-days", day)
        values[f"shift-{n}-start"] = f"{window.start:%H:%M}"
        values[f"shift-{n}-end"] = f"{window.end:%H:%M}"
    for n, lv in enumerate(officer.rota.leave):
        values[f"leave-{n}-from"], values[f"leave-{n}-to"] = leave_text(lv, tz)
    return values


def leave_text(leave: Leave, tz: ZoneInfo) -> tuple[str, str]:
    """Leave as the form shows it: first and last day, or date-times when not whole days."""
    start, end = leave.start.astimezone(tz), leave.end.astimezone(tz)
    if start.time() == end.time() == datetime.min.time():
        return str(start.date()), str(end.date() - timedelta(days=1))
    return f"{start:%Y-%m-%dT%H:%M}", f"{end:%Y-%m-%dT%H:%M}"


@dataclass(frozen=True)
class Editors:
    """What the form's structured editors show: the rows posted or stored, one empty row
    more of each (to add one without JavaScript), and the skill checkboxes."""

    shifts: list[dict[str, Any]]
    leave: list[dict[str, Any]]
    channels: list[str]
    skills: list[tuple[str, str]]
    chosen: frozenset[str]


def editors(values: Any) -> Editors:
    shift_rows = [{"n": n, "days": values.getlist(f"shift-{n}-days"),
                   "start": values.get(f"shift-{n}-start", ""),
                   "end": values.get(f"shift-{n}-end", "")} for n in _rows(values, "shift")]
    shift_rows.append({"n": max((r["n"] for r in shift_rows), default=-1) + 1, "days": [],
                       "start": "", "end": ""})
    leave_rows = [{"n": n, "from": values.get(f"leave-{n}-from", ""),
                   "to": values.get(f"leave-{n}-to", "")} for n in _rows(values, "leave")]
    leave_rows.append({"n": max((r["n"] for r in leave_rows), default=-1) + 1, "from": "",
                       "to": ""})
    for row in leave_rows:
        row["type"] = "datetime-local" if "T" in row["from"] + row["to"] else "date"
    chosen = frozenset(part.strip().lower() for value in values.getlist("skills")
                       for part in re.split(r"[,\s]+", value) if part.strip())
    extra = [(s, s) for s in sorted(chosen - SKILLS.keys())]
    channels = [u for u in values.getlist("channels") if u.strip()] + [""]
    return Editors(shifts=shift_rows, leave=leave_rows, channels=channels,
                   skills=list(SKILLS.items()) + extra, chosen=chosen)


WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                    "Saturday", "Sunday"), strict=True))
