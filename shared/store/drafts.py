"""Drafts of a stepped public form: one sealed token per random draft id, with a TTL.

The store never sees the answers: the intake seals them before `save` and unseals after
`load`. A draft lives LIAISON_DRAFT_TTL seconds from its last save, then Redis drops it.
"""

from __future__ import annotations

import redis

from shared.store.base import Keys, translate_errors


class DraftRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    def _key(self, draft_id: str) -> str:
        return f"{self._keys.prefix}draft:{draft_id}"

    @translate_errors
    def save(self, draft_id: str, sealed: str, ttl_seconds: int) -> None:
        """Keep the sealed answers for `ttl_seconds` from now (each save restarts the clock)."""
        self._r.set(self._key(draft_id), sealed, ex=ttl_seconds)

    @translate_errors
    def load(self, draft_id: str) -> str | None:
        value = self._r.get(self._key(draft_id))
        return value.decode() if isinstance(value, bytes) else value

    @translate_errors
    def ttl(self, draft_id: str) -> int:
        """Seconds left (negative when there is no such draft), for tests and operators."""
        return int(self._r.ttl(self._key(draft_id)))

    @translate_errors
    def delete(self, draft_id: str) -> None:
        self._r.delete(self._key(draft_id))
