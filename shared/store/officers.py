"""Officers and staff in Redis: records, load, availability sets, rota timers, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import cast

import redis

from shared.domain.officers import Availability, Officer, Role
from shared.store.base import Keys, load_script, translate_errors


class OfficerHasCases(Exception):
    """An officer with open cases cannot be removed; reassign them first."""


class OfficerRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._route = load_script(client, "route")

    @translate_errors
    def save(self, officer: Officer, *, on_shift: bool, next_change: float | None) -> None:
        """Create or update an officer and place them in (or out of) availability sets."""
        k = self._keys
        old = self._r.hget(k.officer(officer.id), "districts") or ""
        pipe = self._r.pipeline(transaction=True)
        for district in filter(None, str(old).split(",")):  # districts may have changed
            pipe.zrem(k.available(district), officer.id)
        fields = officer.fields() | {"on_shift": "1" if on_shift else "0"}
        pipe.hset(k.officer(officer.id), mapping=cast("dict[str | bytes, str]", fields))
        pipe.sadd(k.officers, officer.id)
        if officer.role is Role.SUPERVISOR:
            pipe.sadd(k.supervisors, officer.id)
        else:
            pipe.srem(k.supervisors, officer.id)
        if next_change is None:
            pipe.zrem(k.rota_changes, officer.id)
        else:
            pipe.zadd(k.rota_changes, {officer.id: next_change})
        pipe.execute()
        self.refresh(officer.id)

    @translate_errors
    def refresh(self, officer_id: str) -> bool:
        """Recompute availability-set membership; True when the officer can take a case now."""
        result = self._route(args=[self._keys.prefix, "refresh", officer_id, "0", "{}"])
        return bool(result[1] == "1")

    @translate_errors
    def get(self, officer_id: str) -> Officer | None:
        data: dict[str, str] = self._r.hgetall(self._keys.officer(officer_id))
        return Officer.from_fields(data) if data else None

    @translate_errors
    def raw(self, officer_id: str) -> dict[str, str]:
        """The stored hash, including on_shift, expiries and last_offer_at."""
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
    def set_status(self, officer_id: str, status: Availability) -> bool:
        """Set availability; True when the officer can now take a case."""
        if not self._r.exists(self._keys.officer(officer_id)):
            raise KeyError(officer_id)
        self._r.hset(self._keys.officer(officer_id),
                     mapping={"status": status.value, "expiries": "0"})
        return self.refresh(officer_id)

    @translate_errors
    def set_on_shift(self, officer_id: str, on_shift: bool, next_change: float | None) -> bool:
        """Apply a rota change found by the sweeper; True when now available for cases."""
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self._keys.officer(officer_id), "on_shift", "1" if on_shift else "0")
        if next_change is None:
            pipe.zrem(self._keys.rota_changes, officer_id)
        else:
            pipe.zadd(self._keys.rota_changes, {officer_id: next_change})
        pipe.execute()
        return self.refresh(officer_id)

    @translate_errors
    def recheck(self, officer_id: str, at: float) -> None:
        """Have the sweeper look at this officer at `at` (rota state, waiting cases)."""
        self._r.zadd(self._keys.rota_changes, {officer_id: at})

    @translate_errors
    def rota_due(self, now: float, limit: int = 200) -> list[str]:
        ids: list[str] = self._r.zrangebyscore(self._keys.rota_changes, "-inf", now,
                                               start=0, num=limit)
        return ids

    @translate_errors
    def remove(self, officer_id: str) -> None:
        """Delete an officer who holds no open cases."""
        if self.load(officer_id):
            raise OfficerHasCases(f"officer {officer_id} still holds open cases")
        k = self._keys
        officer = self.get(officer_id)
        pipe = self._r.pipeline(transaction=True)
        for district in (officer.districts if officer else ()) + ("_all",):
            pipe.zrem(k.available(district), officer_id)
        pipe.delete(k.officer(officer_id), k.officer_cases(officer_id))
        pipe.srem(k.officers, officer_id)
        pipe.srem(k.supervisors, officer_id)
        pipe.zrem(k.rota_changes, officer_id)
        pipe.execute()

    @translate_errors
    def available_in(self, district: str) -> list[str]:
        """Officers who could be offered a case in the district now, best first."""
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

