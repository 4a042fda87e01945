"""No Sentinel answers (all down, or none knows the master): intake answers 503 with
Retry-After and keeps nothing half-written, as for a Redis that is down."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from tests import payloads
from tests.fakes import FakePublisher

pytestmark = pytest.mark.integration


def test_intake_answers_503_when_no_sentinel_answers(tmp_path: Path):
    listener = socket.socket()  # a port that refuses: nothing listens behind it
    listener.bind(("127.0.0.1", 0))
    closed = listener.getsockname()[1]
    listener.close()
    settings = Settings.for_tests(
        redis_sentinels=(f"127.0.0.1:{closed}", f"127.0.0.1:{free_port()}"),
        var_dir=tmp_path, api_rate_limit="1000 per minute")
    publisher = FakePublisher()
    app = create_app(settings, publisher=publisher)
    began = time.monotonic()
    answer = app.test_client().post("/api/v1/reports", data=json.dumps(payloads.report()),
                                    content_type="application/json",
                                    headers={"Idempotency-Key": "no-sentinel-1"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    assert time.monotonic() - began < 2  # a dead Sentinel is skipped, not retried for long
    assert publisher.sent == []
    assert app.test_client().get("/readyz").status_code == 503
