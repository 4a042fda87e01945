"""Victim care as it runs for real: intake under gunicorn, a real router worker and beat on
a real redis-server. A repeat reporter is linked and enhanced, an emergency widens at 60 s
by its age (the default rings), and a BSL need never reaches an officer without BSL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from shared import casework
from shared.bootstrap import Deps, bootstrap
from shared.config import Settings
from shared.domain import events
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests import payloads
from tests.support.cases import create_case
from tests.support.processes import run_web
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SLACK = 1.5  # a loaded machine: the beat's tick and the worker's start on top of a sweep
DAY = 86400


@dataclass
class Live:
    url: str
    store: Store
    settings: Settings
    deps: Deps
    publisher: CeleryPublisher


@pytest.fixture
def live(redis_url: str, tmp_path: Path) -> Iterator[Live]:
    """Intake, a router worker and beat sharing one set of settings (default rings)."""
    env = stack_env(redis_url, tmp_path)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    publisher = CeleryPublisher(make_celery("test-publisher", settings))
    deps = bootstrap(settings, store=store, publisher=publisher)
    processes = [CeleryProcess.worker("services.router.celery_app", "route,sweep", env,
                                      tmp_path, name="router"),
                 CeleryProcess.beat("services.router.celery_app", env, tmp_path)]
    for proc in processes:
        proc.start()
    try:
        with contextmanager(run_web)("services.intake.app:create_app()", env, tmp_path) as url:
            yield Live(url, store, settings, deps, publisher)
    finally:
        for proc in reversed(processes):
            proc.stop()


def _officer(live: Live, officer_id: str, district: str, *, skills: frozenset[str] = frozenset(),
             capacity: int = 3) -> None:
    live.store.officers.save(Officer(id=officer_id, name=officer_id.upper(),
                                     districts=(district,), rota=always_on(),
                                     capacity=capacity, skills=skills),
                             on_shift=True, next_change=None)


def _post(live: Live, path: str, body: dict) -> str:
    sent = requests.post(f"{live.url}/api/v1/{path}", json=body, timeout=10)
    assert sent.status_code == 201, sent.text
    return live.store.cases.id_for_reference(sent.json()["reference"]) or ""


def _case(live: Live, case_id: str) -> dict[str, str]:
    return live.store.cases.get(case_id) or {}


def _offered_to(live: Live, case_id: str) -> list[str]:
    return [e.get("officer_id", "") for e in live.store.cases.log(case_id)
            if e["type"] == events.CASE_OFFERED]


def test_a_repeat_reporter_is_linked_enhanced_and_routed(live: Live):
    _officer(live, "a", "st_albans")
    first = _post(live, "reports", payloads.report(threats=False))
    again = _post(live, "reports", payloads.report(
        threats=False,
        what_happened="The same men were at the bus stop again and followed me home."))
    wait_for(lambda: _case(live, again).get("officer") == "a", timeout=30,
             what="the repeat victim's case offered to the St Albans officer")

    one, two = _case(live, first), _case(live, again)
    assert one["enhanced"] == "0" and one["linked_refs"] == ""
    assert two["enhanced"] == "1" and two["linked_refs"] == one["reference"]
    assert (one["priority"], two["priority"]) == ("3", "2")     # raised for a repeat victim
    # Victims' Code: enhanced within a day, standard within five
    assert float(two["next_update_at"]) - float(two["created_at"]) == pytest.approx(DAY, abs=1)
    assert float(one["next_update_at"]) - float(one["created_at"]) == pytest.approx(5 * DAY,
                                                                                   abs=1)
    # a different person is not linked
    other = _post(live, "reports", payloads.report(
        threats=False, contact=payloads.contact(email="robin@example.org", phone="07700 900456")))
    assert _case(live, other)["enhanced"] == "0"


def test_an_emergency_held_in_its_busy_district_widens_at_60_seconds_of_age(live: Live):
    _officer(live, "w", "watford", capacity=1)
    _officer(live, "h", "hertsmere")
    busy = create_case(live.store, live.settings, "watford")
    live.publisher.route_case(busy)
    wait_for(lambda: _case(live, busy).get("officer") == "w", timeout=30,
             what="the first case offered to the Watford officer")
    casework.accept(live.deps, busy, "w")                       # Watford is now busy

    assert live.settings.ring_times(1)[1] == 60                 # the documented default
    created = time.time() - 55                                  # 5 s before its ring opens
    case_id = create_case(live.store, live.settings, "watford", emergency=True, now=created)
    live.publisher.route_case(case_id)
    wait_for(lambda: _case(live, case_id).get("state") in ("waiting", "offered"), timeout=30,
             what="the emergency routed")
    held = _case(live, case_id)
    assert held["priority"] == "1"
    if held["state"] == "waiting":                              # routed before its 60th second
        assert held["ring"] == "0"
    wait_for(lambda: _case(live, case_id).get("officer") == "h", timeout=30,
             what="the emergency offered to the Hertsmere officer")
    offered_at = float(_case(live, case_id)["offered_at"])
    assert created + 60 <= offered_at <= created + 60 + live.settings.sweep_interval_seconds \
        + SLACK
    assert _offered_to(live, case_id) == ["h"]


def test_a_bsl_need_never_reaches_an_officer_without_bsl(live: Live):
    _officer(live, "w", "watford")                               # free, local, no BSL
    _officer(live, "hb", "hertsmere", skills=frozenset({"bsl"}))
    need = payloads.callback(home_area={"district": "watford"},
                             needs={"bsl_interpreter": True})
    case_id = _post(live, "callbacks", need)
    # the Watford ring has nobody who could ever take it: skipped at once, not waited out
    wait_for(lambda: _case(live, case_id).get("officer") == "hb", timeout=30,
             what="the BSL callback offered to the BSL officer in a neighbouring district")
    assert "bsl" in _case(live, case_id)["required_skills"]

    casework.decline(live.deps, case_id, "hb", "other")        # the only BSL officer declines
    wait_for(lambda: _case(live, case_id).get("state") == "waiting", timeout=30,
             what="the case waiting again")
    time.sleep(3 * live.settings.sweep_interval_seconds + SLACK)  # sweeps pass; none offers it
    assert _case(live, case_id)["state"] == "waiting"
    assert "w" not in _offered_to(live, case_id)
