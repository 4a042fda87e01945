"""Exactly one beat: two (or three) real `celery beat` processes against a real redis-server.

A second beat started by mistake must do no harm: it sends nothing while the first runs,
says so in its log, and takes over when the first dies (within the lease) or stops (at
once: the leader gives its lease up). Counted where an operator would look: the sweep
messages in the broker's `sweep` queue (no worker consumes them here) and each beat's log.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from services.router.beat import LOCK_NAME, MIN_LEASE
from shared.messaging import SWEEP_QUEUE
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = "services.router.celery_app"
LEASE = MIN_LEASE  # LIAISON_SWEEP_INTERVAL_SECONDS=1 below: max(10, 3 x 1)


def senders(client: redis.Redis) -> list[int]:
    """The pid of the process that sent each sweep message still queued (Celery's `origin`
    header: gen<pid>@<host>). Nothing consumes the queue here."""
    return [int(json.loads(raw)["headers"]["origin"].split("@")[0].removeprefix("gen"))
            for raw in client.lrange(SWEEP_QUEUE, 0, -1)]


def sends(client: redis.Redis, beat: CeleryProcess) -> int:
    assert beat.proc is not None
    return senders(client).count(beat.proc.pid)


@pytest.fixture
def start_beat(redis_url: str, tmp_path: Path) -> Iterator[Callable[[], CeleryProcess]]:
    """Starts `celery beat` processes (a sweep due every second); stops them all after."""
    env = stack_env(redis_url, tmp_path)
    log_dir = Path(tempfile.mkdtemp(prefix="beats-"))
    started: list[CeleryProcess] = []

    def start() -> CeleryProcess:
        beat = CeleryProcess.beat(APP, env, log_dir).start()
        started.append(beat)
        return beat

    try:
        yield start
    finally:
        for beat in started:
            beat.stop()


def test_a_second_beat_sends_nothing_and_takes_over_when_the_first_dies(
        start_beat: Callable[[], CeleryProcess], redis_url: str) -> None:
    first, second = start_beat(), start_beat()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    # Whichever got the lease first leads; the other stands by and says so, loudly.
    leader = wait_for(lambda: next((b for b in (first, second) if sends(client, b) >= 1), None),
                      timeout=20, what="one beat to send a sweep")
    standby = second if leader is first else first
    wait_for(lambda: "another beat is running" in standby.log(), timeout=20,
             what="the standby beat to log that another beat is running")
    line = next(x for x in standby.log().splitlines() if "another beat is running" in x)
    assert "WARNING" in line, line
    holder = client.get("liaison:" + LOCK_NAME) or ""
    assert str(leader.proc.pid) in holder.split(":"), holder
    assert holder in line  # the standby names the beat it defers to

    # Over 6 seconds with a sweep due every second: one beat's worth of messages, not two.
    client.delete(SWEEP_QUEUE)
    time.sleep(6)
    queued = senders(client)
    assert sends(client, standby) == 0, standby.log()[-2000:]
    assert 4 <= len(queued) <= 8, f"{len(queued)} sweep messages in 6 s from two beats"
    assert set(queued) == {leader.proc.pid}

    # The leader dies without a word (SIGKILL: no lease given up): the standby takes over
    # once the lease has run out, and not much later.
    killed_at = time.monotonic()
    leader.kill()
    wait_for(lambda: sends(client, standby) >= 1, timeout=LEASE + 10,
             what="the standby beat to take over and send the sweep")
    took = time.monotonic() - killed_at
    assert took <= LEASE + 5, took
    assert "took over as the leader" in standby.log()

    # A third beat now stands by for the new leader; the new leader stopped properly
    # (SIGTERM) gives its lease up, so the third takes over at once, not after a lease.
    third = start_beat()
    wait_for(lambda: "another beat is running" in third.log(), timeout=20,
             what="the third beat to stand by")
    assert sends(client, third) == 0
    stopped_at = time.monotonic()
    standby.stop()
    wait_for(lambda: sends(client, third) >= 1, timeout=LEASE, what="the third beat to take over")
    assert time.monotonic() - stopped_at < LEASE / 2 + 3
    assert "leader lease released" in standby.log()
