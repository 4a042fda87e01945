"""Redis down at intake; personal data in no sink but the sealed field (canary search)."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import redis

from ops.devredis import EmbeddedRedis
from services.intake.app import create_app
from shared.config import Settings
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.forms import hidden_fields, report_form, send_report, walk_report

pytestmark = pytest.mark.integration


def _settings(url: str, tmp_path) -> Settings:
    return Settings.for_tests(redis_url=url, var_dir=tmp_path, rate_limit="1000 per minute",
                              api_rate_limit="1000 per minute")


def test_redis_down_gives_503_with_retry_after_and_nothing_half_written(
        redis_server: EmbeddedRedis, redis_url: str, tmp_path):
    app = create_app(_settings(redis_url, tmp_path), publisher=FakePublisher())
    client = app.test_client()
    form_page = client.get("/report/what-happened").get_data(as_text=True)
    assert walk_report(client, report_form(), send=False).status_code == 200  # all answered
    redis_server.stop()
    try:
        api = client.post("/api/v1/reports", json=payloads.report())
        assert api.status_code == 503
        assert api.headers["Retry-After"] == "30"
        assert "a retry never makes a second case" in api.json["message"]

        sent = client.post("/report/check-your-answers", data=hidden_fields(form_page))
        assert sent.status_code == 503 and sent.headers["Retry-After"] == "30"
        assert "call 999" in sent.text.lower() and "101" in sent.text
        # a step sent meanwhile keeps what was typed on the page
        page = client.post("/report/what-happened", data={
            **hidden_fields(form_page), "what_happened": report_form()["what_happened"]})
        html = page.get_data(as_text=True)
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "30"
        assert "A neighbour keeps shouting transphobic slurs" in html  # their text is kept
        assert "call 999" in html and "101" in html
        assert client.get("/readyz").status_code == 503
    finally:
        redis_server.start()
    store = Store(redis_client(redis_url))
    assert store.redis.keys("liaison:case:*") == []
    assert store.redis.keys("liaison:ref:*") == []
    # And once Redis is back, the same draft sends normally.
    again = send_report(client)
    assert again.status_code == 200, again.text[:500]
    assert len(store.redis.keys("liaison:ref:*")) == 1


def _dump_every_value(client: redis.Redis) -> str:
    """Every value in the database as text (hash fields, lists, sets, zsets, streams)."""
    out: list[str] = []
    for key in client.scan_iter("*"):
        kind = client.type(key)
        out.append(str(key))
        if kind == "string":
            out.append(str(client.get(key)))
        elif kind == "hash":
            out.append(json.dumps(client.hgetall(key)))
        elif kind == "list":
            out.extend(str(v) for v in client.lrange(key, 0, -1))
        elif kind == "set":
            out.extend(str(v) for v in client.smembers(key))
        elif kind == "zset":
            out.extend(str(v) for v in client.zrange(key, 0, -1))
        elif kind == "stream":
            out.extend(json.dumps(fields) for _, fields in client.xrange(key))
    return "\n".join(out)


def _broker_messages(client: redis.Redis, queue: str) -> list[dict]:
    """Kombu's messages on a queue with their bodies decoded."""
    messages = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        message["decoded_body"] = base64.b64decode(message["body"]).decode()
        messages.append(message)
    return messages


def test_a_canary_in_a_report_reaches_no_plaintext_sink(redis_url, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    settings = _settings(redis_url, tmp_path)
    publisher = CeleryPublisher(make_celery("liaison-intake-test", settings), inline=True)
    app = create_app(settings, publisher=publisher)
    client = app.test_client()
    report = payloads.report(
        what_happened=f"They shouted {CANARY} at me outside the club.",
        suspect_description=f"Tall, called himself {CANARY}",
        contact=payloads.contact(name=CANARY, email=f"{CANARY.lower()}@example.org"),
        needs={"language": "Welsh"},
    )
    resp = client.post("/api/v1/reports", json=report)
    assert resp.status_code == 201
    html = walk_report(client, report_form(**{
        "what_happened": f"Form account mentioning {CANARY} in detail.",
        "contact.name": CANARY})).get_data(as_text=True)
    assert 'id="reference"' in html

    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    everything = _dump_every_value(raw)
    assert "sealed" in everything  # the sealed blob is there, and it is ciphertext
    assert CANARY not in everything and CANARY.lower() not in everything

    messages = _broker_messages(raw, "route")
    assert len(messages) == 2
    case_id = raw.get(f"liaison:ref:{resp.json['reference']}")
    assert any(case_id in m["decoded_body"] for m in messages)  # ids travel...
    assert CANARY not in json.dumps(messages)                  # ...personal data never

    captured = capfd.readouterr()
    assert caplog.records, "the service logged nothing: the log check would prove nothing"
    assert CANARY not in caplog.text
    assert CANARY not in captured.out + captured.err
    # The response to the partner carries the reference, not the account.
    assert CANARY not in resp.get_data(as_text=True)
