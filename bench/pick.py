"""4. The cost of one pick (`store.routing.assign`) with 10, 1,000 and 10,000 officers.

A real redis-server; officers saved with `store.officers.save`, all in one district and
with capacity to spare, so every pick finds someone and the loads keep changing as cases
land. Each pick is a fresh case; only the `assign` call is timed. Redis's own command
counts (INFO commandstats) show how much of the pool each pick reads.
"""

from __future__ import annotations

import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import Options, Outcome, log, real_redis, summarise
from shared.config import Settings
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.domain.routing import pools_for, routable_states
from shared.geography import load_force
from shared.store import Store, redis_client
from tests.support.world import World

SIZES = (10, 1_000, 10_000)
DISTRICT = "watford"
TARGET_RATIO = 1.5
COUNTED = ("zrange", "sismember", "hget", "hgetall", "evalsha")


def run(options: Options) -> Outcome:
    picks = options.pick(2000, 300)
    warm = options.pick(200, 50)
    by_size: dict[int, dict[str, Any]] = {}
    with real_redis("pick") as server:
        settings = Settings.for_tests()
        client = redis_client(server.url)
        for size in SIZES:
            client.flushall()
            store = Store(client, prefix=settings.key_prefix)
            started = time.perf_counter()
            _officers(store, size, capacity=picks + warm + 10)
            setup = time.perf_counter() - started
            by_size[size] = _measure(store, settings, picks, warm) | {
                "officers": size, "setup_s": round(setup, 1)}
            log("pick: %d officers: median %.0f µs per pick (setup %.1f s)", size,
                by_size[size]["median_us"], setup)
    return _outcome(picks, warm, by_size)


def _officers(store: Store, size: int, capacity: int) -> None:
    """Save `size` officers, a few at a time (each save is a few Redis round trips)."""

    def save(i: int) -> None:
        store.officers.save(Officer(id=f"o{i:05}", name=f"Officer {i}", districts=(DISTRICT,),
                                    capacity=capacity, rota=always_on()),
                            on_shift=True, next_change=None)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(save, range(size)))


def _measure(store: Store, settings: Settings, picks: int, warm: int) -> dict[str, Any]:
    """Time `assign` for fresh cases; the first `warm` picks are not counted."""
    world = World(store, settings=settings)
    ids = [world.case(DISTRICT) for _ in range(picks + warm)]
    pools = pools_for(DISTRICT, load_force().neighbours)
    timeouts = {p: settings.offer_timeout(p) for p in (1, 2, 3, 4)}
    states = routable_states()
    times: list[float] = []
    stats_before: dict[str, int] = {}
    for n, case_id in enumerate(ids):
        if n == warm:
            stats_before = _calls(store)
        start = time.perf_counter()
        result = store.routing.assign(case_id, now=time.time(), pools=pools,
                                      timeouts=timeouts, from_states=states,
                                      grace=settings.outbox_grace_seconds,
                                      alert_id=uuid.uuid4().hex)
        elapsed = time.perf_counter() - start
        if result.outcome != "offered":
            raise RuntimeError(f"pick {n} was {result.outcome}, not offered")
        if n >= warm:
            times.append(elapsed)
    after = _calls(store)
    per_pick = {name: round((after.get(name, 0) - stats_before.get(name, 0)) / picks, 1)
                for name in COUNTED}
    server_us = after.get("evalsha_usec", 0) - stats_before.get("evalsha_usec", 0)
    return {"picks": picks, "median_us": round(statistics.median(times) * 1e6, 1),
            "latency": summarise(times, unit="us"),
            "redis_script_us_per_pick": round(server_us / picks, 1),
            "redis_calls_per_pick": per_pick}


def _calls(store: Store) -> dict[str, int]:
    stats = store.redis.info("commandstats")
    out = {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in COUNTED}
    out["evalsha_usec"] = int(stats.get("cmdstat_evalsha", {}).get("usec", 0))
    return out


def _outcome(picks: int, warm: int, by_size: dict[int, dict[str, Any]]) -> Outcome:
    small, large = by_size[SIZES[0]], by_size[SIZES[-1]]
    ratio = round(large["median_us"] / small["median_us"], 2)
    met = ratio <= TARGET_RATIO
    measured = " / ".join(f"{by_size[s]['median_us']:.0f}" for s in SIZES)
    limits = []
    if not met:
        reads = large["redis_calls_per_pick"]
        limits.append(
            f"At {SIZES[-1]:,} officers each pick reads {reads['sismember']:.0f} officers "
            f"(SISMEMBER + HGET each, {reads['zrange']:.0f} ZRANGE pages) against "
            f"{small['redis_calls_per_pick']['sismember']:.0f} at {SIZES[0]}: route.lua's "
            "best_in_pool reads every officer in the lowest load tier (up to 20 pages of 50) "
            "to compare preferred skills, even when the case prefers none.")
    return Outcome(
        name="pick", title="Cost of one pick, 10 / 1,000 / 10,000 officers in a district",
        measured=f"{measured} µs (median)", baseline=f"{small['median_us']:.0f} µs at "
        f"{SIZES[0]} officers", ratio=ratio,
        target=f"{SIZES[-1]:,} ≤ {TARGET_RATIO}× {SIZES[0]}", met=met,
        parameters={"sizes": list(SIZES), "picks_per_size": picks, "warmup_picks": warm,
                    "district": DISTRICT, "officer_capacity": "picks + warm-up + 10 (never "
                    "full)", "timed": "store.routing.assign only, client side",
                    "cases": "fresh, no skills required or preferred"},
        results={str(size): data for size, data in by_size.items()},
        limits=limits,
    )
