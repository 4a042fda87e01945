"""Read models for the supervisor dashboard and the admin pages, beyond `reads.py`.

* The last 24 hours as hourly buckets (arrivals, time to accept, offer outcomes), from a
  bounded window of the `events` stream, bucketed by each event's own `at` time.
* Signs of life of the workers: the newest event each kind of worker writes, and the oldest
  overdue timer the sweeper should have handled (DESIGN §7: timers live in sorted sets).
* Waiting on the `events` stream (XREAD BLOCK) for the live dashboard.
* The audit trail (`audit` stream) filtered by case, person and time, newest first, paged.
* `OfficerUpdated`: who changed an officer's record, and which fields (never the values).

`BrokerQueues` reads Celery's queue depths from the broker's Redis: kombu keeps each queue
as a list named exactly like the queue (no prefix), messages sent with a priority in lists
named `<queue>\\x06\\x16<n>`, and messages taken but not yet acknowledged in the `unacked` hash.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import redis

from shared.domain import events
from shared.store.base import Keys, translate_errors

HOUR = 3600
MAX_CHART_EVENTS = 50_000       # events read for the charts at most (then `truncated`)
SIGN_WINDOW = 1_000             # newest events looked through for signs of life...
SIGN_HORIZON = HOUR             # ...going back at most this far
AUDIT_SCAN = 20_000             # audit entries looked through for one page at most
OFFICER_UPDATED = "OfficerUpdated"
OUTCOMES = {events.OFFER_ACCEPTED: "accepted", events.OFFER_DECLINED: "declined",
            events.OFFER_EXPIRED: "expired"}
# The events only each kind of worker writes (the console's own drains write CaseOffered
# too, which is why the router's sign is a hint and its queue backlog the verdict).
WORKER_SIGNS = {
    "router": (events.CASE_OFFERED, events.CASE_WAITING, "CaseDeadLettered"),
    "notifier": ("NotificationSent", "NotificationSkipped", "NotificationFailed",
                 "NotificationDeadLettered"),
    # (not OfferWithdrawn: the console writes it too, when an officer goes away)
    "sweeper": (events.OFFER_EXPIRED, events.CASE_REPUBLISHED),
}
PERSON_FIELDS = ("by", "staff_id", "user_id", "officer_id", "username")
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}\Z")
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)  # step 0 is the plain list


def valid_stream_id(text: str) -> bool:
    return bool(_STREAM_ID.match(text))


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Activity:
    """The last `hours` clock hours (the last one still running), oldest first."""

    start: float                        # epoch of the first bucket's start
    hours: int
    arrivals: list[int]
    offer_to_accept: list[list[float]]  # seconds from offer to acceptance, per hour
    report_to_accept: list[list[float]]  # seconds from the report to acceptance, per hour
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        OUTCOMES.values(), 0))
    truncated: bool = False

    @classmethod
    def empty(cls, now: float, hours: int) -> Activity:
        start = (now // HOUR) * HOUR - (hours - 1) * HOUR
        return cls(start, hours, [0] * hours, [[] for _ in range(hours)],
                   [[] for _ in range(hours)])

    def bucket(self, at: float) -> int | None:
        index = int((at - self.start) // HOUR)
        return index if 0 <= index < self.hours else None

    def count(self, fields: Mapping[str, str]) -> None:
        kind = fields.get("type", "")
        try:
            at = float(fields.get("at") or "nan")
        except ValueError:
            return
        index = self.bucket(at)
        if index is None:
            return
        if kind == events.CASE_RECEIVED:
            self.arrivals[index] += 1
        elif kind in OUTCOMES:
            self.outcomes[OUTCOMES[kind]] += 1
            if kind == events.OFFER_ACCEPTED:
                for series, name in ((self.offer_to_accept, "offer_seconds"),
                                     (self.report_to_accept, "since_received")):
                    if fields.get(name):
                        series[index].append(float(fields[name]))

    def medians(self, series: Sequence[Sequence[float]]) -> list[float | None]:
        return [_median(values) for values in series]


@dataclass(frozen=True)
class OfficerState:
    id: str
    role: str
    status: str
    on_shift: bool
    load: int
    capacity: int


@dataclass(frozen=True)
class AuditEntry:
    id: str                   # the stream id
    at: float                 # the entry's `at`, else the stream id's time
    fields: dict[str, str]


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: str | None   # pass as `before` for the next (older) page
    scanned_out: bool         # stopped after AUDIT_SCAN entries without filling the page


class DashboardRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen

    # charts
    @translate_errors
    def activity(self, *, now: float, hours: int = 24, page: int = 1000) -> Activity:
        """Arrivals, times to accept and offer outcomes per clock hour (bounded read)."""
        activity = Activity.empty(now, hours)
        # Stream ids are Redis' clock and `at` the app's; read an hour early to be safe.
        start, seen = f"{int((activity.start - HOUR) * 1000)}-0", 0
        while seen < MAX_CHART_EVENTS:
            batch = self._r.xrange(self._keys.events, min=start, max="+", count=page)
            for _, fields in batch:
                activity.count(fields)
            seen += len(batch)
            if len(batch) < page:
                return activity
            start = "(" + batch[-1][0]
        activity.truncated = True
        return activity

    # workers
    @translate_errors
    def last_signs(self, *, now: float) -> dict[str, float | None]:
        """The time of each worker kind's newest event among the latest `SIGN_WINDOW` of the
        last `SIGN_HORIZON` (None: no sign that recent)."""
        found: dict[str, float | None] = dict.fromkeys(WORKER_SIGNS)
        kinds = {t: kind for kind, types in WORKER_SIGNS.items() for t in types}
        oldest = f"{int((now - SIGN_HORIZON) * 1000)}-0"
        for stream_id, fields in self._r.xrevrange(self._keys.events, min=oldest,
                                                   count=SIGN_WINDOW):
            kind = kinds.get(fields.get("type", ""))
            if kind and found[kind] is None:
                found[kind] = _event_time(stream_id, fields)
                if all(v is not None for v in found.values()):
                    break
        return found

    @translate_errors
    def oldest_overdue(self) -> float | None:
        """The earliest due time among the sweeper's timers (offer deadlines, the case and
        notification outboxes, rota changes), or None when none is set. The sweeper moves
        or removes each one when due, so one long past due means no sweeper is running."""
        k = self._keys
        pipe = self._r.pipeline(transaction=False)
        for key in (k.offers, k.outbox, k.notify_outbox, k.rota_changes):
            pipe.zrange(key, 0, 0, withscores=True)
        dues = [entries[0][1] for entries in pipe.execute() if entries]
        return min(dues, default=None)

    @translate_errors
    def officer_states(self) -> list[OfficerState]:
        """Every member of staff's role, status, shift flag, load and capacity (no names)."""
        k = self._keys
        ids = sorted(self._r.smembers(k.officers))
        pipe = self._r.pipeline(transaction=False)
        for officer_id in ids:
            pipe.hmget(k.officer(officer_id), ["role", "status", "on_shift", "capacity"])
            pipe.scard(k.officer_cases(officer_id))
        raw = pipe.execute()
        found = []
        for i, officer_id in enumerate(ids):
            (role, status, on_shift, capacity), load = raw[2 * i], raw[2 * i + 1]
            if role is not None:
                found.append(OfficerState(officer_id, role, status or "", on_shift == "1",
                                          int(load), int(capacity or 0)))
        return found

    # the live stream
    @translate_errors
    def latest_event_id(self) -> str:
        """The newest id in the events stream ('0-0' when empty): read from here on."""
        newest = self._r.xrevrange(self._keys.events, count=1)
        return str(newest[0][0]) if newest else "0-0"

    @translate_errors
    def events_after(self, last_id: str, *, block_ms: int,
                     count: int = 500) -> list[tuple[str, str]]:
        """(id, type) of events after `last_id`, waiting up to `block_ms` for the first."""
        answer = self._r.xread({self._keys.events: last_id}, count=count,
                               block=max(1, block_ms))
        found: list[tuple[str, str]] = []
        for _, entries in answer or ():
            found.extend((str(i), fields.get("type", "")) for i, fields in entries)
        return found

    # the audit trail
    @translate_errors
    def audit(self, *, since: float | None = None, until: float | None = None,
              case_id: str = "", person: str = "", before: str = "",
              limit: int = 100, batch: int = 500) -> AuditPage:
        """Audit entries newest first, filtered by case id and person (who did it, or whom
        it was about) within [since, until], `limit` at a time from `before` on."""
        top = "+" if until is None else f"{int(until * 1000)}-18446744073709551615"
        if before and valid_stream_id(before):
            top = "(" + before
        bottom = "-" if since is None else f"{int(since * 1000)}-0"
        found: list[AuditEntry] = []
        scanned = 0
        while scanned < AUDIT_SCAN:
            entries = self._r.xrevrange(self._keys.audit, max=top, min=bottom, count=batch)
            for stream_id, fields in entries:
                scanned += 1
                if _matches(fields, case_id, person):
                    found.append(AuditEntry(stream_id, _event_time(stream_id, fields), fields))
                    if len(found) == limit:
                        return AuditPage(found, stream_id, False)
            if len(entries) < batch:
                return AuditPage(found, None, False)
            top = "(" + entries[-1][0]
        return AuditPage(found, top[1:], True)

    @translate_errors
    def record_officer_update(self, officer_id: str, *, by: str, changed: Iterable[str],
                              created: bool, now: float) -> None:
        """An admin added or changed an officer's record: who, whom, which fields, when."""
        event = {"type": OFFICER_UPDATED, "officer_id": officer_id, "by": by,
                 "fields": ",".join(sorted(changed)), "created": "1" if created else "0",
                 "at": f"{now:.6f}"}
        pipe = self._r.pipeline(transaction=True)
        pipe.xadd(self._keys.audit, event)
        pipe.xadd(self._keys.events, event,
                  maxlen=self._events_maxlen, approximate=True)
        pipe.execute()


def _event_time(stream_id: str, fields: Mapping[str, str]) -> float:
    try:
        return float(fields["at"])
    except (KeyError, ValueError):
        return int(stream_id.split("-")[0]) / 1000


def _matches(fields: Mapping[str, str], case_id: str, person: str) -> bool:
    if case_id and fields.get("case_id") != case_id:
        return False
    return not person or any(fields.get(name) == person for name in PERSON_FIELDS)


class BrokerQueues:
    """Celery's queue depths, read from the broker's Redis (LLEN and HLEN: cheap)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    @translate_errors
    def depths(self, queues: Sequence[str]) -> dict[str, int]:
        """Messages waiting in each queue, and `unacked`: taken by a worker, not yet done."""
        pipe = self._r.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
            for step in KOMBU_PRIORITY_STEPS:
                pipe.llen(f"{queue}{KOMBU_PRIORITY_SEP}{step}")
        pipe.hlen("unacked")
        raw = pipe.execute()
        width = 1 + len(KOMBU_PRIORITY_STEPS)
        found = {queue: sum(int(n) for n in raw[i * width:(i + 1) * width])
                 for i, queue in enumerate(queues)}
        found["unacked"] = int(raw[-1])
        return found
