"""Check my report: the plain fields a status look-up needs, found by reference."""

from __future__ import annotations

import redis

from shared.store.base import Keys, translate_errors

# What a look-up reads: the state, the HMAC of the check code, the next-update clock.
FIELDS = ("id", "state", "check_digest", "first_contact_at", "erased_at", "next_update_at")
_NOWHERE = "-"  # an id no case has: an unknown reference costs the same two reads


class StatusReads:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def lookup(self, reference: str) -> dict[str, str] | None:
        """The case's look-up fields by its reference, or None. An unknown reference makes
        the same two round trips as a known one (no faster "no such reference")."""
        case_id = self._r.get(self._keys.reference(reference))
        values = self._r.hmget(self._keys.case(case_id or _NOWHERE), FIELDS)
        if not case_id or values[0] is None:
            return None
        return {name: value or "" for name, value in zip(FIELDS, values, strict=True)}
