"""Run a real Celery worker as a subprocess for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import ROOT


@contextmanager
def run_worker(app_module: str, queues: str | Sequence[str], env: Mapping[str, str], *,
               concurrency: int = 1, timeout: float = 30.0) -> Iterator[Path]:
    """`celery -A <app_module> worker -Q <queues> --pool prefork` until the block ends.

    `env` is added to this process's environment (give it the LIAISON_* settings). Yields
    the worker's log file; on failure to start, the test fails with the log's tail.
    """
    queue_list = queues if isinstance(queues, str) else ",".join(queues)
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    log_dir = Path(tempfile.mkdtemp(prefix="celery-worker-"))
    log_path = log_dir / "worker.log"
    celery = Path(sys.executable).parent / "celery"
    args = [str(celery), "-A", app_module, "worker", "-Q", queue_list, "--pool", "prefork",
            "-c", str(concurrency), "-n", name, "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_ready(proc, log_path, timeout)
            yield log_path
        finally:
            _stop(proc)


def _wait_until_ready(proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if " ready." in log_path.read_text(errors="replace"):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then kill the whole process group if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
