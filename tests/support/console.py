"""Signing in to the console through its real login form, and the small helpers its tests
share (bearer headers, CSRF tokens, the event stream); the fixtures are in
tests/unit/console/conftest.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask, Response, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from services.console.sessions import COOKIE
from shared import passwords
from shared.config import Settings
from shared.passwords import hash_password
from shared.sealing import Sealer
from shared.store import Store

PASSWORD = "Console-pages-Test-2026"
CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)
_CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Staff:
    """The console's usual staff, as the bearer headers of their API tokens."""

    alex: dict[str, str]     # officer, Watford
    blake: dict[str, str]    # officer, Stevenage
    sam: dict[str, str]      # supervisor, Watford


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def use_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's cheapest parameters for tests that sign in often: the same code, milliseconds
    instead of a quarter second (one test checks the real parameters)."""
    monkeypatch.setattr(passwords, "_hasher", CHEAP)
    monkeypatch.setattr(passwords, "_dummy_hash", None)


@cache
def hashed(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: once per password


def signed_in(app: Flask, store: Store, staff_id: str) -> FlaskClient:
    """A client signed in through the real login form (an account made for the test)."""
    if store.accounts.for_id(staff_id) is None:
        store.accounts.create(staff_id, staff_id, hashed(PASSWORD))
    # Not `with client:` — a context kept open by one client would serve another's request.
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = _CSRF_FIELD.search(form)
    assert csrf, form
    resp = client.post("/login", data={"username": staff_id, "password": PASSWORD,
                                       "csrf_token": csrf.group(1)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    last = store.redis.xrevrange(store.keys.audit, count=1)
    assert last and {k: last[0][1].get(k) for k in ("type", "by", "via")} == {
        "type": "SignedIn", "by": staff_id, "via": "console"}, last  # every sign-in audited
    return client


SIGN_IN_TYPES = ("SignedIn", "SignInFailed", "SignedOut")


def case_audit(store: Store) -> list[dict[str, str]]:
    """The audit trail without its sign-in entries (`signed_in` checks its own)."""
    return [f for _, f in store.redis.xrange(store.keys.audit)
            if f["type"] not in SIGN_IN_TYPES]


def page_token(client: FlaskClient, page: str) -> str:
    """The CSRF token the layout puts in its meta tag on `page`."""
    found = _CSRF_META.search(client.get(page).get_data(as_text=True))
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def post_form(client: FlaskClient, page: str, url: str, **form: str) -> Any:
    """Post a form the way the page would (with its CSRF token)."""
    return client.post(url, data={"csrf_token": page_token(client, page), **form})


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """The token a page would embed for the client's session (it changes at sign-in)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    with app.test_request_context(headers={"Cookie": f"{COOKIE}={cookie.value}"}):
        token = generate_csrf()
        app.session_interface.save_session(app, session._get_current_object(), Response())
    return str(token)


def stream(store: Store, key: str) -> list[dict[str, str]]:
    """Every entry's fields in a Redis stream, oldest first."""
    return [fields for _, fields in store.redis.xrange(key)]


def events_of(store: Store, kind: str) -> list[dict[str, str]]:
    """The events of one type, oldest first."""
    return [e for e in stream(store, store.keys.events) if e["type"] == kind]


def override_notes(store: Store, settings: Settings, case_id: str) -> list[str]:
    """The texts of a case's override notes (a supervisor's reason for a reassignment past
    routing's rules), unsealed."""
    sealer = Sealer(settings.sealing_keys)
    return [sealer.unseal(n["sealed"])["text"] for n in store.notes.list(case_id)
            if n["kind"] == "override"]
