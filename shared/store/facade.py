"""`Store`: the repositories over one Redis connection."""

from __future__ import annotations

import redis

from shared.store.base import Keys, translate_errors
from shared.store.cases import CaseRepository
from shared.store.force import ForceRepository


class Store:
    """Everything the services keep in Redis, by aggregate."""

    def __init__(self, client: redis.Redis, *, prefix: str = "liaison:",
                 events_maxlen: int = 100_000) -> None:
        self.redis = client
        self.keys = Keys(prefix)
        self.cases = CaseRepository(client, self.keys, events_maxlen=events_maxlen)
        self.force = ForceRepository(client, self.keys)

    @translate_errors
    def ping(self) -> bool:
        """True when Redis answers (raises StoreUnavailable when it does not)."""
        return bool(self.redis.ping())
