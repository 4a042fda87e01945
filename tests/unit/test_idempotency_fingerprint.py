"""The idempotency record (`idem:{key}`) keeps a keyed HMAC of the submission, not its bare
SHA-256 (which anyone could test a guess of the text against), and replays and conflicts
still work."""

from __future__ import annotations

import hashlib
import json

from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.receiving import _canonical, submission_fingerprint
from shared.sealing import Sealer
from shared.store import Store
from tests import payloads
from tests.fakes import FakePublisher


def intake(fake_store: Store, publisher: FakePublisher) -> tuple[Flask, Settings]:
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  api_rate_limit="1000 per minute")
    return create_app(settings, store=fake_store, publisher=publisher), settings


def post(client: FlaskClient, body: object, key: str):
    return client.post("/api/v1/reports", data=json.dumps(body),
                       content_type="application/json", headers={"Idempotency-Key": key})


def stored(store: Store, key: str) -> dict[str, str]:
    raw = store.redis.get(store.keys.idempotency(key))
    assert raw is not None
    return json.loads(raw)


def test_the_stored_fingerprint_is_a_keyed_hmac_not_a_bare_sha256(
        fake_store: Store, publisher: FakePublisher):
    app, settings = intake(fake_store, publisher)
    with app.test_client() as client:
        first = post(client, payloads.report(), "partner-fp-000001")
    assert first.status_code == 201
    record = stored(fake_store, "partner-fp-000001")
    case = fake_store.cases.get(record["case_id"])
    assert case is not None
    submission = Sealer(settings.sealing_keys).unseal(case["sealed"])["submission"]
    canonical = _canonical(submission)

    assert record["fingerprint"] != hashlib.sha256(canonical.encode()).hexdigest()
    assert record["fingerprint"] == submission_fingerprint(settings.secret_key, canonical)
    assert submission_fingerprint("another-secret-" * 3, canonical) != record["fingerprint"]


def test_a_replay_returns_the_same_case_and_a_different_body_conflicts(
        fake_store: Store, publisher: FakePublisher):
    app, _ = intake(fake_store, publisher)
    body = payloads.report()
    with app.test_client() as client:
        first = post(client, body, "partner-fp-000002")
        again = post(client, body, "partner-fp-000002")
        other = post(client, payloads.report(happening_now=not body.get("happening_now")),
                     "partner-fp-000002")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json["reference"] == first.json["reference"]


def test_a_key_stored_with_the_old_bare_sha256_still_replays(
        fake_store: Store, publisher: FakePublisher):
    """Keys written before the change stay replayable until they expire."""
    app, _ = intake(fake_store, publisher)
    body = payloads.report()
    with app.test_client() as client:
        first = post(client, body, "partner-fp-000003")
        redis_key = fake_store.keys.idempotency("partner-fp-000003")
        record = stored(fake_store, "partner-fp-000003")
        case = fake_store.cases.get(record["case_id"])
        assert case is not None
        settings = app.extensions["liaison_settings"]
        canonical = _canonical(
            Sealer(settings.sealing_keys).unseal(case["sealed"])["submission"])
        record["fingerprint"] = hashlib.sha256(canonical.encode()).hexdigest()
        fake_store.redis.set(redis_key, json.dumps(record), keepttl=True)
        again = post(client, body, "partner-fp-000003")
    assert again.status_code == 200 and again.json["reference"] == first.json["reference"]
