"""5. The sweeper's ring pass: its cost follows the cases due, not the cases waiting.

A real redis-server holds two queues side by side (one key prefix each): 250 and 10,000
waiting Watford cases, received a second apart, each held in its district ring because
the one Watford officer is busy (so each is on the `ring:due` timer at its neighbours
ring's time). A pass is the sweeper's `_open_rings` at a clock where the next 10 cases of
the queue are due: each is routed again (the neighbours ring has nobody staffed, so it
goes force-wide and waits there, off the timer). The two sizes take turns pass by pass;
then a pass with nothing due, and Redis's INFO commandstats for what one pass reads.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from bench.common import Options, Outcome, log, real_redis, summarise
from services.router.sweeper import SweepReport, _open_rings
from shared.config import Settings
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.store import Store, redis_client
from tests.support.world import Clock, World

SIZES = (250, 10_000)
DUE_PER_PASS = 10
TARGET_RATIO = 1.2
T0 = 1_790_000_000.0
COUNTED = ("zrangebyscore", "evalsha", "hgetall", "zadd", "zrem")


@dataclass
class Queue:
    """`size` waiting cases under their own prefix; `done` of them already widened."""

    size: int
    world: World
    opens: list[float]
    done: int = 0
    times: list[float] = field(default_factory=list)


def run(options: Options) -> Outcome:
    passes = options.pick(20, 8)
    settings = Settings.for_tests()
    with real_redis("rings") as server:
        client = redis_client(server.url)
        queues = []
        for size in SIZES:
            started = time.perf_counter()
            queues.append(_queue(client, settings, size))
            log("rings: %d waiting cases held in %.1f s", size, time.perf_counter() - started)
        _pass(queues[0])  # warm: scripts loaded, code paths imported
        _pass(queues[1])
        for _ in range(passes):  # sizes take turns
            for queue in queues:
                queue.times.append(_pass(queue))
        by_size = {q.size: _summary(q) for q in queues}
        for size, data in by_size.items():
            log("rings: %d waiting: median %.0f µs per pass of %d due", size,
                data["median_us"], DUE_PER_PASS)
    return _outcome(passes, by_size)


def _queue(client: redis.Redis, settings: Settings, size: int) -> Queue:
    store = Store(client, prefix=f"rings{size}:")
    world = World(store, settings=settings, clock=Clock(T0))
    store.officers.save(Officer(id="w", name="W", districts=("watford",), capacity=1,
                                rota=always_on()), on_shift=True, next_change=None, now=T0)
    first = world.case("watford")
    assert world.route(first).officer_id == "w"  # Watford is busy from now on
    opens = []
    for _ in range(size):
        world.clock.advance(1)
        case_id = world.case("watford")
        if world.route(case_id).outcome != "waiting":
            raise RuntimeError("a case was not held in its district ring")
        score = store.redis.zscore(store.keys.ring_due, case_id)
        if score is None:
            raise RuntimeError("a held case is not on the ring timer")
        opens.append(float(score))
    return Queue(size, world, opens)


def _pass(queue: Queue, due: int = DUE_PER_PASS) -> float:
    """One ring pass with the next `due` cases due; seconds (client side)."""
    now = queue.opens[queue.done + due - 1] if due else queue.opens[queue.done] - 1
    queue.world.clock.now = now  # the sweeper's clock: the router reads the same one
    report = SweepReport()
    deps = queue.world.deps
    start = time.perf_counter()
    _open_rings(deps, now, report)
    elapsed = time.perf_counter() - start
    if len(report.rings_opened) != due:
        raise RuntimeError(f"{len(report.rings_opened)} cases widened, not {due}")
    queue.done += due
    return elapsed


def _summary(queue: Queue) -> dict[str, Any]:
    store = queue.world.store
    before = _calls(store)
    _pass(queue)
    after = _calls(store)
    idle_start = time.perf_counter()
    _pass(queue, due=0)
    idle = time.perf_counter() - idle_start
    return {"waiting_cases": queue.size, "passes": len(queue.times),
            "due_per_pass": DUE_PER_PASS,
            "median_us": round(statistics.median(queue.times) * 1e6, 1),
            "latency": summarise(queue.times, unit="us"),
            "nothing_due_us": round(idle * 1e6, 1),
            "on_timer_after": int(store.redis.zcard(store.keys.ring_due)),
            "redis_calls_per_pass": {n: after[n] - before[n] for n in COUNTED}}


def _calls(store: Store) -> dict[str, int]:
    stats = store.redis.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in COUNTED}


def _outcome(passes: int, by_size: dict[int, dict[str, Any]]) -> Outcome:
    small, large = by_size[SIZES[0]], by_size[SIZES[-1]]
    ratio = round(large["median_us"] / small["median_us"], 2)
    met = ratio <= TARGET_RATIO
    return Outcome(
        name="rings", title="The sweeper's ring pass, 10 cases due among 250 / 10,000 waiting",
        measured=f"{small['median_us']:.0f} / {large['median_us']:.0f} µs per pass (median)",
        baseline=f"{small['median_us']:.0f} µs with {SIZES[0]} waiting", ratio=ratio,
        target=f"{SIZES[-1]:,} waiting ≤ {TARGET_RATIO}× {SIZES[0]}", met=met,
        parameters={"sizes": list(SIZES), "passes_per_size": passes,
                    "due_per_pass": DUE_PER_PASS, "district": "watford",
                    "timed": "services.router.sweeper._open_rings only, client side, "
                             "sizes in turn",
                    "cases": "standard priority, held in the district ring (its officer "
                             "busy), neighbours unstaffed"},
        results={str(size): data for size, data in by_size.items()},
        limits=[] if met else [
            f"A pass with {DUE_PER_PASS} due took {ratio}× longer among {SIZES[-1]:,} waiting "
            f"cases; Redis calls per pass: {large['redis_calls_per_pass']} against "
            f"{small['redis_calls_per_pass']}."],
    )
