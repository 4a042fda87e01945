"""Redis that answers but refuses writes: out of memory (`maxmemory` under `noeviction`) or
read-only (a replica, as a demoted master becomes). Each is "the store is unavailable":
intake answers 503 with Retry-After and keeps the form, the console shows its 503 page (the
sign-in page too: its session is written to Redis), the APIs answer JSON 503s, /readyz
fails, the router retries — and a refused case leaves nothing behind.

Out of memory is made on the session's redis-server (filled, then `CONFIG SET maxmemory`
below what it uses; freed by deleting the filler) and always restored; read-only on a
redis-server of the test's own (`REPLICAOF` a port where nothing listens), so the shared one
is never demoted.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient

from ops.devredis import EmbeddedRedis, free_port
from services.console.app import create_app as create_console
from services.intake.app import create_app as create_intake
from shared.config import Settings
from shared.domain.officers import Role
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, StoreUnavailable, redis_client
from shared.store.base import (
    CANNOT_PERSIST,
    OUT_OF_MEMORY,
    READ_ONLY,
    UNREACHABLE,
    translate_errors,
    write_refusal,
)
from tests import payloads
from tests.fakes import FakePublisher
from tests.forms import hidden_fields, report_form, send_report, walk_report
from tests.support.cases import add_staff, create_case, routed_case
from tests.support.console import PASSWORD, bearer, hashed, page_token, signed_in, use_cheap_hashing
from tests.support.processes import run_intake
from tests.support.stack import stack_env
from tests.support.workers import run_worker

pytestmark = pytest.mark.integration

FILLER = "filler:"
SECRET = "CANARY-Zq7x-9d41-Kestrel"
FORM_TEXT = "A neighbour keeps shouting transphobic slurs"  # in tests.forms.report_form


# --- making Redis refuse writes ------------------------------------------------------------

@contextmanager
def out_of_memory(url: str) -> Iterator[Callable[[], None]]:
    """Fill Redis with ~4 MB, then set `maxmemory` 2 MB below what it uses (`noeviction`):
    every write that needs memory is refused with OOM. Yields `free()`, which deletes the
    filler (writes work again, the limit still set); the limit, the policy and the filler
    are restored or removed whatever happens."""
    client = redis.Redis.from_url(url)
    limit = client.config_get("maxmemory")["maxmemory"]
    policy = client.config_get("maxmemory-policy")["maxmemory-policy"]
    pipe = client.pipeline(transaction=False)
    for i in range(400):
        pipe.set(f"{FILLER}{i}", b"x" * 10_000)
    pipe.execute()

    def free() -> None:
        for keys in _batches(client.scan_iter(f"{FILLER}*", count=500)):
            client.delete(*keys)  # DEL needs no memory: allowed when out of memory

    try:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", client.info("memory")["used_memory"] - 2_000_000)
        with pytest.raises(redis.exceptions.OutOfMemoryError):  # type: ignore[attr-defined]
            client.set("probe", "1")
        yield free
    finally:
        free()
        client.config_set("maxmemory", limit)
        client.config_set("maxmemory-policy", policy)
        client.close()


def _batches(keys: Iterator[Any], size: int = 200) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def read_only(url: str) -> Iterator[None]:
    """Make this server a replica of a master that is not there (as a demoted master is
    until it syncs): it keeps its data and answers reads; every write is READONLY."""
    client = redis.Redis.from_url(url)
    client.replicaof("127.0.0.1", free_port())
    try:
        with pytest.raises(redis.exceptions.ReadOnlyError):
            client.set("probe", "1")
        yield
    finally:
        client.replicaof("NO", "ONE")
        client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, to demote without disturbing the shared one."""
    server = EmbeddedRedis(tmp_path / "own-redis").start()
    try:
        yield server
    finally:
        server.stop()


def _settings(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings.for_tests(redis_url=url, var_dir=tmp_path, rate_limit="1000 per minute",
                              api_rate_limit="1000 per minute", **overrides)


def _keys(url: str) -> set[str]:
    """Every key but the filler and the readiness probe's short-lived ones."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {k for k in client.scan_iter(count=1000)
                if not k.startswith(FILLER) and ":readyz:" not in k}
    finally:
        client.close()


# --- the error translation -----------------------------------------------------------------

def _writes(client: redis.Redis) -> dict[str, Callable[[], Any]]:
    """One write of each shape the store uses, each carrying SECRET as its value."""
    script = client.register_script(
        "redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return 1")

    def transaction() -> Any:
        pipe = client.pipeline(transaction=True)
        pipe.set("k", SECRET)
        pipe.hset("h", "f", SECRET)
        return pipe.execute()

    return {"command": lambda: client.set("k", SECRET),
            "script": lambda: script(keys=["k"], args=[SECRET]),
            "transaction": transaction}


def _refused(attempt: Callable[[], Any]) -> StoreUnavailable:
    with pytest.raises(StoreUnavailable) as caught:
        translate_errors(attempt)()
    return caught.value


def test_out_of_memory_and_read_only_replies_become_store_unavailable_without_payload(
        redis_url: str, own_redis: EmbeddedRedis):
    for url, refusal, reason, says in (
            (redis_url, out_of_memory, OUT_OF_MEMORY, "redis out of memory: "),
            (own_redis.url, read_only, READ_ONLY, "redis read-only: ")):
        client = redis_client(url)
        writes = _writes(client)
        with refusal(url):
            # What redis-py raises: its own classes for a command or a transaction, but a
            # plain ResponseError ("Error running script ... -OOM ...") from inside a script.
            with pytest.raises(redis.ResponseError) as raw:
                writes["script"]()
            assert type(raw.value) is redis.ResponseError
            assert "Error running script" in str(raw.value)
            with pytest.raises(redis.ResponseError) as raw:  # echoes what it was writing
                writes["transaction"]()
            assert SECRET in str(raw.value)
            for shape, attempt in writes.items():
                error = _refused(attempt)
                assert error.reason == reason, shape
                assert str(error).startswith(says), (shape, str(error))
                assert SECRET not in str(error) and "'k'" not in str(error)
                assert error.__cause__ is None and error.__suppress_context__
            assert client.get("k") is None  # nothing was written by any of them
            assert client.ping()            # the server answers all along
        assert client.set("k", "1")
        client.close()


def test_other_error_replies_pass_through_and_every_refusal_is_recognised():
    wrong_type = redis.ResponseError(
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    assert write_refusal(wrong_type) is None
    with pytest.raises(redis.ResponseError):
        translate_errors(lambda: (_ for _ in ()).throw(wrong_type))()
    script_bug = redis.ResponseError("Error running script (call to f_0): @user_script:3: "
                                     "user_script:3: attempt to index a nil value")
    assert write_refusal(script_bug) is None
    # Redis 7's wording inside scripts, a MISCONF stop-writes (a failed save), and a
    # pipeline's annotation, whose echoed arguments must not be mistaken for the reply.
    for text, reason in (
            ("OOM command not allowed when used memory > 'maxmemory'. script: x", OUT_OF_MEMORY),
            ("READONLY You can't write against a read only replica. script: x", READ_ONLY),
            ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
             "to persist to disk.", CANNOT_PERSIST),
            ("Error running script (call to f_1): @user_script:1: @user_script: 1: -MISCONF "
             "Errors writing to the AOF file", CANNOT_PERSIST),
            ("Command # 1 (SET k -OOM) of pipeline caused error: MISCONF Redis is configured",
             CANNOT_PERSIST),
            ("Command # 2 (SET k MISCONF) of pipeline caused error: WRONGTYPE Operation", None)):
        assert write_refusal(redis.ResponseError(text)) == reason, text
    error = _refused(lambda: (_ for _ in ()).throw(redis.ConnectionError("refused")))
    assert error.reason == UNREACHABLE and str(error) == "redis unavailable: ConnectionError"


# --- intake --------------------------------------------------------------------------------

def _intake(settings: Settings) -> Flask:
    publisher = CeleryPublisher(make_celery("liaison-intake-test", settings), inline=True)
    return create_intake(settings, publisher=publisher)  # the route message rides the script


def _assert_intake_refuses(client: FlaskClient, form_page: str, reason: str) -> None:
    api = client.post("/api/v1/reports", json=payloads.report(),
                      headers={"Idempotency-Key": "partner-retry-0001"})
    assert api.status_code == 503, api.get_data(as_text=True)
    assert api.headers["Retry-After"] == "30"
    assert api.is_json and "a retry never makes a second case" in api.json["message"]
    page = client.post("/report/check-your-answers", data=hidden_fields(form_page))
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert FORM_TEXT in html                      # everything they wrote is still there
    assert "999" in html and "101" in html        # and what to do meanwhile
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "redis": reason}
    assert client.get("/healthz").status_code == 200


def test_intake_out_of_memory_is_503_nothing_half_written_and_the_same_key_makes_one_case(
        redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    app = _intake(_settings(redis_url, tmp_path))
    client = app.test_client()
    form_page = walk_report(client, report_form(), send=False).get_data(as_text=True)
    assert client.get("/readyz").json == {"status": "ok", "redis": "ok"}
    before = _keys(redis_url)
    with out_of_memory(redis_url) as free:
        _assert_intake_refuses(client, form_page, OUT_OF_MEMORY)
        # Nothing half-written: one script, refused at its first write.
        assert _keys(redis_url) == before
        r = redis.Redis.from_url(redis_url, decode_responses=True)
        assert not r.keys("liaison:case:*") and not r.keys("liaison:ref:*")
        assert not r.keys("liaison:idem:*") and not r.keys("liaison:notification:*")
        assert r.zcard("liaison:outbox") == 0 and r.llen("route") == 0
        assert r.xlen("liaison:events") == 0

        free()  # memory freed (the limit stays): the partner retries with the same key
        assert client.get("/readyz").status_code == 200
        first = client.post("/api/v1/reports", json=payloads.report(),
                            headers={"Idempotency-Key": "partner-retry-0001"})
        again = client.post("/api/v1/reports", json=payloads.report(),
                            headers={"Idempotency-Key": "partner-retry-0001"})
        assert first.status_code == 201, first.get_data(as_text=True)
        assert again.status_code == 200 and again.json["reference"] == first.json["reference"]
        assert len(r.keys("liaison:ref:*")) == 1 and r.zcard("liaison:outbox") == 1
        assert r.llen("route") == 1 and len(r.keys("liaison:idem:*")) == 1
        # and the form the person kept sends as it is
        sent = send_report(client)
        assert sent.status_code == 200 and 'id="reference"' in sent.get_data(as_text=True)
        assert len(r.keys("liaison:ref:*")) == 2
        r.close()
    refusals = [getattr(rec, "error", "") for rec in caplog.records
                if rec.getMessage() == "case not stored: store unavailable"]
    assert len(refusals) == 2
    assert all(error.startswith("redis out of memory: ") for error in refusals), refusals
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR
                and rec.name.startswith(("services", "shared", "flask"))]


def test_intake_read_only_is_503_and_works_again_when_writable(
        own_redis: EmbeddedRedis, tmp_path: Path):
    app = _intake(_settings(own_redis.url, tmp_path))
    client = app.test_client()
    form_page = walk_report(client, report_form(), send=False).get_data(as_text=True)
    before = _keys(own_redis.url)
    with read_only(own_redis.url):
        _assert_intake_refuses(client, form_page, READ_ONLY)
        assert _keys(own_redis.url) == before
    assert client.get("/readyz").status_code == 200
    retried = client.post("/api/v1/reports", json=payloads.report(),
                          headers={"Idempotency-Key": "partner-retry-0001"})
    assert retried.status_code == 201


@pytest.mark.slow
def test_intake_under_gunicorn_out_of_memory_is_503_with_retry_after(
        redis_url: str, tmp_path: Path):
    server = run_intake(redis_url, tmp_path, "1000 per minute")
    url = next(server)
    try:
        session = requests.Session()
        form_page = walk_report(session, report_form(), base=url, send=False)
        with out_of_memory(redis_url) as free:
            api = requests.post(f"{url}/api/v1/reports", json=payloads.report(),
                                headers={"Idempotency-Key": "gunicorn-retry-01"}, timeout=10)
            assert api.status_code == 503, api.text[:500]
            assert api.headers["Retry-After"] == "30"
            assert "a retry never makes a second case" in api.json()["message"]
            page = session.post(f"{url}/report/check-your-answers", timeout=10,
                                data=hidden_fields(form_page.text))
            assert page.status_code == 503 and page.headers["Retry-After"] == "30"
            assert FORM_TEXT in page.text
            ready = requests.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["redis"] == OUT_OF_MEMORY
            assert not redis.Redis.from_url(redis_url).keys("liaison:case:*")
            free()
            for _ in range(2):  # both workers' probes pass again
                assert requests.get(f"{url}/readyz", timeout=10).status_code == 200
            retried = requests.post(f"{url}/api/v1/reports", json=payloads.report(),
                                    headers={"Idempotency-Key": "gunicorn-retry-01"},
                                    timeout=10)
            assert retried.status_code == 201, retried.text[:500]
            assert len(redis.Redis.from_url(redis_url).keys("liaison:ref:*")) == 1
    finally:
        server.close()


# --- console -------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _console(settings: Settings) -> Flask:
    return create_console(settings, publisher=FakePublisher())  # its own Redis connection


def _assert_503_page(resp: Any) -> None:
    assert resp.status_code == 503, resp.get_data(as_text=True)[:500]
    assert resp.headers["Retry-After"] == "5"
    assert "Location" not in resp.headers
    assert "The console is unavailable" in resp.get_data(as_text=True)
    assert resp.headers["Content-Security-Policy"]  # still through the security headers


def test_console_out_of_memory_gives_503_pages_json_503s_and_readiness_fails(
        redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture):
    use_cheap_hashing(monkeypatch)
    settings = _settings(redis_url, tmp_path)
    store = Store(redis_client(redis_url), prefix=settings.key_prefix)
    token = add_staff(store, "alex", "watford")
    add_staff(store, "sam", "watford", role=Role.SUPERVISOR)
    case_id, offered = routed_case(store, settings, "watford")
    assert offered.officer_id == "alex"
    app = _console(settings)
    alex = signed_in(app, store, "alex")
    csrf = page_token(alex, "/inbox")
    store.accounts.create("sam", "sam", hashed(PASSWORD))
    later = app.test_client()  # Sam opened the sign-in page before Redis filled up
    login_form = later.get("/login").get_data(as_text=True)
    login_token = _CSRF.search(login_form)
    assert login_token
    caplog.set_level(logging.INFO)

    with out_of_memory(redis_url) as free:
        # The sign-in page: its new session (and form token) cannot be stored.
        _assert_503_page(app.test_client().get("/login"))
        # Signing in: the password checks out, the new session cannot be written.
        signing_in = later.post("/login", data={"username": "sam", "password": PASSWORD,
                                                "csrf_token": login_token.group(1)})
        _assert_503_page(signing_in)
        assert "liaison_console_session" not in signing_in.headers.get("Set-Cookie", "")
        # A signed-in officer can still read; acting is a 503, and nothing changes.
        assert alex.get("/inbox").status_code == 200
        _assert_503_page(alex.post(f"/cases/{case_id}/accept",
                                   data={"csrf_token": csrf}))
        _assert_503_page(alex.get(f"/cases/{case_id}"))  # every read of a case is audited
        assert store.redis.hget(f"liaison:case:{case_id}", "state") == "offered"
        # The JSON API: a JSON 503 with Retry-After.
        api = alex.put("/api/v1/me/availability", json={"status": "away"},
                       headers=bearer(token))
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.is_json and api.json["code"] == 503
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503
        assert ready.json == {"status": "unavailable", "redis": OUT_OF_MEMORY}

        free()
        assert app.test_client().get("/readyz").status_code == 200
        assert app.test_client().get("/login").status_code == 200
        again = later.post("/login", data={"username": "sam", "password": PASSWORD,
                                           "csrf_token": login_token.group(1)})
        assert again.status_code == 302
        accepted = alex.post(f"/cases/{case_id}/accept", data={"csrf_token": csrf})
        assert accepted.status_code == 302
        assert store.redis.hget(f"liaison:case:{case_id}", "state") == "accepted"
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR
                and rec.name.startswith(("services", "shared", "flask"))], \
        [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_console_read_only_sign_in_page_is_503_and_readiness_says_read_only(
        own_redis: EmbeddedRedis, tmp_path: Path):
    app = _console(_settings(own_redis.url, tmp_path))
    assert app.test_client().get("/login").status_code == 200
    with read_only(own_redis.url):
        _assert_503_page(app.test_client().get("/login"))
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.json["redis"] == READ_ONLY
        assert app.test_client().get("/healthz").status_code == 200
    assert app.test_client().get("/login").status_code == 200
    assert app.test_client().get("/readyz").status_code == 200


def test_console_sign_in_page_with_redis_down_is_the_same_503(tmp_path: Path):
    """No cookie, so no session read fails first: the new session's write does."""
    app = _console(_settings("redis://127.0.0.1:1/0", tmp_path))
    _assert_503_page(app.test_client().get("/login"))
    assert app.test_client().get("/readyz").json == {"status": "unavailable",
                                                     "redis": UNREACHABLE}


def test_readiness_probe_is_one_short_lived_key_per_process(redis_url: str, tmp_path: Path):
    app = _console(_settings(redis_url, tmp_path))
    for _ in range(3):
        assert app.test_client().get("/readyz").status_code == 200
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    probes = client.keys("liaison:readyz:*")
    assert len(probes) == 1 and client.get(probes[0]) == "1"
    assert 0 < client.pttl(probes[0]) <= 10_000


# --- the router ----------------------------------------------------------------------------

def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_router_retries_a_case_while_its_store_is_read_only_then_routes_it(
        own_redis: EmbeddedRedis, redis_url: str, tmp_path: Path):
    """Store on a read-only server, broker on a writable one: the task's StoreUnavailable
    is retried (autoretry, back-off up to 5 s) until the store takes writes again."""
    settings = _settings(own_redis.url, tmp_path, broker_url=redis_url)
    store = Store(redis_client(own_redis.url), prefix=settings.key_prefix)
    add_staff(store, "alex", "watford")
    case_id = create_case(store, settings, "watford")
    env = stack_env(own_redis.url, tmp_path, LIAISON_BROKER_URL=redis_url)
    with run_worker("services.router.celery_app", "route", env) as log_path:
        def log() -> str:
            return log_path.read_text(errors="replace")

        with read_only(own_redis.url):
            publisher = CeleryPublisher(make_celery("liaison-test", settings))
            assert publisher.route_case(case_id)
            _wait(lambda: log().count("StoreUnavailable('redis read-only") >= 2, 20,
                  "two retries of assign_case")
            assert store.cases.get(case_id)["state"] != "offered"  # type: ignore[index]
        _wait(lambda: (store.cases.get(case_id) or {}).get("state") == "offered", 20,
              "the case to be offered once the store takes writes")
        assert "Unrecoverable error" not in log()
        assert "Traceback" not in log(), log()[-3000:]
