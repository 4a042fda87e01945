"""The lightest pipeline, for the end-to-end throughput baseline: two Celery tasks.

    celery -A bench.baseline_pipeline worker -Q bench.route -c 2    (the router's place)
    celery -A bench.baseline_pipeline worker -Q bench.notify -c 2   (the notifier's place)

`bench.baseline_app`'s POST /report writes the body to Redis and sends `bench.pipe.route`;
that task runs one Lua pick (least-loaded member of a sorted set, noting when) and sends
`bench.pipe.deliver`, which writes a timestamp. Same broker settings as the services
(`make_celery`), same worker counts, nothing else.
"""

from __future__ import annotations

import time
from functools import cache

import redis

from shared.config import Settings
from shared.messaging import make_celery
from shared.store import redis_client

ROUTE, DELIVER = "bench.pipe.route", "bench.pipe.deliver"
ROUTE_QUEUE, NOTIFY_QUEUE = "bench.route", "bench.notify"
CASE_KEY = "bench:pipe:case:"        # + id: the one write at intake
PICKERS_KEY = "bench:pipe:pickers"   # sorted set the Lua pick takes the least loaded from
ROUTED_KEY = "bench:pipe:routed"     # id -> time the pick ran
DONE_KEY = "bench:pipe:done"         # id -> time the last task ran ("delivered")

PICK = """
local picked = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not picked then return false end
redis.call('ZINCRBY', KEYS[1], 1, picked)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return picked
"""

settings = Settings.from_env()
celery_app = make_celery("bench-baseline-pipeline", settings)


@cache
def _client() -> redis.Redis:
    """One connection per worker process, made on first use (never at import)."""
    return redis_client(settings.redis_url)


@cache
def _pick() -> redis.commands.core.Script:
    return _client().register_script(PICK)


@celery_app.task(name=ROUTE, acks_late=True, ignore_result=True)
def route(case_id: str) -> None:
    """One Lua pick, then the delivery task."""
    picked = _pick()(keys=[PICKERS_KEY, ROUTED_KEY], args=[case_id, repr(time.time())])
    celery_app.send_task(DELIVER, args=[case_id, str(picked or "")],
                         queue=NOTIFY_QUEUE)


@celery_app.task(name=DELIVER, acks_late=True, ignore_result=True)
def deliver(case_id: str, picked: str) -> None:
    """Note when the case got here."""
    _client().hset(DONE_KEY, case_id, repr(time.time()))
