"""A worker that starts against a Redis refusing writes — a read-only replica (a demoted
master the worker reached first) — waits and retries like for an outage, and starts working
once the Redis takes writes, instead of exiting with "Unrecoverable error"."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from ops.devredis import EmbeddedRedis
from shared.broker import REFUSALS, SentinelTransport, Transport
from tests.support.stack import CeleryProcess, stack_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_write_refusals_count_as_connection_errors():
    for transport in (Transport, SentinelTransport):
        for refusal in REFUSALS:
            assert issubclass(refusal, transport.connection_errors), (transport, refusal)


def test_a_worker_started_on_a_read_only_redis_waits_and_then_works(tmp_path: Path):
    with EmbeddedRedis(tmp_path / "primary") as primary, \
            EmbeddedRedis(tmp_path / "replica") as replica:
        client = redis.Redis(port=replica.port)
        client.replicaof("127.0.0.1", primary.port)
        promote = threading.Timer(4.0, lambda: client.replicaof("no", "one"))
        worker = CeleryProcess.worker("services.router.celery_app", "route",
                                      stack_env(replica.url, tmp_path), tmp_path)
        promote.start()
        try:
            worker.start(timeout=40)  # fails the test if the worker exits meanwhile
            log = worker.log()
            assert "read only replica" in log.lower()  # it did meet the refusal first
            assert worker.proc is not None and worker.proc.poll() is None
            assert "Unrecoverable error" not in log
        finally:
            promote.cancel()
            worker.stop()
            client.close()
