"""What do the Prometheus metrics report? Open cases, the waiting queue, the running totals
and the workers' signs of life.

Nothing new is written for them but the `counters` hash (shared/store/counters.py, counted
with each event): every other number is derived from what routing already keeps — the
`waiting` set, the case `outbox`, dead-lettered cases, each officer's open-case set, the
sweeper's timers and the newest events. Every read is bounded (`MAX_CASES`; the signs of
life read at most `health.SIGN_WINDOW` events) and says when it was cut short; case hashes
are read with HMGET of routing fields only, so no sealed personal data is ever loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from shared.domain.model import CaseState
from shared.domain.routing import FORCE_WIDE
from shared.store.base import Keys, translate_errors
from shared.store.caseload import CaseloadReads
from shared.store.counters import CounterReads, Totals
from shared.store.health import HealthReads

MAX_CASES = 10_000
OPEN_STATES = tuple(s.value for s in CaseState if s is not CaseState.CLOSED)
CASE_FIELDS = ("state", "district", "priority", "waiting_since", "created_at")


@dataclass
class Waiting:
    count: int = 0
    oldest_seconds: float = 0.0      # since the case (last) went into the queue


@dataclass
class CaseStats:
    open: Counter[tuple[str, str]] = field(default_factory=Counter)      # (state, district)
    waiting: dict[tuple[str, int], Waiting] = field(default_factory=dict)  # (district, prio)
    truncated: bool = False


@dataclass(frozen=True)
class Snapshot:
    districts: tuple[str, ...]       # the force's district codes, as stored by `seed`
    cases: CaseStats
    totals: Totals
    last_signs: dict[str, float | None]  # worker kind: time of its newest sign, if recent
    earliest_due: float | None       # the sweeper's earliest timer (None: no timer set)


class StatsRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._caseload = CaseloadReads(client, keys)
        self._counters = CounterReads(client, keys)
        self._health = HealthReads(client, keys)

    @translate_errors
    def snapshot(self, *, now: float) -> Snapshot:
        """Everything the metrics report, read once (`now` is the clock waits are measured on)."""
        districts = tuple(sorted(self._r.hkeys(self._keys.districts)))
        return Snapshot(districts, self.cases(now=now), self._counters.totals(),
                        self._health.last_signs(now=now), self._health.oldest_overdue())

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
