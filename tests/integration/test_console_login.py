"""Signing in to the console against a real redis-server: the session lives on the server,
so another app instance (another gunicorn worker or host) knows it, and signing out ends it
everywhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask, Response, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from services.console.app import create_app
from services.console.sessions import COOKIE
from shared.config import Settings
from shared.domain.officers import Role
from shared.passwords import hash_password
from shared.store import Store, redis_client
from tests.fakes import FakePublisher
from tests.support.cases import add_staff

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


@pytest.fixture
def real_settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings.for_tests(redis_url=redis_url, var_dir=tmp_path)


@pytest.fixture
def store(real_settings: Settings) -> Store:
    store = Store(redis_client(real_settings.redis_url), prefix=real_settings.key_prefix)
    add_staff(store, "sam", "watford", role=Role.SUPERVISOR)
    store.accounts.create("sam", "sam", hash_password(PASSWORD))
    return store


def console(settings: Settings) -> Flask:
    return create_app(settings, publisher=FakePublisher())  # its own Redis connection


def form_token(client: FlaskClient) -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    return token.group(1)


def sign_in(client: FlaskClient, password: str = PASSWORD) -> int:
    response = client.post("/login", data={"csrf_token": form_token(client), "username": "sam",
                                           "password": password})
    return response.status_code


def signed_in(app: Flask, sid: str) -> bool:
    client = app.test_client()
    client.set_cookie(COOKIE, sid)
    return client.get("/login").status_code == 302


def test_a_session_is_known_to_every_instance_until_signing_out_ends_it(
        real_settings: Settings, store: Store):
    first, second = console(real_settings), console(real_settings)
    client = first.test_client()
    assert sign_in(client) == 302
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    sid = cookie.value

    assert signed_in(second, sid)
    assert store.accounts.sessions.get(sid) is not None
    key = store.keys.session(hashlib.sha256(sid.encode()).hexdigest())
    assert 29 * 60 < store.redis.ttl(key) <= 30 * 60  # the idle timeout, kept by Redis too

    with first.test_request_context(headers={"Cookie": f"{COOKIE}={sid}"}):
        token = generate_csrf()
        first.session_interface.save_session(first, session._get_current_object(), Response())
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    assert store.accounts.sessions.get(sid) is None
    assert not signed_in(second, sid)
    assert not signed_in(first, sid)


def test_failures_and_the_address_limit_are_counted_in_redis(
        real_settings: Settings, store: Store):
    client = console(real_settings).test_client()

    assert sign_in(client, "not the password") == 200

    prefix = real_settings.key_prefix
    assert store.redis.keys(f"{prefix}loginfail:*")
    assert store.redis.keys(f"{prefix}limits*")  # Flask-Limiter's window, under our prefix
