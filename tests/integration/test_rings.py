"""Widening rings on a real Redis with a real router worker and beat: a Watford case whose
Watford officer is busy stays in Watford until its neighbours ring opens (by the case's
age), then reaches a neighbour within one sweep of that time."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import casework
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain import events
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.support.cases import create_case
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RINGS = "1=0/3/6,2=0/3/6,3=0/3/6,4=0/3/6"
SLACK = 1.0  # a loaded machine: the beat's tick and the worker's start on top of a sweep


def test_a_watford_case_with_watford_busy_reaches_a_neighbour_when_its_ring_opens(
        redis_url: str, tmp_path: Path):
    env = stack_env(redis_url, tmp_path, LIAISON_RINGS=RINGS)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    publisher = CeleryPublisher(make_celery("test-publisher", settings))
    deps = bootstrap(settings, store=store, publisher=publisher)
    for officer_id, district in (("w", "watford"), ("h", "hertsmere")):
        store.officers.save(Officer(id=officer_id, name=officer_id.upper(),
                                    districts=(district,), rota=always_on(), capacity=1),
                            on_shift=True, next_change=None)
    processes = [CeleryProcess.worker("services.router.celery_app", "route,sweep", env,
                                      tmp_path, name="router"),
                 CeleryProcess.beat("services.router.celery_app", env, tmp_path)]
    for proc in processes:
        proc.start()
    try:
        first = create_case(store, settings, "watford")
        publisher.route_case(first)
        wait_for(lambda: (store.cases.get(first) or {}).get("officer") == "w", timeout=30,
                 what="the first case offered to the Watford officer")
        casework.accept(deps, first, "w")                  # Watford is now busy

        case_id = create_case(store, settings, "watford")
        publisher.route_case(case_id)
        wait_for(lambda: (store.cases.get(case_id) or {}).get("state") in ("waiting",
                                                                            "offered"),
                 timeout=30, what="the second case routed")
        case = store.cases.get(case_id) or {}
        opens_at = float(case["created_at"]) + settings.ring_times(int(case["priority"]))[1]
        assert case["state"] == "waiting" and case["ring"] == "0"   # held in Watford

        wait_for(lambda: (store.cases.get(case_id) or {}).get("officer") == "h", timeout=30,
                 what="the case offered to the Hertsmere officer")
        offered_at = float((store.cases.get(case_id) or {})["offered_at"])
        assert opens_at <= offered_at <= opens_at + settings.sweep_interval_seconds + SLACK
        widened = [e for e in store.cases.log(case_id) if e["type"] == events.RING_WIDENED]
        assert [(e["ring"], e["why"]) for e in widened] == [("1", "age")]
    finally:
        for proc in reversed(processes):
            proc.stop()
