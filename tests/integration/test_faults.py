"""Faults: router workers SIGKILLed mid-assignment; Redis stopped and started again."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.devredis import EmbeddedRedis
from shared.config import Settings
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.integration.test_routing_flow import assert_routing_invariants
from tests.support.stack import CeleryProcess, stack_env, wait_for
from tests.support.world import World

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POINTS = ("before_script", "after_script", "before_ack")


def _officers(store: Store, n: int, capacity: int) -> None:
    for i in range(n):
        store.officers.save(Officer(id=f"o{i}", name=f"O{i}", districts=("watford",),
                                    rota=always_on(), capacity=capacity),
                            on_shift=True, next_change=None)


def test_sigkill_mid_assignment_20_times_loses_nothing_and_never_double_offers(
        redis_url: str, tmp_path: Path):
    env = stack_env(redis_url, tmp_path)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    _officers(store, 5, capacity=5)
    world = World(store, settings=settings)
    publisher = CeleryPublisher(make_celery("faults", settings))
    beat = CeleryProcess.beat("services.router.celery_app", env, tmp_path).start()
    sweeper = CeleryProcess.worker("services.router.celery_app", "sweep", env, tmp_path,
                                   name="sweeper").start()
    ids: list[str] = []
    crashes = {"pool": 0, "whole": 0}
    try:
        for i in range(20):
            point = POINTS[i % 3]
            marker = tmp_path / f"crash-{i}"
            router = CeleryProcess.worker(
                "tests.support.crashing_router", "route",
                {**env, "LIAISON_TEST_CRASH_POINT": point,
                 "LIAISON_TEST_CRASH_MARKER": str(marker)}, tmp_path, name=f"crashy{i}").start()
            case_id = world.case("watford")
            ids.append(case_id)
            publisher.route_case(case_id)
            wait_for(marker.exists, what=f"the crash at {point}")
            if i % 2:
                router.kill()  # the whole worker dies: the message stays unacked
                crashes["whole"] += 1
            else:
                crashes["pool"] += 1  # the pool child died; the parent redelivers
            router_after = router if router.proc and router.proc.poll() is None else \
                CeleryProcess.worker("services.router.celery_app", "route", env, tmp_path,
                                     name=f"healthy{i}").start()
            wait_for(lambda c=case_id: store.cases.get(c)["state"] == "offered", timeout=30,
                     what=f"case {i} offered after a crash at {point}")
            router_after.stop()
            if router_after is not router:
                router.stop()
    finally:
        sweeper.stop()
        beat.stop()
    assert crashes == {"pool": 10, "whole": 10}
    assert_routing_invariants(store, ids, capacity=5)


def test_redis_restart_workers_resume_and_nothing_acknowledged_is_lost(
        redis_server: EmbeddedRedis, redis_url: str, tmp_path: Path):
    env = stack_env(redis_url, tmp_path)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    _officers(store, 4, capacity=10)
    world = World(store, settings=settings)
    publisher = CeleryPublisher(make_celery("restart", settings))
    procs = [CeleryProcess.worker("services.router.celery_app", "route,sweep", env, tmp_path,
                                  name="router").start(),
             CeleryProcess.beat("services.router.celery_app", env, tmp_path).start()]
    try:
        before = [world.case("watford") for _ in range(5)]
        for case_id in before:
            publisher.route_case(case_id)
        wait_for(lambda: all(store.cases.get(c)["state"] == "offered" for c in before),
                 what="the first five offered")
        redis_server.stop()   # SIGTERM: Redis writes its AOF and exits
        redis_server.start()  # same data directory: the AOF is replayed
        after = [world.case("watford") for _ in range(5)]
        for case_id in after:
            publisher.route_case(case_id)
        wait_for(lambda: all(store.cases.get(c)["state"] == "offered" for c in after),
                 timeout=60, what="workers to reconnect and route new cases")
        assert all(store.cases.get(c)["state"] == "offered" for c in before)
        assert_routing_invariants(store, before + after, capacity=10)
    finally:
        for proc in procs:
            proc.stop()
