"""Supervisor alerts: raised once per cause, listed until acknowledged."""

from __future__ import annotations

import uuid

import redis

from shared.domain import events
from shared.domain.notifications import new_notification_id
from shared.store.base import Keys, load_script, translate_errors

TIMERS = {"sla_accept": "sla:accept", "sla_contact": "sla:contact",
          "sla_review": "sla:review", "waiting_since": "waiting:since",
          "updates_due": "updates:due", "": ""}


class AlertRepository:
    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int) -> None:
        self._r = client
        self._keys = keys
        self._events_maxlen = events_maxlen
        self._raise = load_script(client, "raise_alert", keys)

    @translate_errors
    def raise_for_case(self, kind: str, case_id: str, *, now: float, timer: str = "",
                       grace: int = 5) -> str | None:
        """Raise the alert (and its supervisor notification); None if already raised."""
        nid = new_notification_id()
        raw = self._raise(kind=kind, case_id=case_id, timer=TIMERS[timer], now=now,
                          alert_id=uuid.uuid4().hex, notification_id=nid,
                          events_maxlen=self._events_maxlen, grace=grace)
        return nid if raw[0] == "raised" else None

    @translate_errors
    def open(self, limit: int = 200) -> list[dict[str, str]]:
        """Open alerts, newest first."""
        ids = self._r.zrevrange(self._keys.open_alerts, 0, limit - 1)
        pipe = self._r.pipeline(transaction=False)
        for alert_id in ids:
            pipe.hgetall(self._keys.alert(alert_id))
        return [a for a in pipe.execute() if a]

    @translate_errors
    def get(self, alert_id: str) -> dict[str, str] | None:
        data: dict[str, str] = self._r.hgetall(self._keys.alert(alert_id))
        return data or None

    @translate_errors
    def acknowledge(self, alert_id: str, *, by: str, now: float) -> bool:
        """Mark an alert handled by a named supervisor; False if it was not open."""
        pipe = self._r.pipeline(transaction=True)
        pipe.zrem(self._keys.open_alerts, alert_id)
        pipe.hset(self._keys.alert(alert_id), mapping={
            "status": "acknowledged", "acknowledged_by": by, "acknowledged_at": f"{now:.6f}"})
        pipe.xadd(self._keys.events, {"type": events.ALERT_ACKNOWLEDGED, "alert_id": alert_id,
                                      "by": by, "at": f"{now:.6f}"},
                  maxlen=self._events_maxlen, approximate=True)
        removed, *_ = pipe.execute()
        return bool(removed)
