"""The force the deployment serves: its districts, as the console and dashboard list them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import redis

from shared.store.base import Keys, translate_errors


class ForceRepository:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def save(self, code: str, name: str, timezone: str,
             districts: Mapping[str, str]) -> None:
        """Replace the stored force description in one transaction."""
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(self._keys.force, mapping={"code": code, "name": name, "timezone": timezone})
        pipe.delete(self._keys.districts)
        pipe.hset(self._keys.districts, mapping=cast("dict[str | bytes, str]", dict(districts)))
        pipe.execute()

    @translate_errors
    def districts(self) -> dict[str, str]:
        """District code -> name."""
        found: dict[str, str] = self._r.hgetall(self._keys.districts)
        return found
