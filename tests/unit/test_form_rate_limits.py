"""Only accepted form submissions count towards the public limit (LIAISON_RATE_LIMIT); the
ones sent back to be corrected count towards a separate, higher cap
(LIAISON_RATE_LIMIT_FAILED), so someone fixing mistakes is not refused."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import free_port
from services.intake.app import create_app
from shared.config import Settings
from shared.store import Store
from tests.fakes import FakePublisher
from tests.forms import report_form, walk_report


def intake(fake_store: Store, publisher: FakePublisher, *, rate: str, failed: str) -> Flask:
    """Intake whose limiter counts in memory (its Redis port is closed)."""
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  rate_limit=rate, rate_limit_failed=failed)
    return create_app(settings, store=fake_store, publisher=publisher)


def submit(client: FlaskClient, **overrides: object) -> int:
    """A whole report, step by step, then sent: the status of the last answer (a step sent
    back to be corrected, a refusal, or the confirmation). Saved steps count towards
    neither limit: only sending does, or a step sent back."""
    with client.session_transaction() as session:
        session.clear()  # a new person's draft each time
    return int(walk_report(client, report_form(**overrides)).status_code)


def test_failed_validations_do_not_use_up_the_public_limit(fake_store: Store,
                                                           publisher: FakePublisher):
    app = intake(fake_store, publisher, rate="3 per minute", failed="30 per minute")
    with app.test_client() as client:
        mistakes = [submit(client, what_happened="") for _ in range(10)]
        accepted = [submit(client) for _ in range(3)]
        over = submit(client)
    assert mistakes == [422] * 10
    assert accepted == [200] * 3          # the confirmation page, not a 429
    assert over == 429                    # the 4th accepted one in the minute is refused


def test_many_failed_submissions_hit_the_failure_cap(fake_store: Store,
                                                     publisher: FakePublisher):
    app = intake(fake_store, publisher, rate="3 per minute", failed="5 per minute")
    with app.test_client() as client:
        mistakes = [submit(client, what_happened="") for _ in range(7)]
        valid = submit(client)
    assert mistakes == [422] * 5 + [429, 429]
    assert valid == 429  # the cap applies to every submission from that address for now


def test_the_two_limits_count_apart_even_when_their_rates_are_equal(
        fake_store: Store, publisher: FakePublisher):
    app = intake(fake_store, publisher, rate="2 per minute", failed="2 per minute")
    with app.test_client() as client:
        codes = [submit(client), submit(client, what_happened=""),
                 submit(client, what_happened=""), submit(client)]
    assert codes == [200, 422, 422, 429]
