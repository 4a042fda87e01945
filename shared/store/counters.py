"""How many of each thing has ever happened? Running totals kept in Redis, for /metrics.

Every event that counts adds 1 to a field of the `counters` hash in the same atomic step
that writes the event: the Lua scripts through lib.lua's `emit` (its `COUNTED` table), and
Python store methods that write an event themselves through `count_event` on their own
pipeline. So the totals are exact, outlive every process (they are Redis data, kept as
long as the events' effects are) and cost one HGETALL to read. The `events` stream is
capped and cannot give them.

A field is the event type followed by `|<value>` of each field `COUNTED` names for that
type — `CaseReceived|report|2` — where `?name` stands for "1" when the event's `name` is
set and "0" when it is empty (so an officer id never becomes part of a field). Values are
codes (case kinds, priorities, notification kinds); the metrics pass each through
`safe_label` all the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from shared.domain import events
from shared.store.base import Keys, translate_errors

# Which events count, and under which of their fields. lib.lua's COUNTED is the same table
# (tests/unit/test_counters.py checks that they agree).
COUNTED: dict[str, tuple[str, ...]] = {
    events.CASE_RECEIVED: ("kind", "priority"),
    events.CASE_OFFERED: (),
    events.CASE_REASSIGNED: ("?to_officer",),
    events.OFFER_ACCEPTED: (),
    events.OFFER_DECLINED: (),
    events.OFFER_EXPIRED: (),
    events.OFFER_WITHDRAWN: (),
    events.CASE_CLOSED: ("priority",),
    events.CASE_DEAD_LETTERED: (),
    events.NOTIFICATION_SENT: ("kind",),
    events.NOTIFICATION_SKIPPED: ("kind",),
    events.NOTIFICATION_FAILED: ("kind",),
    events.NOTIFICATION_DEAD_LETTERED: ("kind",),
}
OFFER_OUTCOMES = {events.OFFER_ACCEPTED: "accepted", events.OFFER_DECLINED: "declined",
                  events.OFFER_EXPIRED: "expired", events.OFFER_WITHDRAWN: "withdrawn"}
NOTIFICATION_OUTCOMES = {events.NOTIFICATION_SENT: "sent",
                         events.NOTIFICATION_SKIPPED: "skipped",
                         events.NOTIFICATION_FAILED: "failed",
                         events.NOTIFICATION_DEAD_LETTERED: "dead_lettered"}
SEP = "|"


def counters_key(keys: Keys) -> str:
    """The hash of running totals (lib.lua writes `key("counters")`)."""
    return f"{keys.prefix}counters"


def counter_field(fields: Mapping[str, str]) -> str | None:
    """The `counters` field an event adds 1 to, or None when it does not count."""
    kind = fields.get("type", "")
    names = COUNTED.get(kind)
    if names is None:
        return None
    parts = [kind]
    for name in names:
        if name.startswith("?"):
            parts.append("1" if fields.get(name[1:]) else "0")
        else:
            parts.append(str(fields.get(name) or ""))
    return SEP.join(parts)


def count_event(pipe: redis.client.Pipeline, keys: Keys, fields: Mapping[str, str]) -> None:
    """Queue the counter increment for an event a Python store method writes on `pipe`
    (a MULTI pipeline, so the count and the event happen together)."""
    name = counter_field(fields)
    if name is not None:
        pipe.hincrby(counters_key(keys), name, 1)


@dataclass
class Totals:
    """Everything counted so far, by what the metrics report."""

    received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, priority)
    offered: int = 0                     # routing's offers and supervisors' reassignments
    offers: Counter[str] = field(default_factory=Counter)               # outcome
    closed: Counter[str] = field(default_factory=Counter)               # priority
    notifications: Counter[tuple[str, str]] = field(default_factory=Counter)  # kind, outcome
    dead_letters: Counter[str] = field(default_factory=Counter)         # case | notification

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> Totals:
        totals = cls()
        for name, value in raw.items():
            try:
                n = int(value)
            except ValueError:
                continue
            kind, *labels = name.split(SEP)
            totals._add(kind, labels, n)
        return totals

    def _add(self, kind: str, labels: list[str], n: int) -> None:
        first = labels[0] if labels else ""
        if kind == events.CASE_RECEIVED and len(labels) == 2:
            self.received[(labels[0], labels[1])] += n
        elif kind == events.CASE_OFFERED or (kind == events.CASE_REASSIGNED and first == "1"):
            self.offered += n
        elif kind in OFFER_OUTCOMES:
            self.offers[OFFER_OUTCOMES[kind]] += n
        elif kind == events.CASE_CLOSED:
            self.closed[first] += n
        elif kind == events.CASE_DEAD_LETTERED:
            self.dead_letters["case"] += n
        elif kind in NOTIFICATION_OUTCOMES:
            self.notifications[(first, NOTIFICATION_OUTCOMES[kind])] += n
            if kind == events.NOTIFICATION_DEAD_LETTERED:
                self.dead_letters["notification"] += n


class CounterReads:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def totals(self) -> Totals:
        """The running totals, as the metrics report them (one HGETALL of a few dozen
        fields: event types x codes)."""
        return Totals.parse(self._r.hgetall(counters_key(self._keys)))
