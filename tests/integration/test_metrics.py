"""`/metrics` against a real redis-server: the queue as the operator's Prometheus sees it on
the console, Celery's queues as kombu really keeps them, counters that survive a restart of
Redis, Redis unreachable, and gunicorn workers adding up their counts in multiprocess mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ops.devredis import EmbeddedRedis, free_port
from services.console.app import create_app as create_console
from services.intake.app import create_app
from shared.config import Settings
from shared.domain.model import Priority
from shared.messaging import NOTIFY_QUEUE, ROUTE_QUEUE, SWEEP_QUEUE, CeleryPublisher, make_celery
from shared.sealing import new_key
from shared.store import Store, redis_client
from tests import payloads
from tests.fakes import FakePublisher
from tests.support.cases import route
from tests.support.processes import run_intake, run_web

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def app(real_settings: Settings, publisher: FakePublisher) -> Flask:
    return create_app(real_settings, publisher=publisher)


@pytest.fixture
def console(real_settings: Settings, publisher: FakePublisher) -> FlaskClient:
    """The console's client (the state of the work is on its /metrics), without `with`
    beside intake's."""
    return create_console(real_settings, publisher=publisher).test_client()


def test_a_routed_case_nobody_can_take_shows_in_the_waiting_gauges(
        client: FlaskClient, console: FlaskClient, store: Store, real_settings: Settings):
    resp = client.post("/api/v1/reports", data=json.dumps(payloads.report()),
                       content_type="application/json")
    assert resp.status_code == 201, resp.json
    case_id = store.cases.id_for_reference(resp.json["reference"])
    assert case_id is not None
    assert route(store, real_settings, case_id).outcome == "waiting"  # no officers at all
    case = store.cases.get(case_id) or {}
    district, priority = case["district"], Priority(int(case["priority"])).label
    samples = parse(console.get("/metrics").text)
    assert sample(samples, "liaison_redis_up") == 1
    assert sample(samples, "liaison_cases_waiting", district=district, priority=priority) == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district=district) == 1
    assert (sample(samples, "liaison_cases_oldest_wait_seconds", district=district,
                   priority=priority) or 0) >= 0
    assert sample(samples, "liaison_cases_received_total", kind="report",
                  priority=priority) == 1
    intake = parse(client.get("/metrics").text)
    assert sample(intake, "liaison_http_requests_total", service="intake", method="POST",
                  endpoint="/api/v1/reports", status="201") == 1
    assert sample(intake, "liaison_redis_up") is None  # the console's to report


def test_queue_depths_are_read_as_kombu_keeps_them(console: FlaskClient,
                                                   real_settings: Settings):
    """Real Celery messages: two for the router and one for the notifier, which a consumer
    has taken and not acknowledged (kombu moves it to its `unacked` hash)."""
    celery = make_celery("metrics-test", real_settings)
    publisher = CeleryPublisher(celery)
    assert publisher.route_case("c1") and publisher.route_case("c2")
    assert publisher.deliver_notification("n1")
    with celery.connection_for_read() as conn:
        taken = conn.default_channel.basic_get(NOTIFY_QUEUE, no_ack=False)
        assert taken is not None
        samples = parse(console.get("/metrics").text)
    assert sample(samples, "liaison_broker_up") == 1
    expected = {ROUTE_QUEUE: (2, 0), NOTIFY_QUEUE: (0, 1), SWEEP_QUEUE: (0, 0)}
    for queue, (ready, unacked) in expected.items():
        assert sample(samples, "liaison_queue_messages_ready", queue=queue) == ready, queue
        assert sample(samples, "liaison_queue_messages_unacked", queue=queue) == unacked, queue
        assert sample(samples, "liaison_queue_messages", queue=queue) == ready + unacked


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own (AOF on), to stop and start again."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_counters_survive_a_restart_of_redis(own_redis: EmbeddedRedis, tmp_path: Path,
                                             publisher: FakePublisher):
    settings = Settings.for_tests(redis_url=own_redis.url, var_dir=tmp_path,
                                  rate_limit="1000 per minute",
                                  api_rate_limit="1000 per minute")
    store = Store(redis_client(settings.redis_url), prefix=settings.key_prefix)
    intake = create_app(settings, store=store, publisher=publisher).test_client()
    for _ in range(3):
        assert intake.post("/api/v1/reports", data=json.dumps(payloads.report()),
                           content_type="application/json").status_code == 201
    before = parse(create_console(settings, publisher=publisher).test_client()
                   .get("/metrics").text)
    own_redis.stop()   # SIGTERM: the AOF is flushed, as on any orderly restart
    own_redis.start()
    after = parse(create_console(settings, publisher=publisher).test_client()
                  .get("/metrics").text)
    received = {labels: value for (name, labels), value in after.items()
                if name == "liaison_cases_received_total"}
    assert sum(received.values()) == 3
    assert received == {labels: value for (name, labels), value in before.items()
                        if name == "liaison_cases_received_total"}


def test_metrics_still_answer_when_redis_is_unreachable(tmp_path: Path,
                                                        publisher: FakePublisher):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens here
    settings = Settings.for_tests(redis_url=dead, var_dir=tmp_path)
    store = Store(redis_client(dead, timeout=1.0), prefix=settings.key_prefix)
    app = create_app(settings, store=store, publisher=publisher)
    with app.test_client() as c:
        assert c.get("/").status_code == 200
        resp = c.get("/metrics")
    assert resp.status_code == 200
    assert sample(parse(resp.text), "liaison_http_requests_total", service="intake",
                  method="GET", endpoint="/", status="200") == 1
    console = create_console(settings, store=store, publisher=publisher).test_client()
    resp = console.get("/metrics")
    assert resp.status_code == 200
    samples = parse(resp.text)
    assert sample(samples, "liaison_redis_up") == 0
    assert sample(samples, "liaison_broker_up") == 0


@pytest.mark.slow
def test_gunicorn_workers_add_up_their_counts_in_multiprocess_mode(
        redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))  # for the child only
    server = run_intake(redis_url, tmp_path, "1000 per minute")
    url = next(server)
    try:
        with requests.Session() as session:
            for _ in range(12):
                assert session.get(f"{url}/", timeout=10).status_code == 200
        # Whichever of the two workers answers, it reports every worker's requests.
        counts = []
        for _ in range(4):
            samples = parse(requests.get(f"{url}/metrics", timeout=10).text)
            counts.append(sample(samples, "liaison_http_requests_total", service="intake",
                                 method="GET", endpoint="/", status="200"))
    finally:
        server.close()
    assert counts == [12.0] * 4
    assert any(metrics_dir.iterdir())


@pytest.mark.slow
def test_the_console_reports_the_state_of_the_work_in_multiprocess_mode(
        redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    metrics_dir = tmp_path / "prometheus-console"
    metrics_dir.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))  # for the child only
    env = {"LIAISON_ENV": "test", "LIAISON_REDIS_URL": redis_url,
           "LIAISON_SECRET_KEY": "k" * 8 + new_key(), "LIAISON_SEALING_KEYS": new_key(),
           "LIAISON_VAR_DIR": str(tmp_path)}
    server = run_web("services.console.app:create_app()", env, tmp_path)
    url = next(server)
    try:
        for _ in range(2):  # each worker's collector answers with the same families
            samples = parse(requests.get(f"{url}/metrics", timeout=10).text)
            assert sample(samples, "liaison_redis_up") == 1
            assert sample(samples, "liaison_broker_up") == 1
            assert sample(samples, "liaison_queue_messages", queue=ROUTE_QUEUE) == 0
            assert sample(samples, "liaison_cases_offered_total") == 0
    finally:
        server.close()
