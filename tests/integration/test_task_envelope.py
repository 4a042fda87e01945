"""The router message intake builds itself must look exactly like kombu's own."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from shared.config import Settings
from shared.messaging import ROUTE_QUEUE, CeleryPublisher, make_celery

pytestmark = pytest.mark.integration


def test_the_inline_message_has_the_shape_of_a_message_kombu_sends(redis_url, tmp_path):
    settings = Settings.for_tests(redis_url=redis_url, var_dir=tmp_path)
    app = make_celery("envelope", settings)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    CeleryPublisher(app).route_case("case-one")                    # kombu's own publish
    [sent] = [json.loads(m) for m in client.lrange(ROUTE_QUEUE, 0, -1)]
    queue, raw = CeleryPublisher(app, inline=True).route_message("case-two")  # ours
    built = json.loads(raw)

    assert queue == ROUTE_QUEUE
    assert built.keys() == sent.keys()
    assert built["headers"].keys() == sent["headers"].keys()
    assert built["properties"].keys() == sent["properties"].keys()
    for key in ("content-type", "content-encoding"):
        assert built[key] == sent[key]
    for key in ("delivery_mode", "delivery_info", "priority", "body_encoding"):
        assert built["properties"][key] == sent["properties"][key]
    assert built["headers"]["task"] == sent["headers"]["task"] == "router.assign_case"
    sent_body = json.loads(base64.b64decode(sent["body"]))
    built_body = json.loads(base64.b64decode(built["body"]))
    assert sent_body[0] == ["case-one"] and built_body[0] == ["case-two"]
    assert built_body[1:] == sent_body[1:]
    app.close()


def test_no_inline_message_when_the_broker_is_elsewhere(tmp_path):
    settings = Settings.for_tests(var_dir=tmp_path)
    assert CeleryPublisher(make_celery("envelope", settings)).route_message("x") is None
