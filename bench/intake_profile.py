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
import time
from pathlib import Path
from typing import Any

from bench import servers, workload
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
    "triage + case model": ("shared/domain/triage.py", "triage"),
    "logging": ("logging/__init__.py", "info"),
}
WHOLE = ("flask/app.py", "wsgi_app")


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
