"""How much work waits in each Celery queue? Depths read from the broker's Redis.

Kombu keeps each queue as a list named exactly like the queue (no key prefix), messages sent
with a priority in lists named `<queue>\\x06\\x16<n>`, and messages taken by a worker but not
yet acknowledged in the `unacked` hash — one hash for every queue, each value the JSON
`[message, exchange, routing_key]`; our queues are bound with routing key = queue name
(Celery's default, and the router's message intake pushes itself), so the routing key says
whose it is. The queue names are the contract's (`shared.messaging`); the broker may be
another Redis than the store's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from urllib.parse import urlparse

import redis

from shared.config import Settings
from shared.store.base import redis_client, translate_errors

KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)  # step 0 is the plain list
KOMBU_UNACKED = "unacked"
# Unacked messages read to tell whose they are. With acks late and a prefetch of 1 there is
# about one per busy worker process; thousands would mean something else is wrong.
MAX_UNACKED = 1000


@dataclass
class QueueDepths:
    """Messages per queue: `ready` (waiting for a worker) and `unacked` (taken, not done)."""

    ready: dict[str, int] = field(default_factory=dict)
    unacked: dict[str, int] = field(default_factory=dict)
    unacked_total: int = 0            # the whole hash, whatever the queue
    truncated: bool = False           # more unacked messages than were read to attribute


class BrokerQueues:
    """Celery's queue depths (LLEN and HLEN: cheap; HSCAN of the few unacked messages)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    @translate_errors
    def depths(self, queues: Sequence[str]) -> dict[str, int]:
        """Messages waiting in each queue, and `unacked`: taken by a worker, not yet done."""
        found = self._ready(queues)
        found["unacked"] = int(self._r.hlen(KOMBU_UNACKED))
        return found

    @translate_errors
    def read(self, queues: Sequence[str]) -> QueueDepths:
        """Ready and unacked messages of each queue (unacked by its routing key; at most
        `MAX_UNACKED` are looked at, then `truncated`)."""
        depths = QueueDepths(ready=self._ready(queues), unacked=dict.fromkeys(queues, 0))
        depths.unacked_total = int(self._r.hlen(KOMBU_UNACKED))
        if depths.unacked_total:
            seen = 0
            for _, raw in islice(self._r.hscan_iter(KOMBU_UNACKED, count=500), MAX_UNACKED):
                seen += 1
                queue = _routing_key(raw)
                if queue in depths.unacked:
                    depths.unacked[queue] += 1
            depths.truncated = seen < depths.unacked_total
        return depths

    def _ready(self, queues: Sequence[str]) -> dict[str, int]:
        pipe = self._r.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
            for step in KOMBU_PRIORITY_STEPS:
                pipe.llen(f"{queue}{KOMBU_PRIORITY_SEP}{step}")
        raw = pipe.execute()
        width = 1 + len(KOMBU_PRIORITY_STEPS)
        return {queue: sum(int(n) for n in raw[i * width:(i + 1) * width])
                for i, queue in enumerate(queues)}


def _routing_key(raw: str | bytes) -> str:
    """The routing key of an unacked entry (`[message, exchange, routing_key]`), or ""."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return ""
    if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str):
        return entry[2]
    return ""


def broker_client(settings: Settings, store_client: redis.Redis) -> redis.Redis | None:
    """The broker's Redis: the store's own client when the broker is the store's Redis, a
    client of its own when it is another, None when the broker is not Redis."""
    if settings.broker_is_store:  # the same URL, or the same Sentinels and master
        return store_client
    if urlparse(settings.broker).scheme not in ("redis", "rediss"):
        return None
    return redis_client(settings.broker)
