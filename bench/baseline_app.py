"""The intake baseline: a bare Flask app whose one POST route does one Redis LPUSH.

Served by gunicorn with the same worker count as intake, it is the floor any intake
request pays on this machine (HTTP parsing, WSGI, one Redis round trip):

    gunicorn --workers 2 'bench.baseline_app:create_app()'

POST /report is the first step of the lightest pipeline (`bench.baseline_pipeline`): one
Redis write and one Celery task, answering the id as `reference`.
"""

from __future__ import annotations

import uuid

from flask import Flask, request

from bench import baseline_pipeline as pipe
from shared.config import Settings
from shared.messaging import make_celery
from shared.store import redis_client

QUEUE_KEY = "bench:baseline"


def create_app(settings: Settings | None = None) -> Flask:
    """One route, POST /push: LPUSH the body, answer 201; connects on first request."""
    settings = settings or Settings.from_env()
    client = redis_client(settings.redis_url)
    app = Flask(__name__)

    @app.post("/push")
    def push() -> tuple[dict[str, str], int]:
        client.lpush(QUEUE_KEY, request.get_data())
        return {"status": "queued"}, 201

    celery = make_celery("bench-baseline-web", settings)

    @app.post("/report")
    def report() -> tuple[dict[str, str], int]:
        case_id = uuid.uuid4().hex
        client.set(pipe.CASE_KEY + case_id, request.get_data())
        celery.send_task(pipe.ROUTE, args=[case_id], queue=pipe.ROUTE_QUEUE)
        return {"reference": case_id}, 201

    @app.get("/healthz")
    def healthz() -> dict[str, str]:  # so the tests' process runner can wait for it
        return {"status": "ok"}

    return app
