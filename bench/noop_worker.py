"""The router's Celery app plus one no-op task, for the routing throughput baseline.

    celery -A bench.noop_worker worker -Q route -c 1

The same worker process runs both `router.assign_case` (the router's own tasks come in
through `celery_app.conf.imports`) and `bench.noop`, which only counts itself in Redis, so
the two rates differ by the routing work alone.
"""

from __future__ import annotations

from functools import cache

import redis

from services.router.celery_app import celery_app, settings
from shared.store import redis_client

NOOP = "bench.noop"
DONE_KEY = "bench:noop:done"


@cache
def _client() -> redis.Redis:
    """One connection per worker process, made on first use (never at import)."""
    return redis_client(settings.redis_url)


@celery_app.task(name=NOOP, acks_late=True, ignore_result=True)
def noop(seq: str) -> None:
    """Do nothing but count the completion."""
    _client().incr(DONE_KEY)
