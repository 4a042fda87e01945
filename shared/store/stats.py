"""What do the Prometheus metrics report? Open cases, the waiting queue and the last day's events.

Nothing new is written anywhere: every number is derived from what routing already keeps —
the `waiting` set, the case `outbox`, dead-lettered cases, each officer's open-case set and a
window of the `events` stream. Every read is bounded (`MAX_CASES`, `MAX_EVENTS`) and says
when it was cut short; case hashes are read with HMGET of routing fields only, so no sealed
personal data is ever loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis

from shared.domain import events
from shared.domain.model import CaseState
from shared.domain.routing import FORCE_WIDE
from shared.store.base import Keys, translate_errors
from shared.store.caseload import CaseloadReads
from shared.store.outcomes import offer_outcome

MAX_CASES = 10_000
MAX_EVENTS = 10_000
OPEN_STATES = tuple(s.value for s in CaseState if s is not CaseState.CLOSED)
CASE_FIELDS = ("state", "district", "priority", "waiting_since", "created_at")
# The notifier's events carry the notification's kind, not the channel (a notification goes
# out on several channels and the outcome is recorded once per notification).
NOTIFICATION_OUTCOMES = {events.NOTIFICATION_SENT: "sent",
                         events.NOTIFICATION_SKIPPED: "skipped",
                         events.NOTIFICATION_FAILED: "failed",
                         events.NOTIFICATION_DEAD_LETTERED: "dead_lettered"}


@dataclass
class Waiting:
    count: int = 0
    oldest_seconds: float = 0.0      # since the case (last) went into the queue


@dataclass
class CaseStats:
    open: Counter[tuple[str, str]] = field(default_factory=Counter)      # (state, district)
    waiting: dict[tuple[str, int], Waiting] = field(default_factory=dict)  # (district, prio)
    truncated: bool = False


@dataclass
class EventStats:
    window_seconds: float
    offers: Counter[str] = field(default_factory=Counter)                # outcome
    notifications: Counter[tuple[str, str]] = field(default_factory=Counter)  # outcome, kind
    received: Counter[str] = field(default_factory=Counter)              # district
    closed: Counter[str] = field(default_factory=Counter)                # district
    read: int = 0
    truncated: bool = False


@dataclass(frozen=True)
class Snapshot:
    districts: tuple[str, ...]       # the force's district codes, as stored by `seed`
    cases: CaseStats
    events: EventStats


class StatsRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._caseload = CaseloadReads(client, keys)

    @translate_errors
    def snapshot(self, *, now: float, window_seconds: float = 24 * 3600) -> Snapshot:
        """Everything the metrics report, read once (`now` is the clock waits are measured on)."""
        districts = tuple(sorted(self._r.hkeys(self._keys.districts)))
        return Snapshot(districts, self.cases(now=now), self.recent_events(window_seconds))

    @translate_errors
    def cases(self, *, now: float) -> CaseStats:
        """Open cases by state and district, and the waiting queue by district and priority."""
        k = self._keys
        waiting = set(self._r.zrange(k.waiting, 0, MAX_CASES - 1))
        ids = set(waiting)
        ids.update(self._r.zrange(k.outbox, 0, MAX_CASES - 1))
        ids.update(m[5:] for m in self._r.zrange(k.dead_letters, 0, MAX_CASES - 1)
                   if m.startswith("case:"))
        for officer in self._caseload.officers(limit=MAX_CASES):
            ids.update(officer.cases)
        stats = CaseStats(truncated=len(ids) > MAX_CASES)
        chosen = sorted(ids)[:MAX_CASES]
        pipe = self._r.pipeline(transaction=False)
        for case_id in chosen:
            pipe.hmget(k.case(case_id), CASE_FIELDS)
        for case_id, values in zip(chosen, pipe.execute(), strict=True):
            self._count_case(stats, case_id in waiting, values, now)
        return stats

    @staticmethod
    def _count_case(stats: CaseStats, queued: bool, values: Iterable[str | None],
                    now: float) -> None:
        state, district, priority, since, created = values
        if state not in OPEN_STATES:
            return  # gone, or closed while an entry lingered
        district = district or FORCE_WIDE
        stats.open[(state or "", district)] += 1
        if state == CaseState.WAITING.value and queued:
            wait = stats.waiting.setdefault((district, int(priority or 4)), Waiting())
            wait.count += 1
            waited = max(0.0, now - float(since or created or now))
            wait.oldest_seconds = max(wait.oldest_seconds, waited)

    @translate_errors
    def recent_events(self, window_seconds: float = 24 * 3600) -> EventStats:
        """Offer, notification and case outcomes in the last `window_seconds`, newest first.

        Stream ids carry the Redis server's clock, so the window is measured on it.
        """
        seconds, micros = self._r.time()
        since_ms = int((seconds + micros / 1e6 - window_seconds) * 1000)
        entries = self._r.xrevrange(self._keys.events, max="+", min=f"{since_ms}-0",
                                    count=MAX_EVENTS)
        stats = EventStats(window_seconds, read=len(entries),
                           truncated=len(entries) >= MAX_EVENTS)
        for _, fields in entries:
            self._count_event(stats, fields)
        return stats

    @staticmethod
    def _count_event(stats: EventStats, fields: Mapping[str, str]) -> None:
        kind = fields.get("type", "")
        outcome = offer_outcome(fields)
        if outcome is not None:
            stats.offers[outcome] += 1
        elif kind in NOTIFICATION_OUTCOMES:
            stats.notifications[(NOTIFICATION_OUTCOMES[kind], fields.get("kind", ""))] += 1
        elif kind == events.CASE_RECEIVED:
            stats.received[fields.get("district") or FORCE_WIDE] += 1
        elif kind == events.CASE_CLOSED:
            stats.closed[fields.get("district") or FORCE_WIDE] += 1
