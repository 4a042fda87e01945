"""Partner API keys (third-party reporting centres): issued once, kept only as hashes.

`partner:{name}` hash (name, key digest, created_at, revoked_at), `partners` set of names,
`partner_key:{digest}` → name while the key is live. As staff API tokens are kept
(`store.officers.issue_token`): a SHA-256 of a 256-bit random key, never the key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import redis

from shared.domain.partners import KEY_PREFIX, MAX_KEY_LENGTH
from shared.store.base import Keys, translate_errors


@dataclass(frozen=True)
class Partner:
    name: str
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class PartnerExists(Exception):
    """The partner already has a live key (revoke it first)."""


class PartnerRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    def _partner(self, name: str) -> str:
        return f"{self._keys.prefix}partner:{name}"

    def _key(self, digest: str) -> str:
        return f"{self._keys.prefix}partner_key:{digest}"

    @property
    def _all(self) -> str:
        return f"{self._keys.prefix}partners"

    @translate_errors
    def issue(self, name: str, *, now: float) -> str:
        """A new key for `name` (a new partner, or one whose key was revoked); only its
        hash is stored. PartnerExists while the partner has a live key."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = _digest(key)
        with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(self._partner(name))
                    if pipe.hget(self._partner(name), "key_digest"):
                        raise PartnerExists(name)
                    pipe.multi()
                    pipe.delete(self._partner(name))
                    pipe.hset(self._partner(name), mapping={
                        "name": name, "key_digest": digest, "created_at": f"{now:.6f}"})
                    pipe.sadd(self._all, name)
                    pipe.set(self._key(digest), name)
                    pipe.execute()
                    return key
                except redis.WatchError:
                    continue

    @translate_errors
    def revoke(self, name: str, *, now: float) -> bool:
        """End the partner's key at once; False if it has no live key."""
        digest = self._r.hget(self._partner(name), "key_digest")
        if not digest:
            return False
        with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(str(digest)))
            pipe.hdel(self._partner(name), "key_digest")
            pipe.hset(self._partner(name), "revoked_at", f"{now:.6f}")
            pipe.execute()
        return True

    @translate_errors
    def all(self) -> list[Partner]:
        """Every partner ever issued a key, by name."""
        found = []
        for name in sorted(self._r.smembers(self._all)):
            fields = self._r.hgetall(self._partner(name))
            if not fields:
                continue
            revoked = None if fields.get("key_digest") else \
                float(fields.get("revoked_at") or 0)
            found.append(Partner(name, float(fields.get("created_at") or 0), revoked))
        return found

    @translate_errors
    def name_for_key(self, key: str) -> str | None:
        """The partner whose live key this is, else None (unknown, revoked, malformed)."""
        if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
            return None
        digest = _digest(key)
        name = self._r.get(self._key(digest))
        if not name:
            return None
        live = self._r.hget(self._partner(str(name)), "key_digest")
        return str(name) if live == digest else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
