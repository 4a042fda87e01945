"""Read models for the staff console, and the audit trail of who read or changed what there.

Every read walks a bounded set — waiting, offers, the SLA clocks up to a horizon, the
officers, one officer's cases, dead letters, open alerts — or a time range of the `events`
stream; nothing scans the keyspace. Lists read case hashes with HMGET of routing fields
only, so a list never loads the sealed personal data.

SLA "at risk" (a choice, documented in the API): the clock has not run out, and less than
a quarter (`AT_RISK_FRACTION`) of the case's target time for its priority is left.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from shared.domain import events
from shared.domain.alerts import REVIEW_BREACH
from shared.store.alerts import AlertRepository
from shared.store.base import Keys, translate_errors
from shared.store.notes import NoteRepository

AT_RISK_FRACTION = 0.25
PRIORITIES = (1, 2, 3, 4)
FORCE_WIDE = "force_wide"          # queue bucket for cases with no district of the force
ACCEPT_CLOCK_STATES = ("received", "waiting", "offered")
SUMMARY_FIELDS = ("id", "reference", "kind", "state", "priority", "district", "officer",
                  "created_at", "offered_at", "offer_deadline", "accepted_at",
                  "first_contact_at", "closed_at", "emergency")
CASE_VIEWED = events.CASE_VIEWED
AVAILABILITY_CHANGED = "AvailabilityChanged"


def _f(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


@dataclass(frozen=True)
class CaseSummary:
    """A case's routing fields and reference — no personal data."""

    id: str
    reference: str
    kind: str
    state: str
    priority: int
    district: str
    officer_id: str
    created_at: float | None
    offered_at: float | None
    offer_deadline: float | None
    accepted_at: float | None
    first_contact_at: float | None
    emergency: bool
    sla_due: float | None = None       # the running SLA clock (accept, first contact, review)
    sla_clock: str = ""                # which: accept | contact | review ("" = none runs)

    @classmethod
    def from_values(cls, values: Sequence[Any], sla_due: float | None,
                    sla_clock: str = "") -> CaseSummary:
        d = dict(zip(SUMMARY_FIELDS, values, strict=True))
        return cls(
            id=d["id"] or "", reference=d["reference"] or "", kind=d["kind"] or "",
            state=d["state"] or "", priority=int(d["priority"] or 4),
            district=d["district"] or "", officer_id=d["officer"] or "",
            created_at=_f(d["created_at"]), offered_at=_f(d["offered_at"]),
            offer_deadline=_f(d["offer_deadline"]), accepted_at=_f(d["accepted_at"]),
            first_contact_at=_f(d["first_contact_at"]), emergency=d["emergency"] == "1",
            sla_due=sla_due, sla_clock=sla_clock if sla_due is not None else "")


@dataclass
class WaitStat:
    count: int = 0
    oldest_wait_seconds: float = 0.0   # since the case last went into the queue


@dataclass(frozen=True)
class OpenOffer:
    case_id: str
    reference: str
    officer_id: str
    district: str
    priority: int
    age_seconds: float
    seconds_left: float


@dataclass
class DistrictQueue:
    district: str
    waiting: dict[int, WaitStat] = field(
        default_factory=lambda: {p: WaitStat() for p in PRIORITIES})
    officers_on_shift: int = 0
    officers_available: int = 0        # eligible for an offer now (on shift, free, available)
    officers_at_capacity: int = 0      # on shift with no room for another case
    offers: list[OpenOffer] = field(default_factory=list)

    def count_wait(self, priority: int, waited: float) -> None:
        stat = self.waiting.setdefault(priority, WaitStat())
        stat.count += 1
        stat.oldest_wait_seconds = max(stat.oldest_wait_seconds, waited)


@dataclass(frozen=True)
class QueueState:
    districts: list[DistrictQueue]
    force: DistrictQueue
    truncated: bool                    # more waiting cases or offers than were read


@dataclass
class OfferStats:
    since: float
    until: float
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    withdrawn: int = 0
    median_seconds_to_accept: float | None = None
    decline_reasons: dict[str, int] = field(default_factory=dict)
    by_district: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class SlaItem:
    case_id: str
    reference: str
    clock: str                         # accept | contact | review
    state: str
    priority: int
    district: str
    officer_id: str
    due: float
    seconds_left: float                # negative once breached


@dataclass(frozen=True)
class SlaView:
    at_risk: list[SlaItem]
    breached: list[SlaItem]


@dataclass(frozen=True)
class DeadLetter:
    kind: str                          # case | notification
    id: str
    case_id: str
    reference: str
    what: str                          # the notification kind, or "routing"
    reason: str
    attempts: int
    at: float


_STAT_TYPES = {events.CASE_OFFERED: "offered", events.OFFER_ACCEPTED: "accepted",
               events.OFFER_DECLINED: "declined", events.OFFER_EXPIRED: "expired",
               events.OFFER_WITHDRAWN: "withdrawn", events.CASE_REASSIGNED: "offered"}


class ReadRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen
        self.notes = NoteRepository(client, keys, events_maxlen=events_maxlen)
        self._alerts = AlertRepository(client, keys, events_maxlen=events_maxlen)

    # an officer's own work
    @translate_errors
    def officer_cases(self, officer_id: str) -> list[CaseSummary]:
        """The officer's offered and open cases with their running SLA clock."""
        ids = sorted(self._r.smembers(self._keys.officer_cases(officer_id)))
        return self._summaries(ids)

    @translate_errors
    def case_summary(self, case_id: str) -> CaseSummary | None:
        """One case's routing fields and running SLA clock (no personal data)."""
        found = self._summaries([case_id])
        return found[0] if found else None

    def _summaries(self, ids: Sequence[str]) -> list[CaseSummary]:
        k = self._keys
        pipe = self._r.pipeline(transaction=False)
        clocks = (("review", k.sla_review), ("contact", k.sla_contact),
                  ("accept", k.sla_accept))  # a case runs one at a time; first found wins
        for case_id in ids:
            pipe.hmget(k.case(case_id), SUMMARY_FIELDS)
            for _, key in clocks:
                pipe.zscore(key, case_id)
        raw = pipe.execute()
        found = []
        step = 1 + len(clocks)
        for i in range(0, len(raw), step):
            values, dues = raw[i], raw[i + 1:i + step]
            if values[0]:
                clock, due = next(((name, d) for (name, _), d in zip(clocks, dues, strict=True)
                                   if d is not None), ("", None))
                found.append(CaseSummary.from_values(values, _f(due), clock))
        return found

    # supervisors: queues per district
    @translate_errors
    def queues(self, districts: Sequence[str], *, now: float, limit: int = 5000) -> QueueState:
        """Waiting cases by priority, officers and open offers per district, and force totals."""
        k = self._keys
        names = [*districts, FORCE_WIDE]
        board = {d: DistrictQueue(d) for d in names}
        force = DistrictQueue("_all")
        waiting: list[str] = self._r.zrange(k.waiting, 0, limit - 1)
        offers: list[tuple[str, float]] = self._r.zrange(k.offers, 0, limit - 1, withscores=True)
        pipe = self._r.pipeline(transaction=False)
        pipe.zcard(k.waiting)
        pipe.zcard(k.offers)
        for case_id in waiting:
            pipe.hmget(k.case(case_id), ["state", "district", "priority", "waiting_since",
                                         "created_at"])
        for case_id, _ in offers:
            pipe.hmget(k.case(case_id), ["reference", "officer", "district", "priority",
                                         "offered_at"])
        raw = pipe.execute()
        total_waiting, total_offers = raw[0], raw[1]
        for state, district, priority, since, created in raw[2:2 + len(waiting)]:
            if state != "waiting":
                continue  # a stale entry (the routing script drops these)
            waited = max(0.0, now - float(since or created or now))
            for queue in (board.get(district or "", board[FORCE_WIDE]), force):
                queue.count_wait(int(priority or 4), waited)
        for (case_id, deadline), values in zip(offers, raw[2 + len(waiting):], strict=True):
            reference, officer, district, priority, offered_at = values
            offer = OpenOffer(case_id, reference or "", officer or "", district or "",
                              int(priority or 4), max(0.0, now - float(offered_at or now)),
                              deadline - now)
            for queue in (board.get(district or "", board[FORCE_WIDE]), force):
                queue.offers.append(offer)
        self._count_officers(board, force)
        return QueueState(list(board.values()), force,
                          truncated=total_waiting > limit or total_offers > limit)

    def _count_officers(self, board: Mapping[str, DistrictQueue], force: DistrictQueue) -> None:
        k = self._keys
        ids = sorted(self._r.smembers(k.officers))
        pipe = self._r.pipeline(transaction=False)
        for officer_id in ids:
            pipe.hmget(k.officer(officer_id), ["role", "districts", "on_shift", "capacity"])
            pipe.scard(k.officer_cases(officer_id))
        for district in [*board, "_all"]:
            pipe.zcard(k.available(district))
        raw = pipe.execute()
        for i in range(0, 2 * len(ids), 2):
            (role, districts, on_shift, capacity), load = raw[i], raw[i + 1]
            if role != "officer" or on_shift != "1":
                continue
            full = load >= int(capacity or 0)
            places = [board[d] for d in (districts or "").split(",") if d in board]
            for queue in [*places, force]:
                queue.officers_on_shift += 1
                queue.officers_at_capacity += int(full)
        sizes = raw[2 * len(ids):]
        for queue, size in zip([*board.values(), force], sizes, strict=True):
            queue.officers_available = int(size)

    # supervisors: offer statistics from the events stream
    @translate_errors
    def offer_stats(self, *, since: float, until: float, page: int = 1000) -> OfferStats:
        """Offers made, accepted, declined, expired and withdrawn since a time (by event id)."""
        stats = OfferStats(since=since, until=until)
        waits: list[float] = []
        reasons: Counter[str] = Counter()
        start, seen = f"{int(since * 1000)}-0", 0
        while seen < self._events_maxlen * 2:
            batch = self._r.xrange(self._keys.events, min=start, max="+", count=page)
            for _, fields in batch:
                self._count_offer_event(stats, fields, waits, reasons)
            seen += len(batch)
            if len(batch) < page:
                break
            start = "(" + batch[-1][0]
        stats.median_seconds_to_accept = statistics.median(waits) if waits else None
        stats.decline_reasons = dict(reasons)
        return stats

    @staticmethod
    def _count_offer_event(stats: OfferStats, fields: Mapping[str, str], waits: list[float],
                           reasons: Counter[str]) -> None:
        name = _STAT_TYPES.get(fields.get("type", ""))
        if name is None or (fields["type"] == events.CASE_REASSIGNED
                            and not fields.get("to_officer")):
            return
        setattr(stats, name, getattr(stats, name) + 1)
        per = stats.by_district.setdefault(fields.get("district") or FORCE_WIDE, {})
        per[name] = per.get(name, 0) + 1
        if name == "accepted" and fields.get("offer_seconds"):
            waits.append(float(fields["offer_seconds"]))
        if name == "declined":
            reasons[fields.get("reason") or "other"] += 1

    # supervisors: SLA clocks
    @translate_errors
    def sla(self, *, now: float, accept_targets: Mapping[int, int],
            contact_targets: Mapping[int, int], review_targets: Mapping[int, int] | None = None,
            fraction: float = AT_RISK_FRACTION, limit: int = 1000) -> SlaView:
        """Clocks at risk (under `fraction` of the target left) and breached ones: accept,
        first contact, and review (cases nobody may contact; omitted without targets).

        A breach the sweeper has already alerted on has left its timer set; it is found
        through its open `sla_breach` / `review_breach` alert until the clock stops or the
        alert is handled.
        """
        k = self._keys
        items: dict[tuple[str, str], SlaItem] = {}
        clocks = [("accept", k.sla_accept, accept_targets),
                  ("contact", k.sla_contact, contact_targets)]
        if review_targets:
            clocks.append(("review", k.sla_review, review_targets))
        for clock, key, targets in clocks:
            horizon = now + fraction * max(targets.values())
            due: list[tuple[str, float]] = self._r.zrangebyscore(
                key, "-inf", horizon, start=0, num=limit, withscores=True)
            for item in self._sla_items(clock, due, now):
                if item.seconds_left <= fraction * targets.get(item.priority, 0):
                    items[(item.case_id, clock)] = item
        for item in self._alerted_breaches(now, accept_targets, contact_targets,
                                           review_targets or {}, limit):
            items.setdefault((item.case_id, item.clock), item)
        ordered = sorted(items.values(), key=lambda i: (i.seconds_left, i.priority))
        return SlaView(at_risk=[i for i in ordered if i.seconds_left > 0],
                       breached=[i for i in ordered if i.seconds_left <= 0])

    def _sla_items(self, clock: str, due: Iterable[tuple[str, float]],
                   now: float) -> list[SlaItem]:
        due = list(due)
        pipe = self._r.pipeline(transaction=False)
        for case_id, _ in due:
            pipe.hmget(self._keys.case(case_id),
                       ["reference", "state", "priority", "district", "officer"])
        found = []
        for (case_id, at), values in zip(due, pipe.execute(), strict=True):
            reference, state, priority, district, officer = values
            if state and state != "closed":
                found.append(SlaItem(case_id, reference or "", clock, state, int(priority or 4),
                                     district or "", officer or "", at, at - now))
        return found

    def _alerted_breaches(self, now: float, accept_targets: Mapping[int, int],
                          contact_targets: Mapping[int, int],
                          review_targets: Mapping[int, int], limit: int) -> list[SlaItem]:
        alerts = [a for a in self.open_alerts(limit) if a.get("kind") == "sla_breach"
                  or (review_targets and a.get("kind") == REVIEW_BREACH)]
        pipe = self._r.pipeline(transaction=False)
        for alert in alerts:
            pipe.hmget(self._keys.case(alert.get("case_id", "")),
                       ["reference", "state", "priority", "district", "officer", "created_at",
                        "accepted_at", "first_contact_at", "contactable"])
        found = []
        for alert, values in zip(alerts, pipe.execute(), strict=True):
            (reference, state, priority, district, officer, created, accepted, contact,
             contactable) = values
            p = int(priority or 4)
            if alert.get("kind") == REVIEW_BREACH:
                if state not in ("accepted", "contacted"):
                    continue  # closed, or back in routing: the review clock has stopped
                clock, due = "review", float(accepted or now) + review_targets.get(p, 0)
            elif state in ACCEPT_CLOCK_STATES:
                clock, due = "accept", float(created or now) + accept_targets.get(p, 0)
            elif state == "accepted" and not contact and contactable == "1":
                clock, due = "contact", float(accepted or now) + contact_targets.get(p, 0)
            else:
                continue  # the clock has stopped (contact made, or closed)
            found.append(SlaItem(alert["case_id"], reference or "", clock, state, p,
                                 district or "", officer or "", due, min(due - now, 0.0)))
        return found

    # supervisors: dead letters and alerts
    @translate_errors
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Work that kept failing, newest first: cases that could not be routed, and
        notifications that could not be delivered."""
        k = self._keys
        entries: list[tuple[str, float]] = self._r.zrevrange(k.dead_letters, 0, limit - 1,
                                                              withscores=True)
        pipe = self._r.pipeline(transaction=False)
        for member, _ in entries:
            if member.startswith("case:"):
                pipe.hmget(k.case(member[5:]), ["id", "reference", "dead_letter",
                                                "route_attempts"])
            else:
                pipe.hmget(k.notification(member), ["case_id", "reference", "kind",
                                                    "last_error", "attempts"])
        found = []
        for (member, at), values in zip(entries, pipe.execute(), strict=True):
            if member.startswith("case:"):
                case_id, reference, reason, _ = values
                found.append(DeadLetter("case", member[5:], case_id or member[5:],
                                        reference or "", "routing", reason or "", 0, at))
            else:
                case_id, reference, kind, error, attempts = values
                found.append(DeadLetter("notification", member, case_id or "", reference or "",
                                        kind or "", error or "", int(attempts or 0), at))
        return found

    def open_alerts(self, limit: int = 200) -> list[dict[str, str]]:
        """Open alerts, newest first."""
        return self._alerts.open(limit)

    def alert(self, alert_id: str) -> dict[str, str] | None:
        return self._alerts.get(alert_id)

    # the audit trail
    @translate_errors
    def record_view(self, case_id: str, *, by: str, now: float) -> None:
        """Audit one read of a case's personal data: who, which case, when — never the data.

        The audit stream is not capped (unlike `events`): it is the record of access.
        """
        event = {"type": CASE_VIEWED, "case_id": case_id, "by": by, "at": f"{now:.6f}"}
        pipe = self._r.pipeline(transaction=True)
        pipe.xadd(self._keys.audit, event)
        pipe.xadd(self._keys.events, event, maxlen=self._events_maxlen, approximate=True)
        pipe.execute()

    @translate_errors
    def record_refused(self, case_id: str, *, by: str, action: str, reason: str,
                       now: float) -> None:
        """Audit a refused access to a case (403 not theirs, 404 no such case): who, which
        case (as asked for), what they tried, when."""
        event = {"type": events.CASE_ACCESS_REFUSED, "case_id": case_id, "by": by,
                 "action": action, "reason": reason, "at": f"{now:.6f}"}
        self._r.xadd(self._keys.audit, event)

    @translate_errors
    def record_search(self, reference: str, *, by: str, case_id: str, now: float) -> None:
        """Audit a supervisor's search for a case by its reference, and what it found."""
        event = {"type": events.CASE_SEARCHED, "reference": reference, "case_id": case_id,
                 "by": by, "found": "1" if case_id else "0", "at": f"{now:.6f}"}
        self._r.xadd(self._keys.audit, event)

    @translate_errors
    def record_availability(self, officer_id: str, status: str, *, by: str,
                            now: float) -> None:
        """An officer's status changed, and who changed it (themselves or a supervisor)."""
        self._r.xadd(self._keys.events, {
            "type": AVAILABILITY_CHANGED, "officer_id": officer_id, "status": status,
            "by": by, "at": f"{now:.6f}"}, maxlen=self._events_maxlen, approximate=True)
