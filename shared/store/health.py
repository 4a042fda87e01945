"""Is the work moving? Workers' signs of life, the oldest overdue timer, and the dead letters.

Read from existing records only — no worker writes anything extra to be seen alive
(DESIGN §7: timers live in sorted sets the sweeper empties when they are due).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from shared.domain import events
from shared.store.base import Keys, translate_errors
from shared.store.feed import event_time

HOUR = 3600
SIGN_WINDOW = 1_000             # newest events looked through for signs of life...
SIGN_HORIZON = HOUR             # ...going back at most this far
# The events only each kind of worker writes (the console's own drains write CaseOffered
# too, which is why the router's sign is a hint and its queue backlog the verdict).
WORKER_SIGNS = {
    "router": (events.CASE_OFFERED, events.CASE_WAITING, events.CASE_DEAD_LETTERED),
    "notifier": (events.NOTIFICATION_SENT, events.NOTIFICATION_SKIPPED,
                 events.NOTIFICATION_FAILED, events.NOTIFICATION_DEAD_LETTERED),
    # (not OfferWithdrawn: the console writes it too, when an officer goes away)
    "sweeper": (events.OFFER_EXPIRED, events.CASE_REPUBLISHED),
}


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


class HealthReads:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

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
                found[kind] = event_time(stream_id, fields)
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
