"""How did offers turn out — over a period, and hour by hour for the dashboard's charts?

Both read a time range of the `events` stream a page at a time, bounded; `offer_outcome` is
the one table of which event is which outcome (the metrics count by it too).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import redis

from shared.domain import events
from shared.domain.routing import FORCE_WIDE
from shared.store.base import Keys, translate_errors

HOUR = 3600
MAX_CHART_EVENTS = 50_000       # events read for the charts at most (then `truncated`)
OFFER_OUTCOMES = {events.CASE_OFFERED: "offered", events.CASE_REASSIGNED: "offered",
                  events.OFFER_ACCEPTED: "accepted", events.OFFER_DECLINED: "declined",
                  events.OFFER_EXPIRED: "expired", events.OFFER_WITHDRAWN: "withdrawn"}
CHART_OUTCOMES = ("accepted", "declined", "expired")


def offer_outcome(fields: Mapping[str, str]) -> str | None:
    """What an event says about an offer (a reassignment to routing offers nothing)."""
    kind = fields.get("type", "")
    if kind == events.CASE_REASSIGNED and not fields.get("to_officer"):
        return None
    return OFFER_OUTCOMES.get(kind)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


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


@dataclass
class Activity:
    """The last `hours` clock hours (the last one still running), oldest first."""

    start: float                        # epoch of the first bucket's start
    hours: int
    arrivals: list[int]
    offer_to_accept: list[list[float]]  # seconds from offer to acceptance, per hour
    report_to_accept: list[list[float]]  # seconds from the report to acceptance, per hour
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHART_OUTCOMES, 0))
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
        try:
            at = float(fields.get("at") or "nan")
        except ValueError:
            return
        index = self.bucket(at)
        if index is None:
            return
        outcome = offer_outcome(fields)
        if fields.get("type") == events.CASE_RECEIVED:
            self.arrivals[index] += 1
        elif outcome in self.outcomes:
            self.outcomes[outcome] += 1
            if outcome == "accepted":
                for series, name in ((self.offer_to_accept, "offer_seconds"),
                                     (self.report_to_accept, "since_received")):
                    if fields.get(name):
                        series[index].append(float(fields[name]))

    def medians(self, series: Sequence[Sequence[float]]) -> list[float | None]:
        return [_median(values) for values in series]


class OutcomeReads:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen

    def _each_event(self, since: float, most: int, page: int,
                    count: Callable[[Mapping[str, str]], None]) -> bool:
        """Pass every event from `since` (stream time) on to `count`, a page at a time;
        False when it stopped after `most` with more to read."""
        start, seen = f"{int(since * 1000)}-0", 0
        while seen < most:
            batch = self._r.xrange(self._keys.events, min=start, max="+", count=page)
            for _, fields in batch:
                count(fields)
            seen += len(batch)
            if len(batch) < page:
                return True
            start = "(" + batch[-1][0]
        return False

    @translate_errors
    def offer_stats(self, *, since: float, until: float, page: int = 1000) -> OfferStats:
        """Offers made, accepted, declined, expired and withdrawn since a time (by event id)."""
        stats = OfferStats(since=since, until=until)
        waits: list[float] = []
        reasons: Counter[str] = Counter()

        def count(fields: Mapping[str, str]) -> None:
            name = offer_outcome(fields)
            if name is None:
                return
            setattr(stats, name, getattr(stats, name) + 1)
            per = stats.by_district.setdefault(fields.get("district") or FORCE_WIDE, {})
            per[name] = per.get(name, 0) + 1
            if name == "accepted" and fields.get("offer_seconds"):
                waits.append(float(fields["offer_seconds"]))
            if name == "declined":
                reasons[fields.get("reason") or "other"] += 1

        self._each_event(since, self._events_maxlen * 2, page, count)
        stats.median_seconds_to_accept = _median(waits)
        stats.decline_reasons = dict(reasons)
        return stats

    @translate_errors
    def activity(self, *, now: float, hours: int = 24, page: int = 1000) -> Activity:
        """Arrivals, times to accept and offer outcomes per clock hour (bounded read)."""
        activity = Activity.empty(now, hours)
        # Stream ids are Redis' clock and `at` the app's; read an hour early to be safe.
        done = self._each_event(activity.start - HOUR, MAX_CHART_EVENTS, page, activity.count)
        activity.truncated = not done
        return activity
