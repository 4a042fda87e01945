"""`/metrics` against a real redis-server: the queue as the operator's Prometheus sees it,
Redis unreachable, and gunicorn workers adding up their counts in multiprocess mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.domain.model import Priority
from shared.store import Store, redis_client
from tests import payloads
from tests.fakes import FakePublisher
from tests.support.cases import route
from tests.support.processes import run_intake

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


def test_a_routed_case_nobody_can_take_shows_in_the_waiting_gauges(
        client: FlaskClient, store: Store, real_settings: Settings):
    resp = client.post("/api/v1/reports", data=json.dumps(payloads.report()),
                       content_type="application/json")
    assert resp.status_code == 201, resp.json
    case_id = store.cases.id_for_reference(resp.json["reference"])
    assert case_id is not None
    assert route(store, real_settings, case_id).outcome == "waiting"  # no officers at all
    case = store.cases.get(case_id) or {}
    district, priority = case["district"], Priority(int(case["priority"])).label
    samples = parse(client.get("/metrics").text)
    assert sample(samples, "liaison_redis_up") == 1
    assert sample(samples, "liaison_cases_waiting", district=district, priority=priority) == 1
    assert sample(samples, "liaison_cases_open", state="waiting", district=district) == 1
    assert (sample(samples, "liaison_cases_oldest_wait_seconds", district=district,
                   priority=priority) or 0) >= 0
    assert sample(samples, "liaison_http_requests_total", service="intake", method="POST",
                  endpoint="/api/v1/reports", status="201") == 1


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
    samples = parse(resp.text)
    assert sample(samples, "liaison_redis_up") == 0
    assert sample(samples, "liaison_http_requests_total", service="intake", method="GET",
                  endpoint="/", status="200") == 1


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
            assert sample(samples, "liaison_redis_up") == 1
    finally:
        server.close()
    assert counts == [12.0] * 4
    assert any(metrics_dir.iterdir())
