"""Many sign-in attempts at once, against the console under gunicorn (two worker processes,
threads in each) and a real redis-server: the lock check and the failure count are one
atomic step taken before a password is checked (login_attempt.lua), so 50 attempts made
together get the lockout's 5 guesses between them, the right password is refused while
the username is locked, and works once the lock has run out."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from services.console.login import WRONG
from shared.passwords import hash_password
from shared.sealing import new_key
from shared.store import Store, redis_client
from tests.support.cases import add_staff
from tests.support.processes import run_web

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERNAME = "casey"
PASSWORD = "correct horse battery"
ATTEMPTS = 50
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Console:
    url: str
    store: Store

    def failures_counted(self) -> int:
        key = self.store.keys.login_failures(hashlib.sha256(USERNAME.encode()).hexdigest())
        return int(self.store.redis.hget(key, "count") or 0)


@pytest.fixture
def console(redis_url: str, tmp_path: Path) -> Iterator[Console]:
    store = Store(redis_client(redis_url))
    add_staff(store, USERNAME, "watford")
    store.accounts.create(USERNAME, USERNAME, hash_password(PASSWORD))
    env = {"LIAISON_ENV": "test", "LIAISON_REDIS_URL": redis_url,
           "LIAISON_SECRET_KEY": secrets.token_urlsafe(32), "LIAISON_SEALING_KEYS": new_key(),
           "LIAISON_VAR_DIR": str(tmp_path)}
    server = run_web("services.console.app:create_app()", env, tmp_path, workers=2, threads=8)
    url = next(server)
    try:
        yield Console(url, store)
    finally:
        server.close()


def answer(response: requests.Response) -> str:
    """What an attempt was told: signed in, wrong, locked, or turned away by the address
    limit (never checked either)."""
    if response.status_code == 302:
        return "signed in"
    if response.status_code == 200 and WRONG in response.text:
        return "wrong"
    if response.status_code == 429 and "Too many attempts" in response.text:
        return "locked"
    if response.status_code == 429:
        return "address limit"
    return f"unexpected {response.status_code}"


def together(url: str, passwords: list[str]) -> Counter[str]:
    """Post the sign-in form once per password, all at the same moment, each from its own
    browser session with its own form token."""
    ready = threading.Barrier(len(passwords))
    answers: list[str] = []

    def attempt(password: str) -> None:
        with requests.Session() as browser:
            token = _CSRF.search(browser.get(f"{url}/login", timeout=30).text)
            assert token
            ready.wait(timeout=60)
            response = browser.post(f"{url}/login", timeout=60, allow_redirects=False, data={
                "csrf_token": token.group(1), "username": USERNAME, "password": password})
            answers.append(answer(response))

    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == len(passwords), "an attempt did not finish"
    return Counter(answers)


def test_fifty_attempts_at_once_get_five_guesses_and_the_lock_holds_against_the_password(
        console: Console):
    wrong = together(console.url, [f"wrong password {i}" for i in range(ATTEMPTS)])

    assert console.failures_counted() == 5  # 5 passwords checked out of 50
    assert wrong == {"wrong": 4, "locked": ATTEMPTS - 4}  # the 5th checked one locks

    right = together(console.url, [PASSWORD] * 8)  # while locked: never checked
    assert right == {"locked": 8}
    assert console.failures_counted() == 5

    console.store.accounts.lock(USERNAME, 0)  # the minute runs out
    [after] = together(console.url, [PASSWORD])
    assert after == "signed in"
    assert console.failures_counted() == 0
