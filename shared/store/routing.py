"""Routing and case actions: thin wrappers over route.lua and case_action.lua."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import redis

from shared.domain.notifications import new_notification_id
from shared.domain.rings import Plan
from shared.domain.states import Action, sources
from shared.store.base import ASYNC, Durability, Keys, load_script, translate_errors

SCAN = 50  # officers (or waiting cases) route.lua reads per step; it reads at most 20 steps


class CaseActionError(Exception):
    """A refused case action; `code` is one of not_found, illegal_transition, not_yours,
    not_due, no_such_officer, same_officer, or — a reassignment to an officer routing would
    pass over, without a reason — officer_away, officer_off_duty, off_shift, at_capacity,
    lacks_skill (`detail`: every problem, comma-separated; shared/domain/reassignment.py)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class RouteResult:
    outcome: str                 # offered | waiting | noop | missing | none
    case_id: str = ""
    officer_id: str = ""
    notification_id: str = ""    # the offer; or the first supervisor alert of a new wait
    notification_ids: tuple[str, ...] = ()  # every notification to hand to the notifier now


@dataclass(frozen=True)
class ActionResult:
    state: str
    freed_officer: str = ""      # an officer whose load dropped (drain them)
    extra: str = ""
    notification_id: str = ""
    withdrawn: tuple[str, ...] = ()  # other cases sent back to routing (re-publish them)


class RoutingRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
                 durability: Durability = ASYNC) -> None:
        self._r = client
        self._durability = durability
        self._keys = keys
        self._events_maxlen = events_maxlen
        self._route = load_script(client, "route", keys)
        self._action = load_script(client, "case_action", keys)

    @translate_errors
    def assign(self, case_id: str, *, now: float, plan: Plan,
               timeouts: dict[int, int], from_states: list[str], grace: int,
               alert_id: str) -> RouteResult:
        """Offer the case to the best eligible officer in the rings open to it, or make it
        wait (atomic; shared/domain/rings.py)."""
        nid = new_notification_id()
        # durably: under `replicated`, an offer no replica has yet raises before anyone is
        # told of it (the router task retries; the sweeper re-publishes the notification)
        raw = self._route.durably(
            self._durability, mode="assign", case_id=case_id, now=now,
            rings=[r.as_arg() for r in plan.rings], prefer_until=plan.prefer_until,
            timeouts=_by_priority(timeouts),
            from_states=from_states, notification_id=nid, alert_id=alert_id, grace=grace,
            skill_alert_id=uuid.uuid4().hex, skill_notification_id=new_notification_id(),
            events_maxlen=self._events_maxlen, scan=SCAN)
        return _route_result(raw)

    @translate_errors
    def drain(self, officer_id: str, *, now: float, timeouts: dict[int, int],
              grace: int, near: dict[str, list[str]]) -> RouteResult:
        """Offer the freed officer the best waiting case (priority plus age) they can take
        and whose reached ring includes them (`near`: each district's neighbours)."""
        nid = new_notification_id()
        raw = self._route.durably(
            self._durability, mode="drain", officer_id=officer_id, now=now,
            timeouts=_by_priority(timeouts), near=near,
            from_states=sources(Action.DRAIN), notification_id=nid, grace=grace,
            events_maxlen=self._events_maxlen, scan=SCAN)
        return _route_result(raw)

    @translate_errors
    def act(self, action: str, case_id: str, *, actor: str, now: float, from_states: list[str],
            own: bool, grace: int = 5, **options: Any) -> ActionResult:
        """Apply one case action atomically; raise CaseActionError when it is refused."""
        nid = new_notification_id()
        raw = self._action.durably(self._durability, action=action, case_id=case_id,
                                   actor=actor, now=now, from_states=from_states, own=own,
                                   notification_id=nid, alert_id=uuid.uuid4().hex,
                                   grace=grace, events_maxlen=self._events_maxlen, **options)
        if raw[0] == "error":
            raise CaseActionError(raw[1], raw[2])
        return ActionResult(state=raw[1], freed_officer=raw[2], extra=raw[3],
                            notification_id=nid, withdrawn=tuple(raw[4:]))

    @translate_errors
    def due(self, timer: str, now: float, limit: int = 200) -> list[str]:
        """Case ids whose timer (offers, sla_accept, sla_contact, sla_review, outbox,
        waiting_since, ring_due, updates_due) is due."""
        key = {"offers": self._keys.offers, "sla_accept": self._keys.sla_accept,
               "sla_contact": self._keys.sla_contact, "sla_review": self._keys.sla_review,
               "outbox": self._keys.outbox, "waiting_since": self._keys.waiting_since,
               "ring_due": self._keys.ring_due, "updates_due": self._keys.updates_due}[timer]
        ids: list[str] = self._r.zrangebyscore(key, "-inf", now, start=0, num=limit)
        return ids

    @translate_errors
    def postpone(self, timer: str, case_id: str, until: float) -> None:
        key = {"outbox": self._keys.outbox, "sla_accept": self._keys.sla_accept,
               "sla_contact": self._keys.sla_contact, "sla_review": self._keys.sla_review,
               "ring_due": self._keys.ring_due}[timer]
        self._r.zadd(key, {case_id: until}, xx=True)

    @translate_errors
    def clear_timer(self, timer: str, case_id: str) -> None:
        key = {"sla_accept": self._keys.sla_accept, "sla_contact": self._keys.sla_contact,
               "sla_review": self._keys.sla_review, "waiting_since": self._keys.waiting_since,
               "offers": self._keys.offers}[timer]
        self._r.zrem(key, case_id)

    @translate_errors
    def due_notifications(self, now: float, limit: int = 200) -> list[str]:
        """Notification ids not confirmed delivered by their due time."""
        ids: list[str] = self._r.zrangebyscore(self._keys.notify_outbox, "-inf", now,
                                               start=0, num=limit)
        return ids

    @translate_errors
    def postpone_notification(self, notification_id: str, until: float) -> None:
        self._r.zadd(self._keys.notify_outbox, {notification_id: until}, xx=True)

    @translate_errors
    def waiting(self, limit: int = 1000) -> list[tuple[str, float]]:
        """Waiting cases, best first (priority plus age), with their waiting score."""
        items: list[tuple[str, float]] = self._r.zrange(self._keys.waiting, 0, limit - 1,
                                                        withscores=True)
        return items


def _by_priority(timeouts: dict[int, int]) -> dict[str, int]:
    """Offer timeouts keyed as the case hash spells a priority ("1".."4")."""
    return {str(p): s for p, s in timeouts.items()}


def _route_result(raw: list[str]) -> RouteResult:
    outcome = raw[0]
    if outcome == "offered":
        return RouteResult("offered", raw[1], raw[2], raw[3], (raw[3],))
    if outcome == "waiting":
        alerts = tuple(n for n in raw[3:] if n)
        return RouteResult("waiting", raw[1], "", alerts[0] if alerts else "", alerts)
    return RouteResult(outcome)
