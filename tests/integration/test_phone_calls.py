"""A callback taken by a 101 call handler in the console reaches a liaison officer's offer
through a real router worker on a real Redis — and never the call handler's, though she is
on shift, available and in the same district. What the caller said (a canary) reaches no
log — the console's or the router's — and nothing plain in Redis (its queues included)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from services.console.app import create_app
from shared.config import Settings
from shared.domain.officers import Officer, Role
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.integration.test_intake_reliability import _dump_every_value
from tests.support.cases import CANARY
from tests.support.console import page_token, signed_in, use_cheap_hashing
from tests.support.stack import CeleryProcess, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
INSTANT_RINGS = "1=0/0/0,2=0/0/0,3=0/0/0,4=0/0/0"


@pytest.fixture
def router(redis_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Store, CeleryProcess]]:
    env = stack_env(redis_url, tmp_path, LIAISON_RINGS=INSTANT_RINGS)
    settings = Settings.from_env(env)
    store = Store(redis_client(redis_url))
    worker = CeleryProcess.worker("services.router.celery_app", "route", env, tmp_path,
                                  name="router")
    worker.start()
    try:
        yield settings, store, worker
    finally:
        worker.stop()


def test_a_phoned_in_callback_is_offered_to_an_officer_not_the_call_handler(
        router: tuple[Settings, Store, CeleryProcess], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    use_cheap_hashing(monkeypatch)
    settings, store, worker = router
    # the call handler first: were she routable, she would be idle longest
    for staff_id, role in (("cara", Role.CALL_HANDLER), ("olu", Role.OFFICER)):
        store.officers.save(Officer(id=staff_id, name=staff_id.title(),
                                    districts=("stevenage",), role=role, rota=always_on()),
                            on_shift=True, next_change=None)
    publisher = CeleryPublisher(make_celery("test-console", settings))
    app = create_app(settings, store=store, publisher=publisher)
    cara = signed_in(app, store, "cara")
    form = MultiDict([
        ("csrf_token", page_token(cara, "/call/callback")), ("danger", "no"),
        ("contact.name", f"Jo {CANARY}"), ("contact.channels", "phone"),
        ("contact.phone", "07700 900456"), ("contact.safe_times", "any_time"),
        ("contact.voicemail_ok", "no"), ("contact.shared_device", "no"),
        ("contact.say_police", "no"), ("home_area.postcode", "SG1 1AA"),
        ("reason", f"Advice about {CANARY}, please.")])

    resp = cara.post("/call/callback", data=form)

    assert resp.status_code == 200, resp.get_data(as_text=True)
    found = re.search(r'id="reference">([^<]+)<', resp.get_data(as_text=True))
    assert found
    case_id = store.cases.id_for_reference(found.group(1))
    assert case_id
    wait_for(lambda: (store.cases.get(case_id) or {}).get("state") == "offered", timeout=30,
             what="the router's offer")
    case = store.cases.get(case_id) or {}
    assert case["officer"] == "olu" and case["taken_by"] == "cara"
    assert store.officers.load("cara") == 0
    assert "case taken by phone" in caplog.text and CANARY not in caplog.text
    assert case_id in worker.log() and CANARY not in worker.log()
    assert CANARY not in _dump_every_value(store.redis)
