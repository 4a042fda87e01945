"""An officer who goes away loses their pending offer at once, and a real router worker on a
real Redis offers the case to someone else promptly — by the console's message, or, from the
command line (which sends none), by the beat-driven sweeper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ops.cli import Runtime, main
from shared import casework
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain.officers import Availability, Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.support.cases import create_case
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
INSTANT_RINGS = "1=0/0/0,2=0/0/0,3=0/0/0,4=0/0/0"


class Router:
    """Officers A (Watford) and B (Three Rivers, a neighbour) and real router processes."""

    def __init__(self, redis_url: str, tmp_path: Path, *, sweeper: bool) -> None:
        # Rings open at once: these tests are about the withdrawal (A away still holds
        # Watford's ring until its time under the real rings; tests/unit/test_rings.py)
        self.env = stack_env(redis_url, tmp_path, LIAISON_RINGS=INSTANT_RINGS)
        self.settings = Settings.from_env(self.env)
        self.store = Store(redis_client(redis_url))
        self.publisher = CeleryPublisher(make_celery("test-publisher", self.settings))
        self.deps = bootstrap(self.settings, store=self.store, publisher=self.publisher)
        self.processes = [CeleryProcess.worker("services.router.celery_app",
                                               "route,sweep" if sweeper else "route",
                                               self.env, tmp_path, name="router")]
        if sweeper:
            self.processes.append(CeleryProcess.beat("services.router.celery_app", self.env,
                                                     tmp_path))
        for officer_id, district in (("a", "watford"), ("b", "three_rivers")):
            self.store.officers.save(Officer(id=officer_id, name=officer_id.upper(),
                                             districts=(district,), rota=always_on()),
                                     on_shift=True, next_change=None)
        for proc in self.processes:
            proc.start()

    def case_offered_to_a(self) -> str:
        case_id = create_case(self.store, self.settings, "watford")
        self.publisher.route_case(case_id)
        wait_for(lambda: self.holder(case_id) == "a", timeout=30, what="the offer to A")
        return case_id

    def holder(self, case_id: str) -> str:
        case = self.store.cases.get(case_id) or {}
        return case.get("officer", "") if case.get("state") == "offered" else ""

    def withdrawal_reasons(self, case_id: str) -> list[str]:
        return [e["reason"] for e in self.store.cases.log(case_id)
                if e["type"] == "OfferWithdrawn"]

    def close(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


@pytest.fixture
def router(redis_url: str, tmp_path: Path) -> Iterator[Router]:
    r = Router(redis_url, tmp_path, sweeper=False)  # no sweeper: only the message can do it
    yield r
    r.close()


def test_going_away_in_the_console_re_offers_the_case_to_another_officer_promptly(router):
    case_id = router.case_offered_to_a()

    started = time.monotonic()
    casework.set_availability(router.deps, "a", Availability.AWAY)  # what the console calls
    assert router.store.officers.load("a") == 0  # taken back at once, before any routing
    wait_for(lambda: router.holder(case_id) == "b", timeout=30,
             what="the case offered to B after A went away")

    assert time.monotonic() - started < 30
    assert router.withdrawal_reasons(case_id) == ["officer_away"]
    assert router.store.officers.load("b") == 1


def test_off_duty_from_the_command_line_is_re_routed_by_the_sweeper(redis_url, tmp_path):
    router = Router(redis_url, tmp_path, sweeper=True)
    try:
        case_id = router.case_offered_to_a()
        runtime = Runtime(settings=router.settings, store=router.store,
                          clock=lambda: datetime.now(UTC))
        result = CliRunner().invoke(main, ["officers", "status", "a", "off_duty"], obj=runtime)
        assert result.exit_code == 0, result.output
        wait_for(lambda: router.holder(case_id) == "b", timeout=30,
                 what="the sweeper to re-route the case to B")
        assert router.withdrawal_reasons(case_id) == ["officer_off_duty"]
        assert "1 pending offer withdrawn" in result.output
    finally:
        router.close()
