"""`/metrics` on fakeredis: request counts by URL rule, state gauges derived from the store,
no personal data in labels, not served to the internet, and a dashboard that matches."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ops.devredis import free_port
from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from shared import casework
from shared.config import Settings
from shared.metrics import StateCollector, _internal, safe_label
from shared.store import Store
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.support.cases import submission
from tests.support.world import Clock, World

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample as {(name, labels): value}."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


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
    """Test settings whose rate limiter points at a closed port (it falls back to memory)."""
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


def test_the_console_serves_its_own_metrics(fake_store: Store, publisher: FakePublisher):
    console = create_console(no_limiter_redis(), store=fake_store, publisher=publisher)
    with console.test_client() as c:
        c.get("/")
        samples = scrape(c)
    assert sample(samples, "liaison_http_requests_total", service="console", method="GET",
                  endpoint="/", status="302") == 1  # "/" sends anonymous callers to sign in
    assert sample(samples, "liaison_redis_up") == 1


# state from Redis

def test_state_gauges_show_open_cases_and_the_queue_by_district(
        client: FlaskClient, world: World):
    world.officer("alex", "watford", capacity=1)
    offered = world.new_routed_case("watford")
    assert offered.outcome == "offered"
    waits = [world.new_routed_case("watford", high=True), world.new_routed_case("stevenage")]
    assert [r.outcome for r in waits] == ["waiting", "waiting"]
    samples = scrape(client)
    assert sample(samples, "liaison_cases_open", state="offered", district="watford") == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district="watford") == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district="stevenage") == 1
    assert sample(samples, "liaison_cases_waiting", district="watford", priority="high") == 1
    assert sample(samples, "liaison_cases_waiting", district="stevenage",
                  priority="standard") == 1
    assert sample(samples, "liaison_cases_waiting", district="watford",
                  priority="standard") in (None, 0)
    assert sample(samples, "liaison_offers_last_24h", outcome="offered") == 1
    assert sample(samples, "liaison_cases_received_last_24h", district="watford") == 2


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


def test_known_districts_report_zero_rather_than_nothing(fake_store: Store, world: World):
    fake_store.force.save("herts", "Hertfordshire", "Europe/London",
                          {d: d.title() for d in world.force.districts})
    samples = collect(StateCollector(fake_store))
    for district in world.force.districts:
        assert sample(samples, "liaison_cases_waiting", district=district,
                      priority="emergency") == 0
    assert sample(samples, "liaison_offers_last_24h", outcome="declined") == 0


def test_offer_and_notification_outcomes_come_from_the_events_stream(world: World):
    world.officer("alex", "watford", capacity=2)
    world.officer("blake", "watford", capacity=2)
    first = world.new_routed_case("watford")
    world.decline(first.case_id)
    world.route(first.case_id)                       # offered again, to the other officer
    notes = world.store.notifications
    assert notes.finish(first.notification_id, "sent")
    second = world.new_routed_case("watford")
    notes.fail(second.notification_id, "SMTPError", time.time() + 60)
    notes.dead_letter(second.notification_id, time.time())
    samples = collect(StateCollector(world.store, clock=world.clock))
    offers = "liaison_offers_last_24h"
    assert sample(samples, offers, outcome="offered") == 3
    assert sample(samples, offers, outcome="declined") == 1
    assert sample(samples, offers, outcome="accepted") == 0
    notified = "liaison_notifications_last_24h"
    assert sample(samples, notified, outcome="sent", kind="offer") == 1
    assert sample(samples, notified, outcome="failed", kind="offer") == 1
    assert sample(samples, notified, outcome="dead_lettered", kind="offer") == 1
    assert sample(samples, notified, outcome="sent", kind="emergency") == 0


def test_closed_cases_leave_the_open_counts_and_count_as_closed(world: World):
    world.officer("alex", "dacorum")
    routed = world.new_routed_case("dacorum")
    casework.accept(world.deps, routed.case_id, "alex")
    samples = collect(StateCollector(world.store, clock=world.clock, cache_seconds=0))
    assert sample(samples, "liaison_cases_open", state="accepted", district="dacorum") == 1
    casework.close(world.deps, routed.case_id, "alex", "advice_given")
    samples = collect(StateCollector(world.store, clock=world.clock, cache_seconds=0))
    assert sample(samples, "liaison_cases_open", state="accepted", district="dacorum") in (0,
                                                                                            None)
    assert sample(samples, "liaison_cases_closed_last_24h", district="dacorum") == 1


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


def test_metrics_answer_with_redis_up_zero_when_redis_is_down(publisher: FakePublisher):
    server = fakeredis.FakeServer()
    server.connected = False
    store = Store(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="test:")
    app = create_intake(no_limiter_redis(), store=store, publisher=publisher)
    with app.test_client() as c:
        c.get("/")
        samples = scrape(c)
    assert sample(samples, "liaison_redis_up") == 0
    assert sample(samples, "liaison_http_requests_total", service="intake", method="GET",
                  endpoint="/", status="200") == 1
    assert not any(name.startswith("liaison_cases_") for name, _ in samples)


# privacy and exposure

def test_labels_never_carry_what_a_person_typed(client: FlaskClient, fake_store: Store,
                                                world: World):
    assert post_report(client, submission()).status_code == 201
    post_report(client, submission(), path=f"/api/v1/{CANARY}")
    client.get(f"/?q={CANARY}", headers={"X-Request-ID": CANARY, "User-Agent": CANARY})
    # even a value that should never be in a label position in Redis does not get out
    case_id = world.case("watford")
    fake_store.redis.hset(fake_store.keys.case(case_id), "district", CANARY)
    world.route(case_id)
    fake_store.redis.xadd(fake_store.keys.events, {"type": "NotificationSent", "kind": CANARY})
    text = client.get("/metrics").text
    assert CANARY.lower() not in text.lower()
    assert 'district="other"' in text


def test_metrics_are_a_404_for_public_addresses_outside_tests(
        fake_store: Store, publisher: FakePublisher):
    app = create_intake(no_limiter_redis(env="production"), store=fake_store,
                        publisher=publisher)
    with app.test_client() as c:
        public = c.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
        local = c.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        private = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert public.status_code == 404
    assert "liaison_" not in public.text
    assert (local.status_code, private.status_code) == (200, 200)


@pytest.mark.parametrize("address, internal", [
    ("127.0.0.1", True), ("::1", True), ("10.0.0.7", True), ("192.168.1.20", True),
    ("172.20.0.3", True), ("fd12:3456::1", True), ("::ffff:127.0.0.1", True),
    ("203.0.113.9", False), ("8.8.8.8", False), ("172.32.0.1", False), ("169.254.1.1", False),
    ("2001:4860:4860::8888", False), ("", False), (None, False), ("not-an-ip", False),
])
def test_only_loopback_and_private_addresses_are_internal(address: str | None, internal: bool):
    assert _internal(address) is internal


@pytest.mark.parametrize("value, label", [
    ("watford", "watford"), ("st_albans", "st_albans"), ("force_wide", "force_wide"),
    ("dead_lettered", "dead_lettered"), ("1", "1"), ("", "other"), (CANARY, "other"),
    ("Sam Smith", "other"), ("a" * 41, "other"), ("x\ny", "other"),
])
def test_safe_label_keeps_codes_and_drops_free_text(value: str, label: str):
    assert safe_label(value) == label


# the example dashboard

def test_the_grafana_dashboard_only_uses_metrics_we_export(
        client: FlaskClient, fake_store: Store):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    client.get("/")
    exported = {name for name, _ in scrape(client)}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 8
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert panel["targets"], panel["title"]
    used = {name for expr in exprs for name in re.findall(r"\bliaison_[a-z0-9_]+", expr)}
    assert used - exported == set()
    for needed in ("liaison_http_requests_total", "liaison_http_request_duration_seconds_bucket",
                   "liaison_cases_waiting", "liaison_cases_oldest_wait_seconds",
                   "liaison_offers_last_24h", "liaison_notifications_last_24h"):
        assert needed in used
