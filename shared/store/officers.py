"""Officers and staff in Redis: records, load, availability sets, rota timers, API tokens."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from shared.domain.officers import Availability, Officer, Role, Withdrawal, off_shift_reason
from shared.domain.routing import FORCE_WIDE
from shared.store.base import Keys, load_script, translate_errors

logger = logging.getLogger(__name__)
# What an officer id can look like (services/console/schemas.py OFFICER_ID): no ':', so
# `officer:{id}` can never name another key (`officer:{id}:cases`), whatever a caller passes.
_OFFICER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def officer_id_ok(officer_id: str) -> bool:
    return bool(_OFFICER_ID.match(officer_id))


LEGACY_FORCE_WIDE = "_all"  # the force-wide pool's name until issue 8 (`avail:_all`)


class OfficerHasCases(Exception):
    """An officer with open cases cannot be removed; reassign them first."""


@dataclass(frozen=True)
class OfficerChange:
    """What an officer change did to routing."""

    available: bool                   # they can be offered a case now
    withdrawn: tuple[str, ...] = ()   # their pending offers taken back: waiting, in the
                                      # outbox (due now), to be routed again


class OfficerRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._officer = load_script(client, "officer", keys)
        self._legacy_pool_retired = False

    def _apply(self, mode: str, officer_id: str, now: float | None,
               why_off: str = Withdrawal.SHIFT_ENDED, **config: Any) -> OfficerChange:
        """One atomic officer change (officer.lua); KeyError when there is no such officer.
        `why_off`: the reason given if it leaves them off shift (leave or shift end)."""
        if not officer_id_ok(officer_id):  # never run the script on another kind of key
            raise KeyError(officer_id)
        now = time.time() if now is None else now
        raw = self._officer(mode=mode, officer_id=officer_id, now=now,
                            off_shift_reason=str(why_off), **config)
        if raw[0] == "missing":
            raise KeyError(officer_id)
        return OfficerChange(available=raw[1] == "1", withdrawn=tuple(raw[2:]))

    @translate_errors
    def save(self, officer: Officer, *, on_shift: bool, next_change: float | None,
             now: float | None = None) -> OfficerChange:
        """Create or update an officer and place them in (or out of) availability sets;
        an officer who may no longer hold offers loses their pending ones (one script)."""
        at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        config: dict[str, Any] = {"fields": officer.fields(), "on_shift": on_shift,
                                  "supervisor": officer.role is Role.SUPERVISOR}
        if next_change is not None:
            config["next_change"] = next_change
        return self._apply("save", officer.id, now, off_shift_reason(officer.rota, at),
                           **config)

    @translate_errors
    def refresh(self, officer_id: str) -> bool:
        """Recompute availability-set membership (withdrawing pending offers of someone who
        may not hold them); True when the officer can take a case now."""
        try:
            return self._apply("refresh", officer_id, None).available
        except KeyError:
            return False

    @translate_errors
    def get(self, officer_id: str) -> Officer | None:
        if not officer_id_ok(officer_id):
            return None
        data: dict[str, str] = self._r.hgetall(self._keys.officer(officer_id))
        return Officer.from_fields(data) if data else None

    @translate_errors
    def raw(self, officer_id: str) -> dict[str, str]:
        """The stored hash, including on_shift, expiries and last_offer_at."""
        if not officer_id_ok(officer_id):
            return {}
        data: dict[str, str] = self._r.hgetall(self._keys.officer(officer_id))
        return data

    @translate_errors
    def all(self) -> list[Officer]:
        ids = sorted(self._r.smembers(self._keys.officers))
        pipe = self._r.pipeline(transaction=False)
        for officer_id in ids:
            pipe.hgetall(self._keys.officer(officer_id))
        return [Officer.from_fields(d) for d in pipe.execute() if d]

    @translate_errors
    def load(self, officer_id: str) -> int:
        """Open cases (offered, accepted or contacted) held by the officer."""
        return int(self._r.scard(self._keys.officer_cases(officer_id)))

    @translate_errors
    def cases(self, officer_id: str) -> list[str]:
        return sorted(self._r.smembers(self._keys.officer_cases(officer_id)))

    @translate_errors
    def set_status(self, officer_id: str, status: Availability, *,
                   now: float | None = None) -> OfficerChange:
        """Set availability (away and off duty withdraw pending offers, atomically);
        KeyError when there is no such officer."""
        return self._apply("status", officer_id, now, status=status.value)

    @translate_errors
    def set_on_shift(self, officer_id: str, on_shift: bool, next_change: float | None, *,
                     now: float | None = None,
                     why_off: str = Withdrawal.SHIFT_ENDED) -> OfficerChange:
        """Apply a rota change found by the sweeper (going off shift withdraws pending
        offers, atomically). A missing officer is dropped from the rota timer."""
        config: dict[str, Any] = {"on_shift": on_shift}
        if next_change is not None:
            config["next_change"] = next_change
        try:
            return self._apply("shift", officer_id, now, why_off, **config)
        except KeyError:
            return OfficerChange(available=False)

    @translate_errors
    def recheck(self, officer_id: str, at: float) -> None:
        """Have the sweeper look at this officer at `at` (rota state, waiting cases)."""
        self._r.zadd(self._keys.rota_changes, {officer_id: at})

    @translate_errors
    def rota_due(self, now: float, limit: int = 200) -> list[str]:
        """Officers whose rota changes now, or who asked to be looked at (`recheck`); on a
        process's first call also those still in the force-wide pool's old set."""
        if not self._legacy_pool_retired:
            self.retire_legacy_pool(now)
        ids: list[str] = self._r.zrangebyscore(self._keys.rota_changes, "-inf", now,
                                               start=0, num=limit)
        return ids

    @translate_errors
    def retire_legacy_pool(self, now: float) -> list[str]:
        """Move Redis data from before the force-wide pool was renamed (`avail:_all` ->
        `avail:force_wide`): everyone still in the old set is due for a recheck now, so the
        sweeper's rota pass puts them in the new set and offers them waiting work, as for
        any rota change; the old set goes. Idempotent; one read when there is nothing to
        move. Returns the officers rechecked."""
        legacy = self._keys.available(LEGACY_FORCE_WIDE)
        ids: list[str] = self._r.zrange(legacy, 0, -1)
        if ids:
            pipe = self._r.pipeline(transaction=True)
            pipe.zadd(self._keys.rota_changes, dict.fromkeys(ids, now))
            pipe.delete(legacy)
            pipe.execute()
            logger.info("force-wide pool renamed: officers rechecked", extra={"count": len(ids)})
        self._legacy_pool_retired = True
        return ids

    @translate_errors
    def remove(self, officer_id: str) -> None:
        """Delete an officer who holds no open cases."""
        if self.load(officer_id):
            raise OfficerHasCases(f"officer {officer_id} still holds open cases")
        k = self._keys
        officer = self.get(officer_id)
        token_digest = self._r.hget(k.officer(officer_id), "token_digest")
        pipe = self._r.pipeline(transaction=True)
        for district in (officer.districts if officer else ()) + (FORCE_WIDE,):
            pipe.zrem(k.available(district), officer_id)
            pipe.zrem(k.staffed(district), officer_id)
        if token_digest:  # revoked: it would work again for someone re-added with this id
            pipe.delete(k.token(str(token_digest)))
        pipe.delete(k.officer(officer_id), k.officer_cases(officer_id))
        pipe.srem(k.officers, officer_id)
        pipe.srem(k.supervisors, officer_id)
        pipe.zrem(k.rota_changes, officer_id)
        pipe.execute()

    @translate_errors
    def available_in(self, district: str) -> list[str]:
        """Officers who could be offered a case in the district now, best first; FORCE_WIDE:
        anywhere."""
        ids: list[str] = self._r.zrange(self._keys.available(district), 0, -1)
        return ids

    # API tokens (issue 3: token auth for the console JSON API)
    @translate_errors
    def issue_token(self, officer_id: str) -> str:
        """A new API token for the officer (only its hash is stored); replaces the old one."""
        token = "lt_" + secrets.token_urlsafe(32)
        k = self._keys
        old = self._r.hget(k.officer(officer_id), "token_digest")
        pipe = self._r.pipeline(transaction=True)
        if old:
            pipe.delete(k.token(str(old)))
        digest = _digest(token)
        pipe.set(k.token(digest), officer_id)
        pipe.hset(k.officer(officer_id), "token_digest", digest)
        pipe.execute()
        return token

    @translate_errors
    def officer_for_token(self, token: str) -> str | None:
        value: str | None = self._r.get(self._keys.token(_digest(token)))
        return value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

