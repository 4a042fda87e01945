"""`run_worker`: a real Celery worker for the length of a `with` block."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.stack import CeleryProcess


@contextmanager
def run_worker(app_module: str, queues: str | Sequence[str], env: Mapping[str, str], *,
               concurrency: int = 1) -> Iterator[Path]:
    """`celery -A <app_module> worker -Q <queues>`; yields the worker's log file."""
    queue_list = queues if isinstance(queues, str) else ",".join(queues)
    worker = CeleryProcess.worker(app_module, queue_list, env,
                                  Path(tempfile.mkdtemp(prefix="celery-worker-")),
                                  concurrency=concurrency).start()
    try:
        yield worker.log_path
    finally:
        worker.stop()
