"""Which closed cases are past their retention period, and erasing their personal data.

An erasure removes what is personal — the case's `sealed` field and its sealed notes — and
keeps what the statistics need (kind, priority, district, strands, times, outcome, the
event log, which holds ids only). The case is marked `erased_at`; a `CaseErased` event goes
to its log and the `events` stream, and an entry to the audit trail, all in one MULTI under
a WATCH of the case (a case reopened or changed meanwhile is looked at again).

Finding the cases: SCAN over `case:*` hashes. That reads every case key, which is right for
a daily job (DESIGN §6: no SCAN on hot paths; this runs once a day, and on demand).
The reference index (`ref:{reference}`) stays: it names no one. The idempotency key holds
the case id and a hash of the body, and expires within 30 days, long before any period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import cast

import redis

from shared.domain import events
from shared.store.audit import AuditTrail
from shared.store.base import Keys, translate_errors

SCAN_COUNT = 1000
DAY = 86400
PERSONAL_FIELDS = ("sealed",)    # what an erasure removes from the case hash


@dataclass(frozen=True)
class Candidate:
    case_id: str
    kind: str
    closed_at: str


@dataclass
class RetentionResult:
    erased: dict[str, int] = field(default_factory=dict)   # by kind
    skipped: int = 0                                       # changed meanwhile: not erased
    more: bool = False                                     # stopped at its limit: run again

    @property
    def total(self) -> int:
        return sum(self.erased.values())


class RetentionRepository:
    def __init__(self, client: redis.Redis, keys: Keys, audit: AuditTrail, *,
                 events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._audit = audit
        self._events_maxlen = events_maxlen

    @property
    def _last_run_key(self) -> str:
        return f"{self._keys.prefix}retention:last_run"

    @translate_errors
    def claim_daily_run(self, now: float) -> bool:
        """True to the one caller per day that should run the purge (the key holds the time
        of the last run and expires a day later), False to every other."""
        return bool(self._r.set(self._last_run_key, f"{now:.6f}", nx=True, ex=DAY))

    @translate_errors
    def release_daily_run(self) -> None:
        """Let the next sweep run the purge again (this one stopped at its limit)."""
        self._r.delete(self._last_run_key)

    @translate_errors
    def last_run(self) -> float | None:
        value = self._r.get(self._last_run_key)
        return float(value) if value else None

    def _case_keys(self) -> Iterator[str]:
        """Every case hash's key (not its log, notes or exclusions)."""
        prefix = self._keys.case("")
        for key in self._r.scan_iter(match=prefix + "*", count=SCAN_COUNT, _type="hash"):
            if ":" not in key[len(prefix):]:
                yield key

    @translate_errors
    def due(self, now: float, period: Callable[[str], float],
            limit: int | None = None) -> list[Candidate]:
        """Closed, not yet erased cases whose `closed_at` is older than their kind's period
        (`period(kind)` in seconds); the first `limit` found when given (the scan stops
        there)."""
        found: list[Candidate] = []
        batch: list[str] = []

        def flush() -> None:
            pipe = self._r.pipeline(transaction=False)
            for key in batch:
                pipe.hmget(key, "id", "state", "kind", "closed_at", "erased_at")
            for case_id, state, kind, closed_at, erased_at in pipe.execute():
                if state == "closed" and closed_at and not erased_at and case_id \
                        and float(closed_at) < now - period(kind or "report"):
                    found.append(Candidate(case_id, kind or "", closed_at))
            batch.clear()

        for key in self._case_keys():
            batch.append(key)
            if len(batch) >= SCAN_COUNT:
                flush()
                if limit is not None and len(found) >= limit:
                    return found[:limit]
        if batch:
            flush()
        return found if limit is None else found[:limit]

    @translate_errors
    def erase(self, candidate: Candidate, *, by: str, now: float,
              cutoff: Mapping[str, float]) -> bool:
        """Erase one case's personal data if it is still closed, unerased and past
        `cutoff[kind]` (a closing time); False when it no longer is."""
        k = self._keys
        case_key = k.case(candidate.case_id)
        with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(case_key, k.case_notes(candidate.case_id), k.audit_head)
                    state, kind, closed_at, erased_at = cast("list[str | None]", pipe.hmget(
                        case_key, "state", "kind", "closed_at", "erased_at"))
                    if state != "closed" or not closed_at or erased_at \
                            or float(closed_at) >= cutoff.get(kind or "report", 0.0):
                        pipe.unwatch()
                        return False
                    event = {"type": events.CASE_ERASED, "case_id": candidate.case_id,
                             "kind": kind or "", "reason": "retention",
                             "at": f"{now:.6f}"}
                    self._audit.append_in(pipe, self._audit.erasure_entry(  # starts MULTI
                        candidate.case_id, kind=kind or "", closed_at=closed_at, by=by,
                        now=now))
                    pipe.hdel(case_key, *PERSONAL_FIELDS)
                    pipe.delete(k.case_notes(candidate.case_id))
                    pipe.hset(case_key, "erased_at", f"{now:.6f}")
                    pipe.xadd(k.case_log(candidate.case_id), event)
                    pipe.xadd(k.events, event, maxlen=self._events_maxlen, approximate=True)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
