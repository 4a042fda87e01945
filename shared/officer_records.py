"""Saving an officer record with its rota state, as the admin pages, the `liaison` CLI and
the demo seed all do (the value checks are `shared.domain.officer_checks`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.domain.officers import Officer
from shared.store import Store


def save_officer(store: Store, officer: Officer, tz: ZoneInfo, now: datetime) -> bool:
    """Save an officer with their rota state at `now`; True if on shift.

    Someone who can take cases now is also put on the sweeper's rota timer at once, so the
    next sweep (seconds away) offers them any waiting case they can take.
    """
    on_shift = officer.rota.on_shift(now, tz)
    change = officer.rota.next_change(now, tz)
    due = now.timestamp() if on_shift else (change.timestamp() if change else None)
    store.officers.save(officer, on_shift=on_shift, next_change=due, now=now.timestamp())
    return on_shift
