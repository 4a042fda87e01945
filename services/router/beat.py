"""Exactly one beat: a leader lease in Redis (`<prefix>lock:beat:leader`).

`LeaderScheduler` is beat's scheduler (`beat_scheduler` in celery_app.py). Before sending
anything it takes, or renews, a lease in Redis holding `<host>:<pid>:<random>`. A beat that
finds the lease held by another sends nothing: it logs a WARNING ("another beat is
running") when it starts standing by, keeps ticking (so its health check still passes), and
tries again every few seconds. The leader renews the lease on every tick, at least every
third of the lease; it gives the lease up when it stops (SIGTERM), so a standby takes over
at once; if it dies (SIGKILL, a lost machine), the lease runs out and a standby takes over
within LEASE seconds. A beat that cannot reach Redis, or finds its lease taken, stops
sending at once.

Without this, two beats would each send every periodic task (there is one: the sweep).
That is still safe, only wasteful: a sweep takes its own Redis lock (tasks.py), so two never
run at the same time, and a sweep only acts on timers that are due, so a second one just
after the first finds nothing to do. The lease makes the doubled messages not happen.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from functools import cached_property
from typing import Any

import redis
from celery.beat import PersistentScheduler

from shared.bootstrap import make_store
from shared.config import Settings
from shared.store import Store, StoreUnavailable

logger = logging.getLogger("liaison.beat")
LOCK_NAME = "lock:beat:leader"
MIN_LEASE = 10.0

# KEYS[1] lease, ARGV[1] our token, ARGV[2] lease ms -> 1 leader, 0 standby.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_seconds(settings: Settings) -> float:
    """How long a lease lasts unrenewed: how soon a standby takes over from a dead leader."""
    return max(MIN_LEASE, 3.0 * settings.sweep_interval_seconds)


class LeaderScheduler(PersistentScheduler):
    """celery beat's PersistentScheduler that sends only while it holds the leader lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        self.standing_by_for: str | None = None
        super().__init__(*args, **kwargs)

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @cached_property
    def store(self) -> Store:
        return make_store(self.settings)

    @property
    def lease(self) -> float:
        return lease_seconds(self.settings)

    @property
    def key(self) -> str:
        return self.store.keys.prefix + LOCK_NAME

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold_lease():
            return self.lease / 3
        return float(min(super().tick(*args, **kwargs), self.lease / 3))

    def _hold_lease(self) -> bool:
        """Take or renew the lease; log each change of role once."""
        try:
            held = bool(self.store.redis.eval(_ACQUIRE, 1, self.key, self.token,
                                              int(self.lease * 1000)))
            holder = None if held else self.store.redis.get(self.key)
        except (redis.RedisError, StoreUnavailable) as exc:
            if self.leading:
                logger.error("beat: cannot renew the leader lease (%s): sending nothing "
                             "until Redis answers", exc)
            self.leading = False
            return False
        if held and not self.leading:
            log = logger.warning if self.standing_by_for else logger.info
            log("beat: this beat (%s) %s the leader and sends the periodic tasks (lease "
                "%.0f s)", self.token, "took over as" if self.standing_by_for else "is",
                self.lease)
            self.standing_by_for = None
        elif not held and holder != self.standing_by_for:
            logger.warning("beat: another beat is running (%s): this one (%s) sends nothing "
                           "and takes over within %.0f s if that one stops. Run exactly "
                           "one beat.", holder, self.token, self.lease)
            self.standing_by_for = holder
        self.leading = held
        return held

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.leading:
                try:
                    self.store.redis.eval(_RELEASE, 1, self.key, self.token)
                    logger.info("beat: leader lease released")
                except (redis.RedisError, StoreUnavailable):
                    pass  # it runs out by itself
                self.leading = False
