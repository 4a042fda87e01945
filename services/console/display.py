"""How the console's pages show stored values to people: labels, times, names, windows.

One set of helpers for every blueprint (templates get them through `register`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g

from services.console.auth import current_deps
from shared.domain.model import WEEKDAYS, Priority

LABELS = {  # wording where the code alone reads badly; anything else is humanised
    "no_capacity": "No capacity for another case", "skills": "Needs skills I don't have",
    "going_off_shift": "Going off shift", "in_person": "In person",
    "spoke": "Spoke to them", "unsafe_to_continue": "Unsafe to continue",
    "off_duty": "Off duty", "on_behalf": "On behalf of someone",
    "third_party_centre": "Third-party reporting centre", "sms": "SMS (text message)",
    "no_further_action": "No further action",
    "emergency_case": "Emergency reported", "emergency_waiting": "Emergency waiting",
    "sla_breach": "SLA breached", "long_wait": "Long wait",
    "dead_letter": "Could not be routed", "officer_set_away": "Officer set away",
    "force_wide": "Force-wide",
    "skill_waiting": "Waiting for a scarce skill", "review_breach": "Review overdue",
    "update_overdue": "Victim update overdue", "update": "Update to the victim",
    "waiting_too_long": "Long wait", "review": "Review", "contact": "First contact",
    # why a pending offer was withdrawn (OfferWithdrawn events)
    "officer_away": "Officer went away", "officer_off_duty": "Officer went off duty",
    "on_leave": "Officer on leave", "shift_ended": "Officer's shift ended",
    "role_changed": "No longer an officer",
}


def label(code: Any) -> str:
    """A stored code in words: 'no_capacity' -> 'No capacity for another case'."""
    text = str(code or "")
    return LABELS.get(text) or text.replace("_", " ").capitalize()


def event_label(kind: str) -> str:
    """'OfferAccepted' -> 'Offer accepted'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind).capitalize()


def priority_label(value: Any) -> str:
    try:
        return Priority(int(value)).label
    except (TypeError, ValueError):
        return "advice"


def local_time(ts: Any) -> str:
    """Epoch seconds as the force's local time with its zone, like 'Mon 12 Jan 14:05 GMT'
    (an officer on a night shift across the clock change, or reading from elsewhere, can
    tell which hour is meant)."""
    if ts in (None, ""):
        return ""
    tz = ZoneInfo(current_deps().force.timezone)
    return datetime.fromtimestamp(float(ts), tz).strftime("%a %d %b %H:%M %Z")


def iso(ts: Any) -> str:
    """For <time datetime>: whole seconds (HTML allows at most three decimals)."""
    return "" if ts in (None, "") else \
        datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds")


def until(ts: Any) -> float | None:
    """Seconds from now to epoch seconds `ts` (negative once passed)."""
    return None if ts in (None, "") else float(ts) - current_deps().clock()


def long_date(text: Any) -> str:
    try:
        return date.fromisoformat(str(text)).strftime("%a %d %b %Y")
    except ValueError:
        return str(text or "")


def duration(seconds: Any) -> str:
    """A span for people: '45 s', '12 min', '3 h 05 min'."""
    left = abs(round(float(seconds or 0)))
    if left < 60:
        return f"{left} s"
    if left < 3600:
        return f"{left // 60} min"
    return f"{left // 3600} h {left % 3600 // 60:02d} min"


def days_range(days: list[str]) -> str:
    """['mon', 'tue', 'wed', 'fri'] -> 'Mon–Wed, Fri'."""
    runs: list[list[int]] = []
    for i in sorted(WEEKDAYS.index(d) for d in days if d in WEEKDAYS):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    names = [[WEEKDAYS[i].title() for i in (run[0], run[-1])] for run in runs]
    return ", ".join(a if a == b else f"{a}–{b}" for a, b in names)


def window_text(window: Any) -> str:
    """A time window {days, start, end} as 'Mon–Fri 18:00–21:00'; equal ends are 24 hours."""
    if not isinstance(window, dict):
        return ""
    start, end = window.get("start", ""), window.get("end", "")
    span = (("all day" if start == "00:00" else f"24 hours from {start}") if start == end
            else f"{start}–{end}")
    return f"{days_range(list(window.get('days') or []))} {span}".strip()


def windows_text(windows: Any) -> list[str]:
    return [window_text(w) for w in windows or [] if isinstance(w, dict)]


def who(staff_id: Any) -> str:
    """A staff id as a name (one read per id per request); '' is the system."""
    if not staff_id:
        return "System"
    names: dict[str, str] = g.setdefault("staff_names", {})
    if staff_id not in names:
        names[staff_id] = current_deps().store.caseload.officer(str(staff_id)).name \
            or str(staff_id)
    return names[staff_id]


def district_name(code: Any) -> str:
    force = current_deps().force
    if code and force.has_district(str(code)):
        return force.district(str(code)).name
    return label(code) if code in LABELS else str(code or "")


def account_first(submission: dict[str, Any]) -> dict[str, Any]:
    """The submission with the person's own words first."""
    lead = [k for k in ("what_happened", "reason") if k in submission]
    return {k: submission[k] for k in lead} | {k: v for k, v in submission.items()
                                                 if k not in lead}


def helpers() -> dict[str, Any]:
    return {"label": label, "event_label": event_label, "priority": priority_label,
            "local_time": local_time, "iso": iso, "until": until, "long_date": long_date,
            "duration": duration, "windows": windows_text, "window_text": window_text,
            "who": who, "district_name": district_name, "account_first": account_first,
            "now": current_deps().clock()}


def register(app: Flask) -> None:
    """Give every console template these helpers."""
    app.context_processor(helpers)
