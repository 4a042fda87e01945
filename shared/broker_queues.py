"""How much work waits in each Celery queue? Depths read from the broker's Redis.

Kombu keeps each queue as a list named exactly like the queue (no key prefix), messages sent
with a priority in lists named `<queue>\\x06\\x16<n>`, and messages taken by a worker but not
yet acknowledged in the `unacked` hash. The queue names are the contract's
(`shared.messaging`); the broker may be another Redis than the store's.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from shared.store.base import translate_errors

KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)  # step 0 is the plain list
KOMBU_UNACKED = "unacked"


class BrokerQueues:
    """Celery's queue depths (LLEN and HLEN: cheap)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    @translate_errors
    def depths(self, queues: Sequence[str]) -> dict[str, int]:
        """Messages waiting in each queue, and `unacked`: taken by a worker, not yet done."""
        pipe = self._r.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
            for step in KOMBU_PRIORITY_STEPS:
                pipe.llen(f"{queue}{KOMBU_PRIORITY_SEP}{step}")
        pipe.hlen(KOMBU_UNACKED)
        raw = pipe.execute()
        width = 1 + len(KOMBU_PRIORITY_STEPS)
        found = {queue: sum(int(n) for n in raw[i * width:(i + 1) * width])
                 for i, queue in enumerate(queues)}
        found["unacked"] = int(raw[-1])
        return found
