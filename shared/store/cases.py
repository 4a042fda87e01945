"""Cases: create (one atomic script), read, and the outbox of cases awaiting routing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from shared.domain import events
from shared.domain.alerts import Alert
from shared.domain.cases import Case
from shared.domain.notifications import Kind, Notification
from shared.store.base import ASYNC, Durability, Keys, load_script, translate_errors
from shared.store.counters import count_event


class CreateOutcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REFERENCE_TAKEN = "reference_taken"
    EXISTS = "exists"


@dataclass(frozen=True)
class DuplicateSubmission:
    """An idempotency key seen before: the case it made, and the body's fingerprint then."""

    case_id: str
    fingerprint: str


class CaseRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
                 durability: Durability = ASYNC) -> None:
        self._r = client
        self._durability = durability
        self._keys = keys
        self._events_maxlen = events_maxlen
        self._create = load_script(client, "create_case", keys)

    @translate_errors
    def create(self, case: Case, sealed: str, *, outbox_due: float, accept_due: float,
               idempotency: tuple[str, str, int] | None = None,
               alert: Alert | None = None, notifications: Sequence[Notification] = (),
               route_message: tuple[str, str] | None = None, ack_code: str = "",
               update_due: float | None = None, people: Sequence[str] = (),
               link_window: int = 0,
               ) -> tuple[CreateOutcome, DuplicateSubmission | None]:
        """Write the case, its first event, outbox entry, idempotency key, accept-SLA clock,
        alert, notification records and (when given) the router's task message at once.

        `idempotency` is (key, body fingerprint, ttl seconds); `ack_code` the sealed check
        code the reporter's acknowledgement carries (kept on that notification record only
        until it is sent or given up); `update_due` the first Victims' Code update (the
        `updates:due` clock); `people` the reporter's keyed digests, whose repeat-victim
        sets the case joins (entries kept `link_window` seconds).
        """
        args: dict[str, Any] = {
            "case_id": case.id,
            "reference": case.reference,
            "now": case.created_at,
            "fields": case.routing_fields() | {"sealed": sealed, "attempts": "0"},
            "event": {
                "type": events.CASE_RECEIVED,
                "case_id": case.id,
                "reference": case.reference,
                "kind": case.kind.value,
                "priority": str(int(case.priority)),
                "district": case.placement.district or "",
                "at": f"{case.created_at:.6f}",
            },
            "accept_due": accept_due,
            "grace": outbox_due - case.created_at,  # the outbox's and notifications' due time
            "notifications": [{"id": n.id, "kind": n.kind.value,
                               "recipient_type": n.recipient_type.value,
                               "recipient": n.recipient,
                               "sealed_code": ack_code if n.kind is Kind.REPORTER_ACK else ""}
                              for n in notifications],
            "events_maxlen": self._events_maxlen,
        }
        if idempotency:
            key, fingerprint, ttl = idempotency
            args["idempotency"] = {"key": key, "ttl": ttl, "value": json.dumps(
                {"case_id": case.id, "fingerprint": fingerprint})}
        if alert:
            args["alert"] = {"id": alert.id, "kind": alert.kind}
        if route_message:
            args["route_queue"], args["route_message"] = route_message
        if update_due is not None:
            args["update_due"] = update_due
        if people:
            args["people"], args["link_window"] = list(people), link_window
        # Under durability `replicated`, a replay (DUPLICATE) waits as well: its 201 is as
        # safe as the first one would have been.
        result = self._create.durably(self._durability, **args)
        outcome = CreateOutcome(result[0])
        if outcome is CreateOutcome.DUPLICATE:
            seen = json.loads(result[1])
            return outcome, DuplicateSubmission(seen["case_id"], seen["fingerprint"])
        return outcome, None

    @translate_errors
    def get(self, case_id: str) -> dict[str, str] | None:
        """The case hash (routing fields plus the sealed blob), or None."""
        data: dict[str, str] = self._r.hgetall(self._keys.case(case_id))
        return data or None

    @translate_errors
    def earlier_cases(self, people: Sequence[str], *, since: float) -> list[tuple[str, str]]:
        """(case id, reference) of the cases the same person (any of their keyed digests)
        reported since `since`, oldest first; cases that no longer exist are left out."""
        found: dict[str, float] = {}
        for digest in people:
            for case_id, at in self._r.zrangebyscore(self._keys.person(digest), since, "+inf",
                                                     withscores=True):
                found[case_id] = min(at, found.get(case_id, at))
        ordered = sorted(found, key=lambda c: found[c])
        pipe = self._r.pipeline(transaction=False)
        for case_id in ordered:
            pipe.hget(self._keys.case(case_id), "reference")
        return [(case_id, ref) for case_id, ref in zip(ordered, pipe.execute(), strict=True)
                if ref]

    @translate_errors
    def id_for_reference(self, reference: str) -> str | None:
        value: str | None = self._r.get(self._keys.reference(reference))
        return value

    @translate_errors
    def log(self, case_id: str) -> list[dict[str, Any]]:
        """The case's own events, oldest first."""
        entries = self._r.xrange(self._keys.case_log(case_id))
        return [dict(fields, id=entry_id) for entry_id, fields in entries]

    @translate_errors
    def outbox_due(self, now: float, limit: int = 100) -> list[str]:
        """Case ids whose routing has not been confirmed by their due time."""
        ids: list[str] = self._r.zrangebyscore(
            self._keys.outbox, "-inf", now, start=0, num=limit)
        return ids

    @translate_errors
    def count_route_attempt(self, case_id: str) -> int:
        """Count one more routing attempt (reset by the routing script when it completes)."""
        return int(self._r.hincrby(self._keys.case(case_id), "route_attempts", 1))

    @translate_errors
    def dead_letter(self, case_id: str, *, now: float, reason: str) -> None:
        """Park a case whose routing keeps failing: out of the outbox, into dead letters."""
        k = self._keys
        pipe = self._r.pipeline(transaction=True)
        pipe.zrem(k.outbox, case_id)
        pipe.zadd(k.dead_letters, {f"case:{case_id}": now})
        pipe.hset(k.case(case_id), mapping={"dead_letter": reason, "route_attempts": "0"})
        event = {"type": events.CASE_DEAD_LETTERED, "case_id": case_id, "reason": reason,
                 "at": f"{now:.6f}"}
        pipe.xadd(k.case_log(case_id), event)
        pipe.xadd(k.events, event, maxlen=self._events_maxlen, approximate=True)
        count_event(pipe, k, event)
        pipe.execute()
