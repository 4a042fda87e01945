"""An idle router and beat say nothing at INFO about the sweep, and Flower never sees it.

A real redis-server, a real router worker (task events on, as Flower turns them on) and beat
sweeping every second, logging JSON at DEBUG so every line shows the level it was logged at:
for ~15 s with nothing to do, sweeps run (their DEBUG lines prove it) but no INFO-or-above
line mentions a sweep and no task event is sent for one. Then an offer past its deadline:
exactly one INFO line reports the expiry, with its counts.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.events.receiver import EventReceiver

from shared.config import Settings
from shared.messaging import ASSIGN_CASE, ROUTE_QUEUE, SWEEP, make_celery
from shared.store import Store, redis_client
from tests.support.stack import CeleryProcess, stack_env, wait_for
from tests.support.world import Clock, World

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROUTER = "services.router.celery_app"
IDLE_SECONDS = 15


def records(*logs: str) -> list[dict[str, Any]]:
    """The JSON log records in these logs (the startup banners are plain text)."""
    found = []
    for text in logs:
        for line in text.splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
    return found


def loud(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in found if r["level"] not in ("DEBUG",)]


def mentions_sweep(record: dict[str, Any]) -> bool:
    return "sweep" in json.dumps(record).lower()


class Events(threading.Thread):
    """Every Celery event on the broker (what Flower reads), captured in a thread."""

    def __init__(self, app: Celery) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.seen: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.receiver: EventReceiver | None = None

    def run(self) -> None:
        ready = self.ready

        class Receiver(EventReceiver):
            def on_consume_ready(self, *args: Any, **kwargs: Any) -> None:
                ready.set()

        with self.app.connection_for_read() as conn:
            self.receiver = Receiver(conn, handlers={"*": self.seen.append}, app=self.app)
            self.receiver.capture(limit=None, timeout=None, wakeup=False)

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.join(10)

    def tasks(self) -> list[dict[str, Any]]:
        return [e for e in self.seen if e.get("type", "").startswith("task-")]


@pytest.mark.timeout(120)
def test_an_idle_sweep_is_silent_at_info_and_invisible_to_flower_and_an_expiry_is_one_line(
        redis_url: str, tmp_path: Path) -> None:
    env = stack_env(redis_url, tmp_path, LIAISON_LOG_LEVEL="DEBUG",
                    LIAISON_SWEEP_INTERVAL_SECONDS="1")
    app = make_celery("test-events", Settings.from_env(env))
    worker = CeleryProcess(ROUTER, [
        "worker", "-Q", "route,sweep", "--pool", "prefork", "-c", "1",
        "-n", f"router-{uuid.uuid4().hex[:6]}@%h", "--loglevel", "INFO", "-E",
        "--without-heartbeat", "--without-gossip", "--without-mingle"], env, tmp_path)
    beat = CeleryProcess.beat(ROUTER, env, tmp_path)
    events = Events(app)
    try:
        worker.start()
        events.start()
        assert events.ready.wait(10), "the event receiver did not start"
        time.sleep(1)  # its subscription is made on its first poll
        beat.start()
        started = (len(worker.log()), len(beat.log()))
        # A routed message for a case that does not exist: its events are what Flower shows.
        routed = app.send_task(ASSIGN_CASE, args=["no-such-case"], queue=ROUTE_QUEUE).id
        time.sleep(IDLE_SECONDS)

        idle = records(worker.log()[started[0]:], beat.log()[started[1]:])
        ran = [r for r in idle if r["message"].startswith(f"Task {SWEEP}[")
               and "succeeded" in r["message"]]
        sent = [r for r in idle if r["message"].startswith("Scheduler: Sending due task sweep")]
        assert len(ran) >= IDLE_SECONDS // 2 and len(sent) >= len(ran), "sweeps must run"
        assert {r["level"] for r in ran + sent} == {"DEBUG"}
        assert any(r["message"] == "sweep: nothing due" for r in idle)
        assert [r for r in loud(idle) if mentions_sweep(r)] == []
        # Flower's task list: the routed task, and never a sweep.
        task_events = events.tasks()
        assert {e["uuid"] for e in task_events} == {routed}
        assert {e["type"] for e in task_events} >= {"task-received", "task-succeeded"}
        assert {e["name"] for e in task_events if e["type"] == "task-received"} == {ASSIGN_CASE}

        # Something to do: an offer whose deadline passed a minute ago.
        busy_from = len(worker.log())
        world = World(Store(redis_client(redis_url)),
                      settings=Settings.for_tests(offer_timeouts="1=60,2=60,3=60,4=60"),
                      clock=Clock(time.time() - 120))
        world.officer("slow", "watford")
        offer = world.new_routed_case()
        assert offer.officer_id == "slow"

        def expiry_lines() -> list[dict[str, Any]]:
            return [r for r in loud(records(worker.log()[busy_from:])) if "expired" in r]

        wait_for(expiry_lines, timeout=15, what="the sweep's INFO line about the expiry")
        time.sleep(3)  # more sweeps: none repeats it
        [line] = expiry_lines()
        assert line["level"] == "INFO" and line["logger"] == "services.router.sweeper"
        assert line["message"].startswith("sweep: expired 1") and line["expired"] == 1
        assert offer.case_id not in json.dumps(line)
        busy = loud(records(worker.log()[busy_from:]))
        assert all(r["message"].startswith("sweep: ") for r in busy if mentions_sweep(r))
    finally:
        events.stop()
        beat.stop()
        worker.stop()
