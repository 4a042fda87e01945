"""`/metrics` on fakeredis: request counts by URL rule, the state of the work from the store
(console only: no family is exported by both apps), counters that outlive the process,
Celery queue depths, no personal data in labels, served only with the token (or to loopback
outside production), and a dashboard and alert rules that only name metrics we export."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ops.devredis import free_port
from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from shared import broker_queues, casework
from shared.broker_queues import KOMBU_PRIORITY_SEP, KOMBU_UNACKED, BrokerQueues
from shared.config import Settings
from shared.messaging import NOTIFY_QUEUE, ROUTE_QUEUE, SWEEP_QUEUE, TASK_QUEUES
from shared.metrics import QUEUES, StateCollector, _loopback, safe_label
from shared.store import Store
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.support.cases import submission
from tests.support.world import Clock, World

DOCS = Path(__file__).resolve().parents[2] / "docs"
DASHBOARD = DOCS / "grafana-dashboard.json"
ALERTS = DOCS / "prometheus-alerts.yml"
METRIC_NAME = re.compile(r"\bliaison_[a-z0-9_]+")
# Families every process reports about itself (single-process mode); Prometheus tells the
# services' apart by their `job` and `instance` labels.
PER_PROCESS = ("process_", "python_")
HTTP = ("liaison_http_",)  # each app counts its own requests, labelled by `service`
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample as {(name, labels): value}."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def scrape(client: FlaskClient) -> Samples:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain")
    return parse(resp.text)


def collect(collector: StateCollector) -> Samples:
    registry = CollectorRegistry()
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def no_limiter_redis(**overrides: object) -> Settings:
    """Test settings whose rate limiter points at a closed port (it falls back to memory).
    The broker URL is the same, so the console reads the Celery queues from the store's
    (fake) Redis."""
    return Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                              rate_limit="1000 per minute",
                              api_rate_limit="1000 per minute", **overrides)


@pytest.fixture
def intake(fake_store: Store, publisher: FakePublisher) -> Flask:
    return create_intake(no_limiter_redis(), store=fake_store, publisher=publisher)


@pytest.fixture
def client(intake: Flask) -> Iterator[FlaskClient]:
    with intake.test_client() as c:
        yield c


@pytest.fixture
def console(fake_store: Store, publisher: FakePublisher) -> FlaskClient:
    """The console's client (without `with`: it may run beside intake's, which keeps its
    request context)."""
    return create_console(no_limiter_redis(), store=fake_store,
                          publisher=publisher).test_client()


@pytest.fixture
def world(fake_store: Store) -> World:
    """A world on the real clock (the collector measures waits against it)."""
    return World(fake_store, clock=Clock(time.time()))


def post_report(client: FlaskClient, body: object, path: str = "/api/v1/reports"):
    return client.post(path, data=json.dumps(body), content_type="application/json")


# requests

def test_requests_are_counted_by_url_rule_method_and_status(client: FlaskClient):
    assert post_report(client, payloads.report()).status_code == 201
    assert post_report(client, payloads.report(reporter_role="nobody")).status_code == 422
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/reports/1234").status_code in (404, 405)
    samples = scrape(client)
    total = "liaison_http_requests_total"
    assert sample(samples, total, service="intake", method="POST",
                  endpoint="/api/v1/reports", status="201") == 1
    assert sample(samples, total, service="intake", method="POST",
                  endpoint="/api/v1/reports", status="422") == 1
    assert sample(samples, total, service="intake", method="GET", endpoint="/",
                  status="200") == 1
    assert sample(samples, "liaison_http_request_duration_seconds_count", service="intake",
                  endpoint="/api/v1/reports") == 2
    endpoints = {dict(labels).get("endpoint") for name, labels in samples if name == total}
    assert "/api/v1/reports/1234" not in endpoints  # the raw path never becomes a label
    assert "unmatched" in endpoints


def test_metrics_and_health_checks_are_not_counted(client: FlaskClient):
    client.get("/healthz")
    scrape(client)
    samples = scrape(client)
    endpoints = {dict(labels).get("endpoint") for name, labels in samples
                 if name.startswith("liaison_http_")}
    assert not endpoints & {"/metrics", "/healthz"}


def test_an_unknown_http_method_is_counted_as_other(client: FlaskClient):
    client.open("/", method="BREW")
    samples = scrape(client)
    assert sample(samples, "liaison_http_requests_total", service="intake", method="other",
                  endpoint="unmatched", status="405") == 1


def test_the_console_serves_its_own_metrics(console: FlaskClient):
    console.get("/")
    samples = scrape(console)
    assert sample(samples, "liaison_http_requests_total", service="console", method="GET",
                  endpoint="/", status="302") == 1  # "/" sends anonymous callers to sign in
    assert sample(samples, "liaison_redis_up") == 1
    assert sample(samples, "liaison_broker_up") == 1


# one service per family

def test_no_metric_family_is_exported_by_both_apps(client: FlaskClient, console: FlaskClient,
                                                   world: World):
    world.officer("alex", "watford")
    world.new_routed_case("watford")
    client.get("/")
    console.get("/")
    from_intake = families(client.get("/metrics").text)
    from_console = families(console.get("/metrics").text)
    shared = {name for name in from_intake & from_console
              if not name.startswith(HTTP + PER_PROCESS)}
    assert shared == set()
    # intake reports its requests (and its process) only; the state of the work is the
    # console's
    assert {n for n in from_intake if not n.startswith(HTTP + PER_PROCESS)} == set()
    assert {"liaison_cases_waiting", "liaison_queue_messages", "liaison_redis_up",
            "liaison_offers"} <= from_console


# state from Redis

def test_state_gauges_show_open_cases_and_the_queue_by_district(
        console: FlaskClient, world: World):
    world.officer("alex", "watford", capacity=1)
    offered = world.new_routed_case("watford")
    assert offered.outcome == "offered"
    waits = [world.new_routed_case("watford", high=True), world.new_routed_case("stevenage")]
    assert [r.outcome for r in waits] == ["waiting", "waiting"]
    samples = scrape(console)
    assert sample(samples, "liaison_cases_open", state="offered", district="watford") == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district="watford") == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district="stevenage") == 1
    assert sample(samples, "liaison_cases_waiting", district="watford", priority="high") == 1
    assert sample(samples, "liaison_cases_waiting", district="stevenage",
                  priority="standard") == 1
    assert sample(samples, "liaison_cases_waiting", district="watford",
                  priority="standard") in (None, 0)
    assert sample(samples, "liaison_cases_offered_total") == 1
    assert sample(samples, "liaison_cases_received_total", kind="report",
                  priority="standard") == 2
    assert sample(samples, "liaison_cases_received_total", kind="report",
                  priority="high") == 1


def test_oldest_wait_is_measured_from_when_the_case_went_into_the_queue(world: World):
    world.route(world.case("hertsmere"))
    world.clock.advance(30)
    world.route(world.case("hertsmere"))
    world.clock.advance(90)
    samples = collect(StateCollector(world.store, clock=world.clock))
    assert sample(samples, "liaison_cases_waiting", district="hertsmere",
                  priority="standard") == 2
    assert sample(samples, "liaison_cases_oldest_wait_seconds", district="hertsmere",
                  priority="standard") == pytest.approx(120)


def test_known_districts_and_outcomes_report_zero_rather_than_nothing(
        fake_store: Store, world: World):
    fake_store.force.save("herts", "Hertfordshire", "Europe/London",
                          {d: d.title() for d in world.force.districts})
    samples = collect(StateCollector(fake_store))
    for district in world.force.districts:
        assert sample(samples, "liaison_cases_waiting", district=district,
                      priority="emergency") == 0
    for outcome in ("accepted", "declined", "expired", "withdrawn"):
        assert sample(samples, "liaison_offers_total", outcome=outcome) == 0
    assert sample(samples, "liaison_cases_received_total", kind="callback",
                  priority="emergency") == 0
    assert sample(samples, "liaison_dead_letters_total", kind="case") == 0
    assert sample(samples, "liaison_dead_letters_total", kind="notification") == 0
    assert sample(samples, "liaison_notifications_total", kind="offer", outcome="sent") == 0


def test_offer_and_notification_outcomes_are_counted(world: World):
    world.officer("alex", "watford", capacity=2)
    world.officer("blake", "watford", capacity=2)
    first = world.new_routed_case("watford")
    world.decline(first.case_id)
    world.route(first.case_id)                       # offered again, to the other officer
    casework.accept(world.deps, first.case_id, world.holder(first.case_id))
    notes = world.store.notifications
    assert notes.finish(first.notification_id, "sent")
    second = world.new_routed_case("watford")
    notes.fail(second.notification_id, "SMTPError", time.time() + 60)
    notes.dead_letter(second.notification_id, time.time())
    samples = collect(StateCollector(world.store, clock=world.clock))
    assert sample(samples, "liaison_cases_offered_total") == 3
    offers = "liaison_offers_total"
    assert sample(samples, offers, outcome="declined") == 1
    assert sample(samples, offers, outcome="accepted") == 1
    assert sample(samples, offers, outcome="expired") == 0
    notified = "liaison_notifications_total"
    assert sample(samples, notified, outcome="sent", kind="offer") == 1
    assert sample(samples, notified, outcome="failed", kind="offer") == 1
    assert sample(samples, notified, outcome="dead_lettered", kind="offer") == 1
    assert sample(samples, notified, outcome="sent", kind="emergency") == 0
    assert sample(samples, "liaison_dead_letters_total", kind="notification") == 1


def test_a_reassignment_to_an_officer_counts_as_an_offer_and_back_to_routing_does_not(
        world: World):
    world.officer("alex", "dacorum")
    world.officer("blake", "dacorum")
    routed = world.new_routed_case("dacorum")
    other = "blake" if routed.officer_id == "alex" else "alex"
    casework.reassign(world.deps, routed.case_id, "sup", other)
    casework.reassign(world.deps, routed.case_id, "sup", None)
    samples = collect(StateCollector(world.store, clock=world.clock))
    assert sample(samples, "liaison_cases_offered_total") == 2


def test_closed_cases_leave_the_open_counts_and_are_counted(world: World):
    world.officer("alex", "dacorum")
    routed = world.new_routed_case("dacorum")
    casework.accept(world.deps, routed.case_id, "alex")
    samples = collect(StateCollector(world.store, clock=world.clock, cache_seconds=0))
    assert sample(samples, "liaison_cases_open", state="accepted", district="dacorum") == 1
    casework.close(world.deps, routed.case_id, "alex", "advice_given")
    samples = collect(StateCollector(world.store, clock=world.clock, cache_seconds=0))
    assert sample(samples, "liaison_cases_open", state="accepted", district="dacorum") in (0,
                                                                                            None)
    assert sample(samples, "liaison_cases_closed_total", priority="standard") == 1


def test_counters_outlive_the_process_that_scraped_them(publisher: FakePublisher):
    """The totals are Redis data: a console started afresh (a deploy, a crash) reports the
    same numbers, where in-process counters would start again from zero."""
    server = fakeredis.FakeServer()
    first = Store(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="test:")
    world = World(first, clock=Clock(time.time()))
    world.officer("alex", "watford")
    routed = world.new_routed_case("watford")
    world.decline(routed.case_id)
    before = scrape(create_console(no_limiter_redis(), store=first,
                                   publisher=publisher).test_client())
    again = Store(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="test:")
    after = scrape(create_console(no_limiter_redis(), store=again,
                                  publisher=publisher).test_client())
    for name, labels in (("liaison_cases_received_total", {"kind": "report",
                                                           "priority": "standard"}),
                         ("liaison_cases_offered_total", {}),
                         ("liaison_offers_total", {"outcome": "declined"})):
        assert sample(before, name, **labels) == sample(after, name, **labels) == 1


def test_the_collector_reads_redis_at_most_once_per_cache_period(world: World):
    collector = StateCollector(world.store, clock=world.clock, cache_seconds=60)
    collect(collector)
    world.route(world.case("broxbourne"))
    cached = collect(collector)
    assert sample(cached, "liaison_cases_waiting", district="broxbourne",
                  priority="standard") in (0, None)
    fresh = collect(StateCollector(world.store, clock=world.clock))
    assert sample(fresh, "liaison_cases_waiting", district="broxbourne",
                  priority="standard") == 1


def test_workers_signs_of_life_and_the_earliest_timer_are_unix_times(world: World):
    assert "liaison_worker_last_seen_timestamp_seconds" not in names(
        collect(StateCollector(world.store, clock=world.clock)))
    world.officer("alex", "watford")
    routed = world.new_routed_case("watford")          # CaseOffered: the router's sign
    deadline = float((world.store.cases.get(routed.case_id) or {})["offer_deadline"])
    samples = collect(StateCollector(world.store, clock=world.clock))
    seen = "liaison_worker_last_seen_timestamp_seconds"
    assert sample(samples, seen, worker="router") == pytest.approx(world.clock(), abs=1)
    assert sample(samples, seen, worker="notifier") is None   # no sign: no sample
    # the earliest of the offer deadline and the case's outbox entry (due in 5 s)
    due = sample(samples, "liaison_timers_earliest_due_timestamp_seconds")
    assert due is not None and world.clock() <= due <= deadline


# Celery queues

def test_queue_depths_count_ready_and_unacked_messages_of_every_messaging_queue(
        console: FlaskClient, fake_store: Store):
    r = fake_store.redis  # the broker is the store's Redis (kombu's keys have no prefix)
    r.lpush(ROUTE_QUEUE, "m1", "m2")
    r.lpush(f"{NOTIFY_QUEUE}{KOMBU_PRIORITY_SEP}3", "m3")
    r.hset(KOMBU_UNACKED, mapping={
        "tag-1": json.dumps([{"body": "e30="}, "", NOTIFY_QUEUE]),
        "tag-2": json.dumps([{"body": "e30="}, ROUTE_QUEUE, ROUTE_QUEUE]),
        "tag-3": json.dumps([{"body": "e30="}, "celeryev", "somebody.else"]),
        "tag-4": "not json"})
    samples = scrape(console)
    assert set(QUEUES) == set(TASK_QUEUES.values()) == {ROUTE_QUEUE, NOTIFY_QUEUE, SWEEP_QUEUE}
    expected = {ROUTE_QUEUE: (2, 1), NOTIFY_QUEUE: (1, 1), SWEEP_QUEUE: (0, 0)}
    for queue, (ready, unacked) in expected.items():
        assert sample(samples, "liaison_queue_messages_ready", queue=queue) == ready
        assert sample(samples, "liaison_queue_messages_unacked", queue=queue) == unacked
        assert sample(samples, "liaison_queue_messages", queue=queue) == ready + unacked
    assert sample(samples, "liaison_stats_truncated", source="unacked") == 0


def test_unacked_messages_are_read_up_to_a_bound(fake_store: Store,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(broker_queues, "MAX_UNACKED", 2)
    for n in range(5):
        fake_store.redis.hset(KOMBU_UNACKED, f"tag-{n}",
                              json.dumps([{}, "", ROUTE_QUEUE]))
    samples = collect(StateCollector(fake_store, broker=BrokerQueues(fake_store.redis)))
    assert sample(samples, "liaison_queue_messages_unacked", queue=ROUTE_QUEUE) == 2
    assert sample(samples, "liaison_stats_truncated", source="unacked") == 1


def test_a_broker_that_does_not_answer_is_broker_up_zero(fake_store: Store):
    server = fakeredis.FakeServer()
    server.connected = False
    dead = BrokerQueues(fakeredis.FakeRedis(server=server, decode_responses=True))
    samples = collect(StateCollector(fake_store, broker=dead))
    assert sample(samples, "liaison_redis_up") == 1
    assert sample(samples, "liaison_broker_up") == 0
    assert not any(name.startswith("liaison_queue_") for name in names(samples))
    assert sample(samples, "liaison_cases_offered_total") == 0


# Redis down

def test_metrics_answer_with_redis_up_zero_when_redis_is_down(publisher: FakePublisher):
    server = fakeredis.FakeServer()
    server.connected = False
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="test:")
    console = create_console(no_limiter_redis(), store=store, publisher=publisher)
    intake = create_intake(no_limiter_redis(), store=store, publisher=publisher)
    with console.test_client() as c:
        c.get("/")
        samples = scrape(c)
    assert sample(samples, "liaison_redis_up") == 0
    assert sample(samples, "liaison_broker_up") == 0
    assert sample(samples, "liaison_http_requests_total", service="console", method="GET",
                  endpoint="/", status="302") == 1
    assert not any(name.startswith(("liaison_cases_", "liaison_queue_"))
                   for name in names(samples))
    with intake.test_client() as c:
        c.get("/")
        samples = scrape(c)
    assert sample(samples, "liaison_http_requests_total", service="intake", method="GET",
                  endpoint="/", status="200") == 1


# privacy and exposure

def test_labels_never_carry_what_a_person_typed(client: FlaskClient, console: FlaskClient,
                                                fake_store: Store, world: World):
    assert post_report(client, submission()).status_code == 201
    post_report(client, submission(), path=f"/api/v1/{CANARY}")
    client.get(f"/?q={CANARY}", headers={"X-Request-ID": CANARY, "User-Agent": CANARY})
    # even a value that should never be in a label position in Redis does not get out
    case_id = world.case("watford")
    fake_store.redis.hset(fake_store.keys.case(case_id), "district", CANARY)
    world.route(case_id)
    fake_store.redis.hincrby("test:counters", f"NotificationSent|{CANARY}", 1)
    fake_store.redis.hincrby("test:counters", f"CaseReceived|{CANARY}|{CANARY}", 1)
    fake_store.redis.hset(KOMBU_UNACKED, "tag", json.dumps([{}, "", CANARY]))
    text = client.get("/metrics").text + console.get("/metrics").text
    assert CANARY.lower() not in text.lower()
    assert 'district="other"' in text
    samples = parse(console.get("/metrics").text)
    assert sample(samples, "liaison_notifications_total", kind="other", outcome="sent") == 1
    assert sample(samples, "liaison_cases_received_total", kind="other", priority="other") == 1


TOKEN = "metrics-token-0123456789abcdef"


def test_without_a_token_metrics_are_a_404_in_production_even_from_loopback(
        fake_store: Store, publisher: FakePublisher):
    for create in (create_intake, create_console):
        app = create(no_limiter_redis(env="production"), store=fake_store,
                     publisher=publisher)
        with app.test_client() as c:
            for address in ("127.0.0.1", "10.1.2.3", "203.0.113.9"):
                resp = c.get("/metrics", environ_base={"REMOTE_ADDR": address})
                assert resp.status_code == 404
                assert "liaison_" not in resp.text


def test_without_a_token_metrics_answer_loopback_only_outside_production(
        fake_store: Store, publisher: FakePublisher):
    for env in ("test", "development"):
        for create in (create_intake, create_console):
            app = create(no_limiter_redis(env=env), store=fake_store, publisher=publisher)
            with app.test_client() as c:
                local = c.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
                local6 = c.get("/metrics", environ_base={"REMOTE_ADDR": "::1"})
                private = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
                public = c.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
            assert (local.status_code, local6.status_code) == (200, 200)
            assert (private.status_code, public.status_code) == (404, 404)


@pytest.mark.parametrize("env", ["production", "test"])
def test_with_a_token_metrics_need_the_bearer_token_from_any_address(
        env: str, fake_store: Store, publisher: FakePublisher):
    for create in (create_intake, create_console):
        app = create(no_limiter_redis(env=env, metrics_token=TOKEN), store=fake_store,
                     publisher=publisher)
        with app.test_client() as c:
            for address in ("127.0.0.1", "10.1.2.3", "203.0.113.9"):
                base = {"REMOTE_ADDR": address}
                good = c.get("/metrics", environ_base=base,
                             headers={"Authorization": f"Bearer {TOKEN}"})
                assert good.status_code == 200 and "liaison_http_requests" in good.text
                for header in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                               {"Authorization": f"Basic {TOKEN}"},
                               {"Authorization": f"Bearer {TOKEN}x"},
                               {"Authorization": "Bearer"}):
                    bad = c.get("/metrics", environ_base=base, headers=header)
                    assert bad.status_code == 401, (address, header)
                    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
                    assert "liaison_" not in bad.text


def test_a_forged_forwarded_for_does_not_open_metrics(fake_store: Store,
                                                      publisher: FakePublisher):
    """A public client sending `X-Forwarded-For: 127.0.0.1` straight to the app stays
    public; the same header from a trusted proxy on loopback names the real client."""
    for create in (create_intake, create_console):
        app = create(no_limiter_redis(trusted_proxies=("10.0.0.5",)), store=fake_store,
                     publisher=publisher)
        with app.test_client() as c:
            forged = c.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                           headers={"X-Forwarded-For": "127.0.0.1"})
            via_proxy = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"},
                              headers={"X-Forwarded-For": "127.0.0.1"})
            public_via_proxy = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"},
                                     headers={"X-Forwarded-For": "203.0.113.9"})
        assert forged.status_code == 404
        assert via_proxy.status_code == 200
        assert public_via_proxy.status_code == 404


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.7", False), ("192.168.1.20", False), ("fd12:3456::1", False),
    ("203.0.113.9", False), ("", False), (None, False), ("not-an-ip", False),
])
def test_only_loopback_addresses_are_loopback(address: str | None, loopback: bool):
    assert _loopback(address) is loopback


@pytest.mark.parametrize("value, label", [
    ("watford", "watford"), ("st_albans", "st_albans"), ("force_wide", "force_wide"),
    ("dead_lettered", "dead_lettered"), ("1", "1"), ("", "other"), (CANARY, "other"),
    ("Sam Smith", "other"), ("a" * 41, "other"), ("x\ny", "other"),
])
def test_safe_label_keeps_codes_and_drops_free_text(value: str, label: str):
    assert safe_label(value) == label


# the dashboard and the alert rules

@pytest.fixture
def exported(client: FlaskClient, console: FlaskClient, world: World) -> set[str]:
    """Every metric and sample name the two apps export, with every family present (a sign
    of life from a worker, a timer set, a request counted)."""
    world.officer("alex", "watford")
    routed = world.new_routed_case("watford")
    world.store.notifications.finish(routed.notification_id, "sent")
    client.get("/")
    console.get("/")
    found: set[str] = set()
    for c in (client, console):
        text = c.get("/metrics").text
        found |= families(text) | names(parse(text))
    return found


def used_names(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


def balanced(expr: str) -> bool:
    depth: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in re.sub(r'"[^"]*"', '""', expr):
        if char in "([{":
            depth.append(char)
        elif char in pairs and (not depth or depth.pop() != pairs[char]):
            return False
    return not depth


def test_the_grafana_dashboard_only_uses_metrics_we_export(exported: set[str]):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "service", "district"}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    queries = [variables[v]["definition"] for v in ("service", "district")]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert len(exprs) >= 20
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert all(balanced(e) for e in exprs), [e for e in exprs if not balanced(e)]
    used = used_names(exprs + queries)
    assert used - exported == set()
    for needed in ("liaison_http_requests_total", "liaison_http_request_duration_seconds_bucket",
                   "liaison_cases_waiting", "liaison_cases_oldest_wait_seconds",
                   "liaison_queue_messages", "liaison_offers_total",
                   "liaison_notifications_total", "liaison_dead_letters_total",
                   "liaison_worker_last_seen_timestamp_seconds", "liaison_redis_up"):
        assert needed in used
    assert any('district=~"$district"' in e for e in exprs)
    assert any('service=~"$service"' in e for e in exprs)


def test_the_alert_rules_are_well_formed_and_only_use_metrics_we_export(exported: set[str]):
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"]
             for rule in group["rules"]]
    assert {r["alert"] for r in rules} == {
        "LiaisonEmergencyWaiting", "LiaisonWaitTooLong", "LiaisonDeadLetters",
        "LiaisonQueueNotDraining", "LiaisonTimersOverdue", "LiaisonRedisDown",
        "LiaisonMetricsMissing"}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert balanced(rule["expr"]), rule["alert"]
    exprs = [r["expr"] for r in rules]
    assert used_names(exprs) - exported == set()
    for needed in ("liaison_cases_waiting", "liaison_cases_oldest_wait_seconds",
                   "liaison_dead_letters_total", "liaison_queue_messages_ready",
                   "liaison_timers_earliest_due_timestamp_seconds", "liaison_redis_up",
                   "liaison_broker_up"):
        assert needed in used_names(exprs)
