"""Where an intake request's time goes: cProfile over the real app in this process.

The app is built as gunicorn builds it (real Redis, real Celery publisher, the rate
limiter on) and driven through Flask's test client, so HTTP parsing by gunicorn is not in
it. Shares are of the in-process time per request, with cProfile's own overhead on top
(it inflates pure-Python work a little against C and socket work).
"""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

import flask_limiter
import psutil
from limits import parse_many
from limits.storage import RedisStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

from bench import servers, workload
from services.intake import app as intake_app
from services.intake.app import create_app
from shared.config import Settings
from tests.support.stack import stack_env

# part -> (file suffix, function name) whose cumulative time is that part
PARTS = {
    "Celery publish (route_case)": ("shared/messaging.py", "_send"),
    "validation (webargs + marshmallow)": ("webargs/core.py", "parse"),
    "store: create_case script": ("shared/store/cases.py", "create"),
    "rate limiter (Redis)": ("flask_limiter/_extension.py", "_check_request_limit"),
    "sealing (Fernet)": ("shared/sealing.py", "seal"),
    "audit entry (WATCH, GET, MULTI/EXEC)": ("shared/store/audit.py", "record_collected"),
    "triage + case model": ("shared/domain/triage.py", "triage"),
    "logging": ("logging/__init__.py", "info"),
}
WHOLE = ("flask/app.py", "wsgi_app")
# Flask-Limiter's Redis strategies, and the limiter switched off (the floor); two limits
# per POST, shaped as deployed (LIAISON_API_RATE_LIMIT: per minute and per hour), set out
# of reach so that nothing is refused.
STRATEGIES = ("sliding-window-counter", "fixed-window", "moving-window", "off")
TWO_LIMITS = "1000000 per minute;10000000 per hour"
DEPLOYED_LIMITS = "120 per minute;2000 per hour"   # LIAISON_API_RATE_LIMIT's default
ADDRESSES = 300                                     # distinct callers in the isolated run


def profile(redis_url: str, tmp: Path, requests: int) -> dict[str, Any]:
    """POST `requests` reports through the app under cProfile; ms per request by part."""
    env = stack_env(redis_url, tmp, LIAISON_RATE_LIMIT=servers.RATE_LIMIT,
                    LIAISON_API_RATE_LIMIT=servers.RATE_LIMIT)
    app = create_app(Settings.from_env(env))
    client = app.test_client()
    bodies = workload.report_bodies(requests + 20)
    quiet = [h for h in logging.getLogger().handlers if getattr(h, "_liaison", False)]
    with open(os.devnull, "w") as devnull:
        for handler in quiet:  # keep the cost of formatting log lines, not the output
            handler.setStream(devnull)  # type: ignore[attr-defined]
        try:
            for body in bodies[:20]:  # warm: connections, scripts, schema caches
                client.post("/api/v1/reports", data=body, content_type="application/json")
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for body in bodies[20:]:
                client.post("/api/v1/reports", data=body, content_type="application/json")
            profiler.disable()
            elapsed = time.perf_counter() - started
        finally:
            for handler in quiet:
                logging.getLogger().removeHandler(handler)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    whole = _cumulative(stats, *WHOLE)
    parts = {name: _cumulative(stats, *where) for name, where in PARTS.items()}
    per = {name: round(t * 1000 / requests, 3) for name, t in parts.items()}
    per["other (Flask, werkzeug, flask-smorest, responses)"] = round(
        (whole - sum(parts.values())) * 1000 / requests, 3)
    return {"requests": requests, "wall_ms_per_request": round(elapsed * 1000 / requests, 2),
            "profiled_app_ms_per_request": round(whole * 1000 / requests, 2),
            "ms_per_request": per,
            "share": {name: round(ms / (whole * 1000 / requests), 3)
                      for name, ms in per.items()}}


def _cumulative(stats: dict[Any, Any], suffix: str, name: str) -> float:
    return sum(value[3] for (path, _, func), value in stats.items()
               if func == name and path.endswith(suffix))


def strategies(redis_url: str, tmp: Path, requests: int, rounds: int,
               redis_pid: int) -> dict[str, Any]:
    """Intake CPU per POST with each Flask-Limiter strategy, and with the limiter off.

    One app per strategy (built as gunicorn builds it, real Redis), driven through the test
    client in this process, the strategies taking turns `rounds` times; CPU is this
    process's (the app and its Redis client) and redis-server's, ms per request (the
    least of the rounds). No cProfile: its overhead would swamp the differences.
    """
    env = stack_env(redis_url, tmp, LIAISON_RATE_LIMIT=TWO_LIMITS,
                    LIAISON_API_RATE_LIMIT=TWO_LIMITS)
    settings = Settings.from_env(env)
    in_use = _strategy_in_use(settings)
    kept: list[Any] = []  # the apps hold their limiter weakly
    clients = {name: _app_with(name, settings, kept).test_client() for name in STRATEGIES}
    redis_proc = psutil.Process(redis_pid)
    bodies = workload.report_bodies(requests)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in STRATEGIES}
    quiet = [h for h in logging.getLogger().handlers if getattr(h, "_liaison", False)]
    with open(os.devnull, "w") as devnull:
        streams = [handler.setStream(devnull)  # type: ignore[attr-defined]
                   for handler in quiet]
        try:
            for client in clients.values():  # warm: connections, scripts, schema caches
                for body in bodies[:20]:
                    client.post("/api/v1/reports", data=body, content_type="application/json")
            for _ in range(rounds):
                for name, client in clients.items():
                    own, server = time.process_time(), _cpu(redis_proc)
                    for body in bodies:
                        client.post("/api/v1/reports", data=body,
                                    content_type="application/json")
                    runs[name].append(((time.process_time() - own) * 1000 / requests,
                                       (_cpu(redis_proc) - server) * 1000 / requests))
        finally:  # the log lines stay (formatted, then dropped); profile() follows
            for handler, stream in zip(quiet, streams, strict=True):
                handler.setStream(stream)  # type: ignore[attr-defined]
    found: dict[str, Any] = {}
    for name, values in runs.items():
        # the least of the rounds: other work on the machine only ever adds (caches,
        # clock, the other hyperthread), so the minimum is the closest to the cost
        app_ms = round(min(v[0] for v in values), 3)
        redis_ms = round(min(v[1] for v in values), 3)
        found[name] = {"app_cpu_ms": app_ms, "redis_cpu_ms": redis_ms,
                       "total_cpu_ms": round(app_ms + redis_ms, 3),
                       "app_cpu_ms_median": round(statistics.median(v[0] for v in values), 3),
                       "app_cpu_ms_rounds": [round(v[0], 3) for v in values],
                       "redis_cpu_ms_rounds": [round(v[1], 3) for v in values]}
    floor = found["off"]["total_cpu_ms"]
    for name in STRATEGIES:
        found[name]["limiter_cpu_ms"] = round(found[name]["total_cpu_ms"] - floor, 3)
    return {"requests_per_round": requests, "rounds": rounds, "limits": TWO_LIMITS,
            "in_use": in_use, "ms_per_request": found}


def _app_with(strategy: str, settings: Settings, kept: list[Any]) -> Any:
    """The intake app with its Limiter built with `strategy` (or disabled: "off")."""
    real = flask_limiter.Limiter

    def build(*args: Any, **kwargs: Any) -> Any:
        if strategy == "off":
            kwargs["enabled"] = False
        else:
            kwargs["strategy"] = strategy
        limiter = real(*args, **kwargs)
        kept.append(limiter)
        return limiter

    intake_app.__dict__["Limiter"] = build
    try:
        return create_app(settings)
    finally:
        intake_app.__dict__["Limiter"] = real


def _strategy_in_use(settings: Settings) -> str:
    """The strategy intake's own Limiter is built with."""
    seen: list[str] = []
    real = flask_limiter.Limiter

    def build(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(kwargs.get("strategy", "fixed-window")))
        return real(*args, **kwargs)

    intake_app.__dict__["Limiter"] = build
    try:
        create_app(settings)
    finally:
        intake_app.__dict__["Limiter"] = real
    return seen[0] if seen else "?"


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def strategy_costs(redis_url: str, hits: int, rounds: int, redis_pid: int
                   ) -> dict[str, Any]:
    """Each strategy alone: the `limits` library's hit() for the deployed two limits
    (LIAISON_API_RATE_LIMIT's default), `hits` requests from ADDRESSES callers per round,
    the strategies taking turns `rounds` times against the same Redis. ms per request
    (two hits): this process's CPU, redis-server's CPU and wall time — least and median
    of the rounds. Flask-Limiter's own work around the hit is the same for every
    strategy, so this is where they differ."""
    storage = RedisStorage(redis_url, key_prefix="bench-limits")
    limiters = {"sliding-window-counter": SlidingWindowCounterRateLimiter(storage),
                "fixed-window": FixedWindowRateLimiter(storage),
                "moving-window": MovingWindowRateLimiter(storage)}
    items = parse_many(DEPLOYED_LIMITS)
    redis_proc = psutil.Process(redis_pid)
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in limiters}
    for name, limiter in limiters.items():  # warm: scripts loaded, connections made
        for n in range(50):
            for item in items:
                limiter.hit(item, f"{name}-warm-{n}")
    for turn in range(rounds):
        for name, limiter in limiters.items():
            own, server, wall = time.process_time(), _cpu(redis_proc), time.perf_counter()
            for n in range(hits):
                for item in items:
                    limiter.hit(item, f"{name}-{turn}-{n % ADDRESSES}")
            runs[name].append(((time.process_time() - own) * 1000 / hits,
                               (_cpu(redis_proc) - server) * 1000 / hits,
                               (time.perf_counter() - wall) * 1000 / hits))
    storage.reset()
    found = {}
    for name, values in runs.items():
        found[name] = {
            f"{what}_ms_{how}": round(pick(v[i] for v in values), 4)
            for i, what in enumerate(("client_cpu", "redis_cpu", "wall"))
            for how, pick in (("least", min), ("median", statistics.median))}
    return {"limits": DEPLOYED_LIMITS, "requests_per_round": hits, "rounds": rounds,
            "callers": ADDRESSES, "ms_per_request": found}
