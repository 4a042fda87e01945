"""The HTTP servers under load: intake (through `run_intake`) and the bare baseline app."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import own_children
from shared.devredis import free_port
from tests.support.processes import ROOT, run_intake
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
    """bench.baseline_app under gunicorn with intake's worker count; yields its base URL."""
    port = free_port()
    env = {**os.environ, **stack_env(redis_url, tmp)}
    log = (tmp / f"baseline-{port}.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(GUNICORN_WORKERS), "bench.baseline_app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def workers_of(app: str) -> int:
    """How many gunicorn workers (children of the master) serve `app`."""
    masters = own_children("gunicorn", app)
    pids = {p.pid for p in masters}
    return sum(1 for p in masters if p.ppid() in pids)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"baseline gunicorn exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.5)  # the workers boot just after the master binds
                return
        time.sleep(0.1)
    raise RuntimeError(f"baseline gunicorn did not listen on {port} in {timeout}s")
