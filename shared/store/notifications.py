"""Notification records: delivery claims, outcomes, retries, dead letters and the inbox.

Outcomes go through one Lua script so a status, its outbox entry and its event change
together. Nothing here holds message text or a recipient's address.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis

from shared.domain.notifications import new_notification_id
from shared.store.base import (
    ASYNC,
    NOT_REPLICATED,
    Durability,
    Keys,
    StoreUnavailable,
    load_script,
    translate_errors,
    write_pipeline,
)

CLAIM_SENDING = "sending"
CLAIM_SENT = "sent"
DELIVERED_TTL = 30 * 24 * 3600
INBOX_MAX = 500


class NotificationRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
                 durability: Durability = ASYNC) -> None:
        self._r = client
        self._durability = durability
        self._keys = keys
        self._events_maxlen = events_maxlen
        self._outcome = load_script(client, "notification_outcome", keys)

    @translate_errors
    def get(self, notification_id: str) -> dict[str, str] | None:
        """The notification hash, or None."""
        data: dict[str, str] = self._r.hgetall(self._keys.notification(notification_id))
        return data or None

    # delivery claims: one per notification x recipient x channel
    @translate_errors
    def claim(self, notification_id: str, recipient: str, channel: str, ttl: int = 120) -> bool:
        """Take the right to send on this channel; False if another attempt holds or used it.

        Under durability `replicated` the claim waits for the replicas: replication keeps
        the master's order, so a confirmed claim means everything the message is about (the
        offer, the case) is on the replicas too — nobody is alerted to an offer a failover
        could erase. Not confirmed: the claim is given back and StoreUnavailable
        (`not_replicated`) raised; the sweeper brings the notification back."""
        key = self._keys.delivery_claim(notification_id, recipient, channel)
        if not self._durability.waits:
            return bool(self._r.set(key, CLAIM_SENDING, nx=True, ex=ttl))
        mine = f"{CLAIM_SENDING}:{uuid.uuid4().hex}"
        pipe = write_pipeline(self._r, self._durability, transaction=False)
        pipe.set(key, mine, nx=True, ex=ttl)
        try:
            return bool(pipe.execute()[0])
        except StoreUnavailable as exc:
            if exc.reason == NOT_REPLICATED and self._r.get(key) == mine:
                self._r.delete(key)  # ours, and nothing was sent on it
            raise

    @translate_errors
    def mark_delivered(self, notification_id: str, recipient: str, channel: str) -> None:
        """Record a completed send (kept 30 days) so no retry sends it again."""
        key = self._keys.delivery_claim(notification_id, recipient, channel)
        self._r.set(key, CLAIM_SENT, ex=DELIVERED_TTL)

    @translate_errors
    def release(self, notification_id: str, recipient: str, channel: str) -> None:
        """Give up a claim after a failed send, so a retry may try again."""
        self._r.delete(self._keys.delivery_claim(notification_id, recipient, channel))

    @translate_errors
    def is_delivered(self, notification_id: str, recipient: str, channel: str) -> bool:
        key = self._keys.delivery_claim(notification_id, recipient, channel)
        return bool(self._r.get(key) == CLAIM_SENT)

    # outcomes
    @translate_errors
    def finish(self, notification_id: str, status: str, *, now: float | None = None) -> bool:
        """Mark a pending notification sent or skipped; False if it was no longer pending."""
        if status not in ("sent", "skipped"):
            raise ValueError(f"finish: status must be sent or skipped, not {status!r}")
        result = self._run("finish", notification_id, now, status=status)
        return bool(result[0] == "ok")

    @translate_errors
    def fail(self, notification_id: str, error_type: str, due: float, *,
             now: float | None = None) -> int:
        """Count a failed attempt and schedule the retry at `due`; returns the attempts so far."""
        result = self._run("fail", notification_id, now, due=due, error=error_type)
        return int(result[1])

    @translate_errors
    def reschedule(self, notification_id: str, due: float, *, now: float | None = None) -> bool:
        """Try a pending notification again at `due` without counting an attempt."""
        result = self._run("reschedule", notification_id, now, due=due)
        return bool(result[0] == "ok")

    @translate_errors
    def dead_letter(self, notification_id: str, now: float) -> str | None:
        """Give up: status dead, into dead letters, and a dead_letter notice to supervisors.

        Returns the new notice's id (None when the dead one was itself such a notice).
        """
        result = self._run("dead", notification_id, now, notice_id=new_notification_id(),
                           grace=0)  # the notice is due at once
        if result[0] != "ok":
            return None
        return str(result[2]) or None

    @translate_errors
    def due(self, now: float, limit: int = 100) -> list[str]:
        """Notification ids whose (re)delivery is due."""
        ids: list[str] = self._r.zrangebyscore(
            self._keys.notify_outbox, "-inf", now, start=0, num=limit)
        return ids

    @translate_errors
    def dead_letters(self, limit: int = 100) -> list[str]:
        """Notification ids that gave up, newest first."""
        ids: list[str] = self._r.zrevrange(self._keys.dead_letters, 0, limit - 1)
        return ids

    # in-app inbox
    @translate_errors
    def push_inbox(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Add a message to a staff member's in-app inbox (newest first, bounded)."""
        key = self._keys.inbox(recipient_id)
        pipe = self._r.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(message, separators=(",", ":")))
        pipe.ltrim(key, 0, INBOX_MAX - 1)
        pipe.execute()

    @translate_errors
    def inbox(self, recipient_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """A staff member's newest in-app messages."""
        raw: list[str] = self._r.lrange(self._keys.inbox(recipient_id), 0, limit - 1)
        return [json.loads(item) for item in raw]

    # recipients
    @translate_errors
    def staff(self, staff_id: str) -> dict[str, str]:
        """A staff member's stored hash ({} if unknown)."""
        data: dict[str, str] = self._r.hgetall(self._keys.officer(staff_id))
        return data

    @translate_errors
    def supervisor_ids(self) -> list[str]:
        """Everyone who receives supervisor notifications, sorted."""
        ids: set[str] = self._r.smembers(self._keys.supervisors)
        return sorted(ids)

    def _run(self, op: str, notification_id: str, now: float | None, **args: Any) -> Any:
        return self._outcome(op=op, notification_id=notification_id,
                             now=time.time() if now is None else now,
                             events_maxlen=self._events_maxlen, **args)
