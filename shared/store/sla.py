"""Which SLA clocks (accept, first contact, review) are at risk, and which have run out?

"At risk" (a choice, documented in the API): the clock has not run out, and less than a
quarter (`AT_RISK_FRACTION`) of the case's target time for its priority is left. Each clock
is a sorted set of due times, read up to a horizon; nothing scans the keyspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import redis

from shared.domain.alerts import REVIEW_BREACH, SLA_BREACH
from shared.store.alerts import AlertRepository
from shared.store.base import Keys, translate_errors

AT_RISK_FRACTION = 0.25
ACCEPT_CLOCK_STATES = ("received", "waiting", "offered")


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


class SlaReads:
    def __init__(self, client: redis.Redis, keys: Keys, alerts: AlertRepository) -> None:
        self._r = client
        self._keys = keys
        self._alerts = alerts

    @translate_errors
    def clocks(self, *, now: float, accept_targets: Mapping[int, int],
               contact_targets: Mapping[int, int],
               review_targets: Mapping[int, int] | None = None,
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
            for item in self._items(clock, due, now):
                if item.seconds_left <= fraction * targets.get(item.priority, 0):
                    items[(item.case_id, clock)] = item
        for item in self._alerted_breaches(now, accept_targets, contact_targets,
                                           review_targets or {}, limit):
            items.setdefault((item.case_id, item.clock), item)
        ordered = sorted(items.values(), key=lambda i: (i.seconds_left, i.priority))
        return SlaView(at_risk=[i for i in ordered if i.seconds_left > 0],
                       breached=[i for i in ordered if i.seconds_left <= 0])

    def _items(self, clock: str, due: Iterable[tuple[str, float]], now: float) -> list[SlaItem]:
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
        alerts = [a for a in self._alerts.open(limit) if a.get("kind") == SLA_BREACH
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
