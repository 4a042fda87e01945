"""The intake service as it runs for real: gunicorn workers, a real redis-server, HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests import payloads
from tests.forms import report_form, walk_report
from tests.support.processes import run_intake

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def intake_url(redis_url: str, tmp_path: Path) -> Iterator[str]:
    yield from run_intake(redis_url, tmp_path, "1000 per minute")


def test_reports_and_callbacks_over_http(intake_url: str, redis_url: str):
    report = requests.post(f"{intake_url}/api/v1/reports", json=payloads.report(), timeout=10)
    assert report.status_code == 201, report.text
    callback = requests.post(f"{intake_url}/api/v1/callbacks", json=payloads.callback(),
                             timeout=10)
    assert callback.status_code == 201, callback.text
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for body in (report.json(), callback.json()):
        assert client.exists(f"liaison:ref:{body['reference']}")
    assert client.zcard("liaison:outbox") == 2
    assert client.llen("route") == 2  # published to the router's queue


def test_a_bad_report_over_http_is_422_with_field_messages(intake_url: str):
    resp = requests.post(f"{intake_url}/api/v1/reports",
                         json=payloads.report(when={"date": "2999-01-01"}), timeout=10)
    assert resp.status_code == 422
    assert resp.json()["errors"]["json"]["when"]["date"] == ["The date cannot be in the future."]


def test_hostile_bodies_over_http_are_a_4xx_never_a_500(intake_url: str):
    """Under gunicorn a chunked body has no Content-Length: over the limit it is still 413."""
    def ten_megabytes() -> Iterator[bytes]:  # requests sends a generator chunked
        yield b'{"what_happened": "'
        for _ in range(10):
            yield b"x" * 1_000_000
        yield b'"}'

    too_big = requests.post(f"{intake_url}/api/v1/reports", data=ten_megabytes(),
                            headers={"Content-Type": "application/json"}, timeout=30)
    assert too_big.status_code == 413, too_big.text[:300]
    assert too_big.json()["code"] == 413
    small = requests.post(f"{intake_url}/api/v1/reports",
                          data=iter([json.dumps(payloads.report()).encode()]),
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert small.status_code == 201, small.text[:300]
    for body, problem in (("[" * 30_000, "nested too deeply"),
                          ('{"a": ' + "1" * 5_000 + "}", "number")):
        resp = requests.post(f"{intake_url}/api/v1/reports", data=body,
                             headers={"Content-Type": "application/json"}, timeout=10)
        assert resp.status_code == 400, resp.text[:300]
        assert problem in resp.json()["message"]


def test_the_form_over_http_with_its_csrf_cookie(intake_url: str):
    session = requests.Session()
    resp = walk_report(session, report_form(), base=intake_url)
    assert resp.status_code == 200, resp.text[:2000]
    assert 'id="reference"' in resp.text
    cookie = next(c for c in session.cookies if c.name == "liaison_intake")
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_the_rate_limit_is_shared_by_every_gunicorn_worker(redis_url: str, tmp_path: Path):
    """Limits live in Redis, so two workers cannot each grant the full budget."""
    server = run_intake(redis_url, tmp_path, "5 per minute")
    url = next(server)
    try:
        codes = [requests.post(f"{url}/api/v1/reports", json=payloads.report(),
                               timeout=10).status_code for _ in range(8)]
    finally:
        server.close()
    assert codes.count(201) == 5
    assert codes[5:] == [429, 429, 429]


def test_partners_have_their_own_rate_limit_apart_from_the_public_forms(
        redis_url: str, tmp_path: Path):
    """A reporting centre's 11th report in a minute is not refused by the public form
    limit; the API has its own (here 12 a minute), and the forms keep theirs."""
    server = run_intake(redis_url, tmp_path, "3 per minute", api_rate="12 per minute")
    url = next(server)
    try:
        codes = [requests.post(f"{url}/api/v1/reports", json=payloads.report(),
                               timeout=10).status_code for _ in range(14)]
        refused = requests.post(f"{url}/api/v1/reports", json=payloads.report(), timeout=10)
    finally:
        server.close()
    assert codes == [201] * 12 + [429, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
