"""The benchmarks' summaries from made-up measurements (no processes, no Redis): scaling,
durability, the rate-limit strategies' note, the table; and intake's limiter strategy."""

from __future__ import annotations

import os
from typing import Any

from limits.strategies import FixedWindowRateLimiter

from bench import durability, intake, report, scaling
from bench.__main__ import BENCHMARKS, DEFAULT
from bench.common import Options
from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.store import Store
from tests.fakes import FakePublisher


def _level(c: int, noop: float, router: float, notifier: float) -> dict[str, Any]:
    def rate(per_s: float) -> dict[str, Any]:
        return {"messages": 100, "seconds": 100 / per_s, "per_s": per_s}
    return {"processes": c, "noop": rate(noop), "router": rate(router),
            "notifier": rate(notifier)}


def test_scaling_compares_each_speed_up_with_the_noops_and_states_the_cores():
    levels = [_level(1, 400, 200, 100), _level(2, 600, 280, 190), _level(4, 560, 300, 200)]
    out = scaling._outcome(Options(), 100, 1, levels, 12.0)
    speed = out.results["speedup"]
    assert speed == {"noop": 1.5, "router": 1.5, "notifier": 2.0}
    assert out.ratio == 1.0 and out.met  # the lower share: router's 1.5 / 1.5
    assert out.parameters["cpu_count"] == os.cpu_count()
    assert out.results["summary"]["cpu_count"] == os.cpu_count()
    assert "200 / 280 / 300" in out.measured and "400 / 600 / 560" in out.baseline


def test_scaling_misses_when_a_service_gains_less_than_celery_itself():
    levels = [_level(1, 400, 200, 100), _level(2, 800, 220, 200), _level(4, 800, 230, 200)]
    out = scaling._outcome(Options(), 100, 1, levels, 12.0)
    assert out.ratio == round(1.15 / 2.0, 2) and not out.met


def _mode(held: float, p50: float, p99: float) -> dict[str, Any]:
    return {"held_rate": held, "steps": [], "best_step": None,
            "at_50": {"held": held >= 50, "delivered_latency": {"p50_ms": p50,
                                                                 "p99_ms": p99}}}


def test_durability_gives_each_mode_as_ratios_of_async_without_a_target():
    found = {"async": _mode(100, 10, 40), "fsync": _mode(35, 500, 2000),
             "replicated": _mode(75, 15, 60)}
    out = durability._outcome(10.0, durability.RATES, found, 200.0)
    by_mode = out.results["summary"]["by_mode"]
    assert by_mode["fsync"]["rate_ratio"] == 0.35 and by_mode["fsync"]["p99_ratio"] == 50
    assert by_mode["replicated"]["rate_ratio"] == 0.75
    assert by_mode["replicated"]["p50_ratio"] == 1.5
    assert out.ratio == 0.35
    assert out.parameters["hold_s"] == 10.0 and "shorter" in out.parameters["hold_note"]
    table = report.table([out.as_dict(Options(), 0.0)])
    assert table.splitlines()[2].endswith("| — |")  # no target: neither yes nor no


def test_the_rate_limit_note_names_every_strategy_and_the_one_in_use():
    found = {"in_use": "fixed-window", "ms_per_request": {
        name: {"total_cpu_ms": 3.0, "limiter_cpu_ms": 0.5} for name in
        ("sliding-window-counter", "fixed-window", "moving-window", "off")}}
    note = intake._strategies_note(found)
    assert "sliding-window-counter 3.0 ms" in note and "in use: fixed-window" in note
    found["isolated"] = {"ms_per_request": {"fixed-window": {
        "client_cpu_ms_median": 0.2, "redis_cpu_ms_median": 0.1, "wall_ms_median": 0.35}}}
    assert "fixed-window client 0.2 + redis-server 0.1, wall 0.35" in \
        intake._strategies_note(found)


def test_make_bench_runs_the_new_benchmarks():
    assert {"durability", "scaling"} <= set(DEFAULT) <= set(BENCHMARKS)
    assert "failover" not in DEFAULT


def test_intake_counts_with_a_fixed_window(fake_store: Store, publisher: FakePublisher):
    """The cheapest Redis strategy measured (bench/intake_profile.py `strategies`)."""
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings, store=fake_store, publisher=publisher)
    (limiter,) = app.extensions["limiter"]
    with app.app_context():
        assert isinstance(limiter.limiter, FixedWindowRateLimiter)
