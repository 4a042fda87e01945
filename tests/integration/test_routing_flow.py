"""Routing and alerts end to end: real Redis, real Celery router/notifier/beat processes,
a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.intake.app import create_app
from shared import casework
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain.officers import Availability, Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests import payloads
from tests.support.stack import CeleryProcess, HttpSink, MailSink, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECRET = "webhook-test-secret"


class Stack:
    def __init__(self, redis_url: str, tmp_path: Path, **overrides: str) -> None:
        self.mail = MailSink().start()
        self.http = HttpSink(SECRET).start()
        self.env = stack_env(redis_url, tmp_path, LIAISON_SMTP_URL=self.mail.url,
                             LIAISON_WEBHOOK_SECRET=SECRET, **overrides)
        self.settings = Settings.from_env(self.env)
        self.store = Store(redis_client(redis_url))
        # inline: intake enqueues the router's message inside its store script, as deployed
        self.publisher = CeleryPublisher(make_celery("test-publisher", self.settings),
                                         inline=True)
        self.deps = bootstrap(self.settings, store=self.store, publisher=self.publisher)
        self.processes = [
            CeleryProcess.worker("services.router.celery_app", "route,sweep", self.env, tmp_path,
                                 name="router"),
            CeleryProcess.worker("services.notifier.celery_app", "notify", self.env, tmp_path,
                                 name="notifier"),
            CeleryProcess.beat("services.router.celery_app", self.env, tmp_path),
        ]
        for proc in self.processes:
            proc.start()
        self.intake: FlaskClient = create_app(self.settings, publisher=self.publisher).test_client()

    def officer(self, officer_id: str, district: str, **kw: object) -> None:
        officer = Officer(id=officer_id, name=officer_id.title(), districts=(district,),
                          rota=always_on(), email=f"{officer_id}@liaison.test",
                          channels=(f"webhook+{self.http.url}/hooks/{officer_id}",),
                          **kw)  # type: ignore[arg-type]
        self.store.officers.save(officer, on_shift=True, next_change=None)

    def report(self, **overrides: object) -> str:
        resp = self.intake.post("/api/v1/reports", json=payloads.report(**overrides))
        assert resp.status_code == 201, resp.json
        case_id = self.store.cases.id_for_reference(resp.json["reference"])
        assert case_id
        return case_id

    def holder(self, case_id: str) -> str:
        return (self.store.cases.get(case_id) or {}).get("officer", "")

    def close(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.mail.stop()
        self.http.stop()


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(redis_url, tmp_path, LIAISON_OFFER_TIMEOUTS="1=3,2=3,3=3,4=3")
    yield s
    s.close()


def test_a_report_reaches_the_right_officer_by_email_and_signed_webhook(stack: Stack):
    stack.officer("local", "watford")
    stack.officer("neighbour", "three_rivers")
    case_id = stack.report(what_happened="Abuse at the bus stop by CANARY-ACCOUNT-TEXT person.")
    wait_for(lambda: stack.holder(case_id) == "local", what="an offer to the Watford officer")
    mail = wait_for(lambda: stack.mail.to("local@liaison.test"), what="the officer's email")
    reference = stack.store.cases.get(case_id)["reference"]
    text = mail[0].get_payload(decode=True).decode() if not mail[0].is_multipart() else \
        mail[0].get_payload(0).get_payload(decode=True).decode()
    assert reference in (mail[0]["Subject"] + text)
    assert "CANARY-ACCOUNT-TEXT" not in mail[0].as_string()
    hooks = wait_for(stack.http.verified, what="a signed webhook")
    assert hooks[0]["reference"] == reference
    assert not stack.mail.to("neighbour@liaison.test")
    # The account reached no worker log, broker message or webhook either.
    assert all("CANARY-ACCOUNT-TEXT" not in proc.log() for proc in stack.processes)
    assert all(b"CANARY-ACCOUNT-TEXT" not in req["body"] for req in stack.http.requests)


def test_decline_and_expiry_each_reach_the_next_officer(stack: Stack):
    for name in ("first", "second", "third"):
        stack.officer(name, "stevenage")
    case_id = stack.report(incident_location={"postcode": "SG1 1AA"})
    first = wait_for(lambda: stack.holder(case_id), what="the first offer")
    casework.decline(stack.deps, case_id, first, "conflict_of_interest")
    second = wait_for(lambda: stack.holder(case_id) not in ("", first) and stack.holder(case_id),
                      what="an offer to another officer after the decline")
    # Nobody accepts: the sweeper expires the 3-second offer and re-routes it.
    third = wait_for(lambda: stack.holder(case_id) not in ("", first, second)
                     and stack.holder(case_id), timeout=20,
                     what="an offer to the last officer after expiry")
    assert {first, second, third} == {"first", "second", "third"}
    log_types = [e["type"] for e in stack.store.cases.log(case_id)]
    assert "OfferDeclined" in log_types and "OfferExpired" in log_types
    for name in (first, second, third):
        wait_for(lambda n=name: stack.mail.to(f"{n}@liaison.test"), what=f"{name}'s email")


def test_a_case_waits_then_goes_to_an_officer_who_becomes_available(stack: Stack):
    stack.officer("late", "dacorum", status=Availability.OFF_DUTY)
    case_id = stack.report(incident_location={"district": "dacorum"})
    wait_for(lambda: stack.store.cases.get(case_id)["state"] == "waiting", what="waiting")
    casework.set_availability(stack.deps, "late", Availability.AVAILABLE)
    assert stack.holder(case_id) == "late"
    wait_for(lambda: stack.mail.to("late@liaison.test"), what="the late officer's email")


def test_smtp_down_for_a_while_then_back_every_alert_arrives_once(redis_url, tmp_path):
    stack = Stack(redis_url, tmp_path)
    try:
        stack.mail.stop()  # the mail server is down when the offers go out
        for i in range(3):
            stack.officer(f"o{i}", "hertsmere", capacity=5)
        cases = [stack.report(incident_location={"district": "hertsmere"}) for _ in range(4)]
        wait_for(lambda: all(stack.holder(c) for c in cases), what="four offers")
        time.sleep(3)  # several delivery attempts fail meanwhile
        assert stack.mail.messages == []
        stack.mail.start()
        wait_for(lambda: len(stack.mail.messages) >= 4, timeout=60, what="four emails")
        time.sleep(3)  # any duplicate would arrive by now
        subjects = [m["Subject"] for m in stack.mail.messages]
        assert len(subjects) == 4 == len(set(subjects))
    finally:
        stack.close()


def test_500_cases_over_20_officers_with_2_router_workers(redis_url, tmp_path):
    env = stack_env(redis_url, tmp_path)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    districts = ["watford", "stevenage", "st_albans", "dacorum", "broxbourne"]
    for i in range(20):
        store.officers.save(Officer(id=f"o{i:02}", name=f"O{i}", districts=(districts[i % 5],),
                                    rota=always_on(), capacity=10),
                            on_shift=True, next_change=None)
    routers = [CeleryProcess.worker("services.router.celery_app", "route", env, tmp_path,
                                    name=f"router{i}").start() for i in range(2)]
    try:
        from tests.support.world import World

        world = World(store, settings=settings)
        publisher = CeleryPublisher(make_celery("bulk", settings))
        ids = [world.case(districts[i % 5]) for i in range(500)]
        for case_id in ids:
            publisher.route_case(case_id)
        wait_for(lambda: all(store.cases.get(c)["state"] in ("offered", "waiting")
                             for c in ids[-50:] + ids[:50]), timeout=120, what="routing")
        wait_for(lambda: sum(store.cases.get(c)["state"] in ("offered", "waiting")
                             for c in ids) == 500, timeout=120, what="all 500 routed")
    finally:
        for r in routers:
            r.stop()
    assert_routing_invariants(store, ids, capacity=10)


def assert_routing_invariants(store: Store, ids: list[str], capacity: int) -> None:
    """No case lost, none offered twice, no officer over capacity, loads exact."""
    holders: dict[str, list[str]] = {}
    for officer in store.officers.all():
        held = store.officers.cases(officer.id)
        assert len(held) <= capacity, f"{officer.id} holds {len(held)} > {capacity}"
        for case_id in held:
            holders.setdefault(case_id, []).append(officer.id)
    states = {c: store.cases.get(c)["state"] for c in ids}
    assert set(states.values()) <= {"offered", "waiting"}, "a case was lost or mis-stated"
    for case_id, state in states.items():
        if state == "offered":
            assert holders.get(case_id) == [store.cases.get(case_id)["officer"]], case_id
        else:
            assert case_id not in holders
    offered = sum(1 for s in states.values() if s == "offered")
    assert offered == sum(len(v) for v in holders.values())
    assert offered == min(len(ids), capacity * len(store.officers.all()))


def test_a_shift_starting_is_applied_by_the_sweeper_and_drains_the_queue(stack: Stack):
    # An always-on rota whose "next change" the sweeper is told is due in two seconds:
    # the beat-driven sweeper recomputes the shift, puts the officer on and offers the case.
    officer = Officer(id="nightshift", name="Night", districts=("broxbourne",),
                      rota=always_on(), email="nightshift@liaison.test")
    stack.store.officers.save(officer, on_shift=False, next_change=time.time() + 2)
    case_id = stack.report(incident_location={"district": "broxbourne"})
    wait_for(lambda: stack.store.cases.get(case_id)["state"] == "waiting", what="waiting")
    wait_for(lambda: stack.holder(case_id) == "nightshift", timeout=20,
             what="the sweeper to start the shift and offer the waiting case")
    assert stack.store.officers.raw("nightshift")["on_shift"] == "1"
