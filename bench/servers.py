"""The HTTP servers under load: intake (through `run_intake`) and the bare baseline app."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.common import own_children
from tests.support.processes import run_intake, run_web
from tests.support.stack import stack_env

# run_intake starts gunicorn with 2 sync workers; the baseline gets the same (checked at run
# time through the process tree and recorded).
GUNICORN_WORKERS = 2
RATE_LIMIT = "1000000 per minute"  # intake's limiter stays on (as deployed) but never refuses


@contextlib.contextmanager
def intake(redis_url: str, tmp: Path) -> Iterator[str]:
    """Intake under gunicorn via the tests' `run_intake`; yields its base URL."""
    with contextlib.contextmanager(run_intake)(redis_url, tmp, RATE_LIMIT) as url:
        yield url


@contextlib.contextmanager
def baseline(redis_url: str, tmp: Path) -> Iterator[str]:
    """bench.baseline_app under gunicorn, started exactly as intake is; yields its URL."""
    run = contextlib.contextmanager(run_web)
    with run("bench.baseline_app:create_app()", stack_env(redis_url, tmp), tmp,
             workers=GUNICORN_WORKERS) as url:
        yield url


def workers_of(app: str) -> int:
    """How many gunicorn workers (children of the master) serve `app`."""
    masters = own_children("gunicorn", app)
    pids = {p.pid for p in masters}
    return sum(1 for p in masters if p.ppid() in pids)
