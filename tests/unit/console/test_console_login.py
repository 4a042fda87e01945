"""Signing in to the web console on fakeredis: sessions, lockout, CSRF, cookies, timeouts,
the password policy, the `liaison accounts` commands and the demo logins."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ops.cli import Runtime, main
from ops.seed import DEMO_OFFICERS, read_roster, seed_demo
from services.console import login as console_login
from services.console.access import OFFICER, page_for
from services.console.app import create_app
from services.console.login import DISABLED, WRONG, SignIn
from services.console.sessions import COOKIE
from shared import passwords
from shared.config import Settings
from shared.domain.officers import Role
from shared.geography import load_force
from shared.officer_records import save_officer
from shared.passwords import check_password, check_username, hash_password, lockout_seconds
from shared.store import Store, redis_client
from tests.fakes import FakePublisher
from tests.support.cases import add_staff
from tests.support.console import CHEAP, csrf_token
from tests.support.world import Clock

PASSWORD = "correct horse battery"
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def app(app: Flask, fake_store: Store) -> Flask:
    """The console with logins for Alex (an officer) and Sam (a supervisor), and a page only
    officers may see."""
    add_staff(fake_store, "alex", "watford")
    add_staff(fake_store, "sam", "watford", role=Role.SUPERVISOR)
    fake_store.accounts.create("alex", "alex", hash_password(PASSWORD))
    fake_store.accounts.create("sam", "sam", hash_password(PASSWORD))

    @page_for(*OFFICER)
    def officer_only() -> str:
        return "an officer's page"

    app.add_url_rule("/test/officer-page", "officer_only", officer_only)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()  # no `with`: `csrf_token` needs a fresh app context (and `g`)


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: FlaskClient, username: str = "alex", password: str = PASSWORD,
            next_url: str | None = None) -> TestResponse:
    url = "/login" + (f"?next={quote(next_url, safe='')}" if next_url else "")
    token = form_token(client.get(url).text)
    return client.post(url, data={"csrf_token": token, "username": username,
                                  "password": password})


def signed_in(client: FlaskClient) -> bool:
    """The sign-in page sends a signed-in visitor on and shows anyone else the form."""
    return client.get("/login").status_code == 302


# --- signing in ----------------------------------------------------------------------------

def test_signing_in_gives_the_session_a_new_id_and_the_old_one_stops_working(
        client: FlaskClient, fake_store: Store):
    client.get("/login")
    before = session_id(client)

    response = sign_in(client)

    after = session_id(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert before and after and after != before
    assert fake_store.accounts.sessions.get(before) is None
    assert fake_store.accounts.sessions.get(after) is not None
    client.set_cookie(COOKIE, before)
    assert not signed_in(client)


def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(client: FlaskClient):
    wrong_password = sign_in(client, "alex", "not the password 1")
    unknown_user = sign_in(client, "nobody", PASSWORD)

    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert WRONG in response.text
    assert not signed_in(client)


def test_usernames_are_not_case_sensitive(client: FlaskClient):
    assert sign_in(client, "  ALEX ").status_code == 302


def test_five_failures_lock_the_username_even_against_the_right_password(
        client: FlaskClient):
    answers = [sign_in(client, "alex", f"wrong password {i}") for i in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert "Too many attempts: try again in 1 minute." in answers[-1].text
    assert answers[-1].headers["Retry-After"] == "60"
    right = sign_in(client, "alex", PASSWORD)
    assert right.status_code == 429 and "try again in 1 minute" in right.text
    assert not signed_in(client)


def test_the_lock_doubles_with_each_further_failure(client: FlaskClient, clock: Clock):
    for i in range(5):
        sign_in(client, "alex", f"wrong password {i}")
    clock.advance(61)

    sixth = sign_in(client, "alex", "wrong password 6")
    clock.advance(121)
    seventh = sign_in(client, "alex", "wrong password 7")

    assert "try again in 2 minutes" in sixth.text
    assert "try again in 4 minutes" in seventh.text


def test_the_lock_grows_to_an_hour_at_most():
    assert [lockout_seconds(n) for n in range(1, 14)] == \
        [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_unknown_usernames_are_locked_the_same_way(client: FlaskClient):
    answers = [sign_in(client, "nobody", f"wrong password {i}") for i in range(6)]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429, 429]
    assert "Too many attempts: try again in 1 minute." in answers[-1].text


def test_after_the_lock_the_right_password_works_and_the_count_starts_again(
        app: Flask, client: FlaskClient, clock: Clock):
    for i in range(5):
        sign_in(client, "alex", f"wrong password {i}")
    clock.advance(61)

    assert sign_in(client, "alex").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(app, client)})
    answers = [sign_in(client, "alex", f"wrong again {i}") for i in range(4)]
    assert [a.status_code for a in answers] == [200] * 4


@pytest.mark.parametrize("username", ["alex", "nobody"])
def test_attempts_arriving_while_others_are_checked_share_the_five_guesses(
        fake_store: Store, monkeypatch: pytest.MonkeyPatch, clock: Clock, username: str):
    """Ten attempts at once, the right password last: each new one arrives while the ones
    before it are still having their password checked (as parallel requests do)."""
    guesses = [f"wrong password {i}" for i in range(9)] + [PASSWORD]
    checked: list[str] = []
    answers: dict[int, SignIn] = {}
    real_check = console_login.verify_password

    def attempt() -> None:
        i = len(started)
        started.append(i)
        answers[i] = console_login.sign_in(fake_store, username, guesses[i], clock())

    def check_while_more_arrive(stored: str | None, password: str) -> tuple[bool, str | None]:
        checked.append(password)
        while len(started) < len(guesses):
            attempt()
        return real_check(stored, password)

    started: list[int] = []
    monkeypatch.setattr(console_login, "verify_password", check_while_more_arrive)
    attempt()

    assert len(answers) == 10 and len(checked) == 5
    assert PASSWORD not in checked
    assert answers[9].account is None and answers[9].retry_after == 60
    assert sum(a.retry_after > 0 for a in answers.values()) == 6  # the 5th and the refused
    assert fake_store.accounts.locked_until(username) > clock()


def test_one_address_may_post_the_form_sixty_times_a_minute(client: FlaskClient):
    answers = [sign_in(client, f"user{i}", "wrong password").status_code for i in range(61)]

    assert answers == [200] * 60 + [429]


def test_a_disabled_login_is_refused_even_with_the_right_password(
        client: FlaskClient, fake_store: Store):
    fake_store.accounts.set_disabled("alex", True)

    assert DISABLED in sign_in(client, "alex", PASSWORD).text
    assert WRONG in sign_in(client, "alex", "wrong password 1").text
    assert not signed_in(client)


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(
        client: FlaskClient, fake_store: Store, monkeypatch: pytest.MonkeyPatch):
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", stronger)
    epoch = fake_store.accounts.for_id("alex").epoch  # type: ignore[union-attr]

    assert sign_in(client).status_code == 302

    account = fake_store.accounts.for_id("alex")
    assert account is not None and "m=1024,t=2,p=1" in account.password_hash
    assert account.epoch == epoch and signed_in(client)


# --- where signing in leads ----------------------------------------------------------------

def test_an_anonymous_visitor_is_sent_to_sign_in_and_then_back(client: FlaskClient):
    page = client.get("/test/officer-page?x=1")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Ftest%2Fofficer-page%3Fx%3D1"

    response = sign_in(client, next_url="/test/officer-page?x=1")

    assert response.headers["Location"] == "/test/officer-page?x=1"
    assert client.get("/test/officer-page").text == "an officer's page"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", "/ok\r\nSet-Cookie: x=1"])
def test_next_never_leads_off_the_site(client: FlaskClient, target: str):
    response = sign_in(client, next_url=target)

    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_start_page_sends_anonymous_visitors_to_sign_in(client: FlaskClient):
    response = client.get("/")

    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_the_wrong_role_gets_a_403_page(client: FlaskClient):
    sign_in(client, "sam")

    response = client.get("/test/officer-page")

    assert response.status_code == 403
    assert "Not for you" in response.text and response.mimetype == "text/html"


def test_a_signed_in_visitor_to_the_sign_in_page_goes_to_the_start_page(client: FlaskClient):
    sign_in(client)

    response = client.get("/login")

    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- signing out and session lifetimes -----------------------------------------------------

def test_signing_out_deletes_the_session_on_the_server(
        app: Flask, client: FlaskClient, fake_store: Store):
    sign_in(client)
    old = session_id(client)
    assert old

    response = client.post("/logout", data={"csrf_token": csrf_token(app, client)})

    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert fake_store.accounts.sessions.get(old) is None
    assert "You have signed out." in client.get("/login").text
    client.set_cookie(COOKIE, old)  # a copy of the old cookie is worth nothing now
    assert client.get("/test/officer-page").status_code == 302
    assert not signed_in(client)


def test_signing_out_takes_a_post_with_the_csrf_token(client: FlaskClient):
    sign_in(client)

    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert signed_in(client)


def test_a_session_ends_after_30_idle_minutes(client: FlaskClient, clock: Clock):
    sign_in(client)
    clock.advance(29 * 60)
    assert signed_in(client)
    clock.advance(29 * 60)  # each request starts the 30 minutes again
    assert signed_in(client)

    clock.advance(31 * 60)

    assert not signed_in(client)


def test_a_session_in_constant_use_still_ends_12_hours_after_signing_in(
        client: FlaskClient, clock: Clock):
    sign_in(client)
    for _ in range(28):  # 11 h 40 min
        clock.advance(25 * 60)
        assert signed_in(client)

    clock.advance(25 * 60)

    assert not signed_in(client)


def test_disabling_a_login_signs_it_out_on_the_next_request(
        client: FlaskClient, fake_store: Store):
    sign_in(client)

    fake_store.accounts.set_disabled("alex", True)
    assert not signed_in(client)
    fake_store.accounts.set_disabled("alex", False)
    assert not signed_in(client)  # enabling again does not revive old sessions


def test_a_password_reset_ends_every_session(client: FlaskClient, fake_store: Store):
    sign_in(client)

    fake_store.accounts.set_password("alex", hash_password("a brand new passphrase"))

    assert not signed_in(client)
    assert sign_in(client, "alex", "a brand new passphrase").status_code == 302


def test_removing_a_staff_member_signs_them_out(client: FlaskClient, fake_store: Store):
    sign_in(client)

    fake_store.officers.remove("alex")

    assert not signed_in(client)


def run_cli(store: Store, settings: Settings, *args: str) -> Result:
    runtime = Runtime(settings=settings, store=store, clock=lambda: NOW)
    return CliRunner().invoke(main, list(args), obj=runtime)


def test_a_promotion_from_the_cli_ends_the_sessions_and_revokes_the_api_token(
        client: FlaskClient, fake_store: Store, settings: Settings):
    token = {"Authorization": f"Bearer {fake_store.officers.issue_token('alex')}"}
    sign_in(client)
    assert client.get("/api/v1/me", headers=token).status_code == 200

    result = run_cli(fake_store, settings, "officers", "update", "alex", "--role", "supervisor")

    assert result.exit_code == 0, result.output
    assert "their console sessions have ended and their API token is revoked" in result.stdout
    assert fake_store.officers.get("alex").role is Role.SUPERVISOR  # type: ignore[union-attr]
    dashboard = client.get("/dashboard")  # the old session does not carry the new role
    assert dashboard.status_code == 302 and dashboard.headers["Location"].startswith("/login")
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert sign_in(client).status_code == 302  # signing in again gives the new role
    assert client.get("/dashboard").status_code == 200


def test_a_demotion_from_the_cli_ends_the_sessions_too(
        client: FlaskClient, fake_store: Store, settings: Settings):
    sign_in(client, "sam")
    assert client.get("/dashboard").status_code == 200

    result = run_cli(fake_store, settings, "officers", "update", "sam", "--role", "officer")

    assert result.exit_code == 0, result.output
    assert not signed_in(client)


def test_a_change_that_keeps_the_role_keeps_the_sessions(
        client: FlaskClient, fake_store: Store, settings: Settings):
    token = {"Authorization": f"Bearer {fake_store.officers.issue_token('alex')}"}
    sign_in(client)

    result = run_cli(fake_store, settings, "officers", "update", "alex", "--capacity", "5")

    assert result.exit_code == 0 and "sessions have ended" not in result.stdout
    assert signed_in(client)
    assert client.get("/api/v1/me", headers=token).status_code == 200


def test_disabling_a_login_ends_its_sessions_and_revokes_its_api_token(
        client: FlaskClient, fake_store: Store, settings: Settings):
    token = {"Authorization": f"Bearer {fake_store.officers.issue_token('alex')}"}
    sign_in(client)

    result = run_cli(fake_store, settings, "accounts", "disable", "alex")

    assert result.exit_code == 0 and "API token is revoked" in result.stdout
    assert not signed_in(client)
    assert client.get("/api/v1/me", headers=token).status_code == 401
    run_cli(fake_store, settings, "accounts", "enable", "alex")
    assert client.get("/api/v1/me", headers=token).status_code == 401  # stays revoked


# --- cookies, CSRF, headers, error pages ---------------------------------------------------

def test_the_session_cookie_is_httponly_samesite_lax_and_ends_with_the_browser(
        client: FlaskClient):
    cookie = client.get("/login").headers["Set-Cookie"]

    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in development and tests
    assert "Expires" not in cookie and "Max-Age" not in cookie


def test_the_session_cookie_is_secure_in_production(fake_store: Store, publisher: FakePublisher):
    production = Settings.for_tests(env="production")
    app = create_app(production, store=fake_store, publisher=publisher)

    cookie = app.test_client().get("/login").headers["Set-Cookie"]

    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_form_posted_without_its_csrf_token_is_refused(client: FlaskClient):
    client.get("/login")

    response = client.post("/login", data={"username": "alex", "password": PASSWORD})

    assert response.status_code == 400
    assert "The form was not accepted" in response.text
    assert not signed_in(client)


def test_a_token_from_before_signing_in_is_not_accepted_after(client: FlaskClient):
    token = form_token(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "username": "alex", "password": PASSWORD})

    assert client.post("/logout", data={"csrf_token": token}).status_code == 400


@pytest.mark.parametrize("path", ["/login", "/nowhere", "/test/officer-page"])
def test_pages_carry_the_security_headers(client: FlaskClient, path: str):
    headers = client.get(path).headers

    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_errors_are_pages_for_people_and_json_for_the_api(client: FlaskClient):
    page = client.get("/nowhere")
    api = client.get("/api/v1/nowhere")

    assert page.status_code == 404 and page.mimetype == "text/html"
    assert api.status_code == 404 and api.json["code"] == 404


def test_with_redis_down_a_signed_in_visitor_gets_a_503_page(
        settings: Settings, publisher: FakePublisher):
    down = Store(redis_client("redis://127.0.0.1:1/0", timeout=0.5), prefix="test:")
    client = create_app(settings, store=down, publisher=publisher).test_client()
    client.set_cookie(COOKIE, "x" * 43)

    page = client.get("/login")

    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "The console is unavailable" in page.text
    assert client.get("/healthz").status_code == 200


def test_the_api_ignores_the_session_cookie(client: FlaskClient):
    sign_in(client)

    assert client.get("/api/v1/me").status_code == 401


def test_no_password_or_typed_username_reaches_the_logs(
        client: FlaskClient, captured_logs: pytest.LogCaptureFixture):
    sign_in(client, "typed-by-mistake", "CANARY-Zq7x password")
    sign_in(client, "alex", "CANARY-Zq7x password")
    sign_in(client)

    logged = " ".join(str(vars(record)) for record in captured_logs.records)
    assert "CANARY-Zq7x" not in logged and "typed-by-mistake" not in logged


def test_only_hashes_are_stored(client: FlaskClient, fake_store: Store):
    sign_in(client, "alex", "CANARY-Zq7x password")
    sign_in(client)

    for key in fake_store.redis.keys("*"):
        kind = fake_store.redis.type(key)
        value = fake_store.redis.hgetall(key) if kind == "hash" else \
            fake_store.redis.get(key) if kind == "string" else ""
        assert PASSWORD not in str(value) and "CANARY-Zq7x" not in str(value), key


# --- the password policy and hashing -------------------------------------------------------

@pytest.mark.parametrize(("password", "problem"), [
    ("Short1!", "at least 12 characters"),
    ("alllowercaseletters", "two kinds of character"),
    ("111111111111", "two kinds of character"),
    ("x" * 257, "at most 256"),
    ("my name is alex 2026", "must not contain the username"),
    ("I am ALEX and proud", "must not contain the username"),
])
def test_weak_passwords_are_refused_saying_why(password: str, problem: str):
    with pytest.raises(ValueError, match=problem):
        check_password(password, "alex")


@pytest.mark.parametrize("password", ["correct horse battery", "Tr0ub4dor&3xyz",
                                      "rainbowpuddle42"])
def test_long_mixed_passwords_and_passphrases_are_accepted(password: str):
    assert check_password(password, "alex") == password


@pytest.mark.parametrize("text", ["ab", "x" * 41, "with space", "bad/char", "émile"])
def test_bad_usernames_are_refused(text: str):
    with pytest.raises(ValueError, match="not a username"):
        check_username(text)


def test_usernames_are_trimmed_and_lower_cased():
    assert check_username("  Jordan.Ellis_2 ") == "jordan.ellis_2"


def test_generated_passwords_meet_the_policy():
    for _ in range(50):
        assert check_password(passwords.generate_password("k7qm"), "k7qm")


def test_hashes_are_argon2id_with_the_library_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    stored = hash_password(PASSWORD)

    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(stored, PASSWORD) == (True, None)
    assert passwords.verify_password(stored, PASSWORD + "x") == (False, None)
    matches, upgraded = passwords.verify_password(CHEAP.hash(PASSWORD), PASSWORD)
    assert matches and upgraded is not None and upgraded.startswith("$argon2id$v=19$m=65536")


def test_nobody_and_garbage_never_verify():
    assert passwords.verify_password(None, "") == (False, None)
    assert passwords.verify_password(None, PASSWORD) == (False, None)
    assert passwords.verify_password("not a hash", PASSWORD) == (False, None)


# --- `liaison accounts` --------------------------------------------------------------------

Invoke = Callable[..., Result]


@pytest.fixture
def cli(fake_store: Store, settings: Settings) -> Invoke:
    add_staff(fake_store, "robin", "watford")

    def invoke(*args: str, input: str | None = None) -> Result:
        runtime = Runtime(settings=settings, store=fake_store, clock=lambda: NOW)
        return CliRunner().invoke(main, list(args), obj=runtime, input=input)
    return invoke


def verifies(store: Store, username: str, password: str) -> bool:
    account = store.accounts.by_username(username)
    return account is not None and passwords.verify_password(account.password_hash,
                                                              password)[0]


def test_create_asks_for_the_password_twice_and_stores_only_its_hash(
        cli: Invoke, fake_store: Store):
    result = cli("accounts", "create", "--id", "robin", "--username", "Robin",
                 input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "Robin (officer) can now sign in as robin" in result.stdout
    assert verifies(fake_store, "robin", PASSWORD)
    assert PASSWORD not in str(fake_store.officers.raw("robin"))


def test_create_asks_again_after_a_weak_or_mismatched_password(cli: Invoke, fake_store: Store):
    result = cli("accounts", "create", "--id", "robin", "--username", "robin",
                 input=f"short\n{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    assert "do not match" in result.output
    assert verifies(fake_store, "robin", PASSWORD)


def test_create_can_read_the_password_from_stdin(cli: Invoke, fake_store: Store):
    result = cli("accounts", "create", "--id", "robin", "--username", "robin",
                 "--password-stdin", input=f"{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert verifies(fake_store, "robin", PASSWORD)


def test_a_weak_password_on_stdin_is_refused(cli: Invoke, fake_store: Store):
    result = cli("accounts", "create", "--id", "robin", "--username", "robin",
                 "--password-stdin", input="robin1234567890\n")

    assert result.exit_code == 1 and "must not contain the username" in result.output
    assert fake_store.accounts.by_username("robin") is None


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--id", "nobody", "--username", "nobody"), 1, "no officer with id"),
    (("--id", "robin", "--username", "x"), 2, "not a username"),
    (("--id", "robin", "--username", "alex"), 2, "'alex' is taken"),
])
def test_create_refuses_an_unknown_id_a_bad_or_taken_username(
        cli: Invoke, fake_store: Store, args: tuple[str, ...], code: int, message: str):
    add_staff(fake_store, "alex", "watford")
    fake_store.accounts.create("alex", "alex", hash_password(PASSWORD))

    result = cli("accounts", "create", *args, "--password-stdin", input=f"{PASSWORD}\n")

    assert result.exit_code == code and message in result.output


def test_a_staff_member_gets_one_login(cli: Invoke):
    cli("accounts", "create", "--id", "robin", "--username", "robin", "--password-stdin",
        input=f"{PASSWORD}\n")

    result = cli("accounts", "create", "--id", "robin", "--username", "robin2",
                 "--password-stdin", input=f"{PASSWORD}\n")

    assert result.exit_code == 1 and "already signs in as 'robin'" in result.output


def test_reset_password_replaces_it_ends_sessions_and_lifts_a_lock(
        cli: Invoke, fake_store: Store):
    cli("accounts", "create", "--id", "robin", "--username", "robin", "--password-stdin",
        input=f"{PASSWORD}\n")
    fake_store.accounts.lock("robin", NOW.timestamp() + 600)
    epoch = fake_store.accounts.for_id("robin").epoch  # type: ignore[union-attr]

    result = cli("accounts", "reset-password", "robin", "--password-stdin",
                 input="another good passphrase\n")

    assert result.exit_code == 0, result.output
    assert verifies(fake_store, "robin", "another good passphrase")
    assert not verifies(fake_store, "robin", PASSWORD)
    assert fake_store.accounts.for_id("robin").epoch == epoch + 1  # type: ignore[union-attr]
    assert fake_store.accounts.locked_until("robin") == 0


def test_disable_enable_and_list(cli: Invoke, fake_store: Store):
    cli("accounts", "create", "--id", "robin", "--username", "robin", "--password-stdin",
        input=f"{PASSWORD}\n")

    assert cli("accounts", "disable", "robin").exit_code == 0
    listed = cli("accounts", "list").stdout
    assert re.search(r"robin\s+robin\s+Robin\s+officer\s+disabled", listed)
    assert "argon2" not in listed
    assert cli("accounts", "enable", "robin").exit_code == 0
    assert re.search(r"robin\s+Robin\s+officer\s+active", cli("accounts", "list").stdout)


def test_commands_on_an_unknown_login_say_so(cli: Invoke):
    result = cli("accounts", "disable", "ghost")

    assert result.exit_code == 1 and "no console login 'ghost'" in result.output


# --- the demo logins -----------------------------------------------------------------------

DEMO = {"jordan": "officer", "aisha": "officer", "sarah": "supervisor", "alex": "admin"}


def printed_logins(summary: str) -> dict[str, str]:
    """{username: password} from the summary's lines like `  officer    jordan  k7qm-...`."""
    return {m[1]: m[2] for m in re.finditer(r"^\s+\w+\s+(\w+)\s+([a-z0-9-]{19})\s",
                                            summary, re.M)}


def test_the_first_seed_prints_demo_logins_that_work(fake_store: Store, settings: Settings):
    summary = seed_demo(fake_store, settings, now=NOW)

    logins = printed_logins(summary)
    assert set(logins) == set(DEMO)
    for username, password in logins.items():
        account = fake_store.accounts.by_username(username)
        assert account is not None and account.role.value == DEMO[username]
        assert verifies(fake_store, username, password)
        assert password not in str(fake_store.officers.raw(account.id))
    assert "Jordan Ellis" in summary and "Sarah Whitfield" in summary


def test_a_second_seed_prints_no_logins_and_keeps_them(fake_store: Store, settings: Settings):
    logins = printed_logins(seed_demo(fake_store, settings, now=NOW))

    again = seed_demo(fake_store, settings, now=NOW)

    assert "Console logins" not in again and again.endswith("staff (existing)")
    assert verifies(fake_store, "jordan", logins["jordan"])


def test_staff_seeded_before_logins_existed_get_them_once(
        fake_store: Store, settings: Settings):
    force = load_force()
    officers, _ = read_roster(DEMO_OFFICERS.read_text(encoding="utf-8"), force)
    for officer in officers:
        save_officer(fake_store, officer, ZoneInfo(force.timezone), NOW)

    summary = seed_demo(fake_store, settings, now=NOW)

    assert "staff (existing)" in summary and set(printed_logins(summary)) == set(DEMO)
    assert "Console logins" not in seed_demo(fake_store, settings, now=NOW)


# --- background requests, the production cookie and HSTS (issue 10) ------------------------

BACKGROUND = {"X-Liaison-Background": "1"}


def test_background_requests_do_not_keep_a_forgotten_tab_signed_in(
        client: FlaskClient, clock: Clock):
    sign_in(client)
    answers = []
    for _ in range(7):  # a poll every 5 minutes for 35 minutes, nobody at the screen
        clock.advance(5 * 60)
        answers.append(client.get("/test/officer-page", headers=BACKGROUND).status_code)

    assert answers[:5] == [200] * 5          # still signed in while within 30 minutes
    assert answers[-1] == 302                # the poll itself finds the session ended
    page = client.get("/test/officer-page")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_a_background_request_after_the_timeout_ends_the_session(
        client: FlaskClient, clock: Clock, fake_store: Store):
    sign_in(client)
    sid = session_id(client)
    clock.advance(31 * 60)

    assert client.get("/test/officer-page", headers=BACKGROUND).status_code == 302
    assert sid and fake_store.accounts.sessions.get(sid) is None
    assert not signed_in(client)


def test_a_page_the_person_opens_does_extend_the_session(client: FlaskClient, clock: Clock):
    sign_in(client)
    clock.advance(20 * 60)
    assert client.get("/test/officer-page", headers=BACKGROUND).status_code == 200
    clock.advance(5 * 60)
    assert client.get("/test/officer-page").status_code == 200  # the officer, at 25 min
    clock.advance(25 * 60)  # 50 minutes after signing in, 25 after the real request

    assert client.get("/test/officer-page").status_code == 200


def test_the_dashboards_own_requests_do_not_extend_the_session(
        client: FlaskClient, clock: Clock):
    """The charts refresh and the event stream are marked by the server itself (an
    EventSource cannot send a header)."""
    sign_in(client, "sam")
    for _ in range(6):  # 30 minutes of chart refreshes
        clock.advance(5 * 60)
        assert client.get("/dashboard/charts").status_code == 200
    clock.advance(60)

    assert client.get("/dashboard/stream").status_code == 302
    assert not signed_in(client)


def production_app(fake_store: Store, publisher: FakePublisher) -> Flask:
    return create_app(Settings.for_tests(env="production"), store=fake_store,
                      publisher=publisher)


def test_the_production_session_cookie_has_the_host_prefix(
        fake_store: Store, publisher: FakePublisher):
    cookie = production_app(fake_store, publisher).test_client().get(
        "/login", base_url="https://console.example").headers["Set-Cookie"]

    assert cookie.startswith(f"__Host-{COOKIE}=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_the_host_prefixed_cookie_carries_the_session_in_production(
        fake_store: Store, publisher: FakePublisher):
    add_staff(fake_store, "alex", "watford")
    fake_store.accounts.create("alex", "alex", hash_password(PASSWORD))
    client = production_app(fake_store, publisher).test_client()
    token = form_token(client.get("/login", base_url="https://c.example").text)
    signing_in = client.post("/login", base_url="https://c.example", data={
        "csrf_token": token, "username": "alex", "password": PASSWORD})

    assert signing_in.status_code == 302
    assert client.get_cookie(f"__Host-{COOKIE}", domain="c.example") is not None
    assert client.get("/login", base_url="https://c.example").status_code == 302
    planted = app_client_with_plain_cookie(fake_store, publisher)
    assert planted.get("/login", base_url="https://c.example").status_code == 200


def app_client_with_plain_cookie(fake_store: Store, publisher: FakePublisher) -> FlaskClient:
    """A production client holding only a plain-named cookie: it is not read."""
    client = production_app(fake_store, publisher).test_client()
    client.set_cookie(COOKIE, "x" * 43, domain="c.example")
    return client


def test_every_production_response_has_hsts(fake_store: Store, publisher: FakePublisher):
    client = production_app(fake_store, publisher).test_client()
    for path in ("/login", "/healthz", "/no-such-page", "/static/css/console.css"):
        response = client.get(path, base_url="https://c.example")
        response.close()  # the static file's handle
        assert response.headers["Strict-Transport-Security"] == \
            "max-age=31536000; includeSubDomains", path


def test_no_hsts_in_development_and_tests(client: FlaskClient):
    assert "Strict-Transport-Security" not in client.get("/login").headers
