"""The admin's structured officer editors (rota rows, leave dates, skill boxes, channel URLs
with "Send a test") and console logins managed from /admin/accounts — all plain form posts,
no JavaScript needed, checked by the CLI's rules and audited like the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.console.auth import EXTENSION
from shared import passwords
from shared.domain.officers import Role
from shared.store import Store
from tests.fakes_notifier import FakeChannel
from tests.support.cases import add_staff
from tests.support.console import PASSWORD, Staff, hashed, page_token, signed_in

TZ = ZoneInfo("Europe/London")
NEW_PASSWORD = "Blue kettle on the stove 42"
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def clock() -> Callable[[], float]:
    return time.time


@pytest.fixture
def staff(staff: Staff, fake_store: Store) -> Staff:
    add_staff(fake_store, "ada", role=Role.ADMIN)
    return staff


def post(client: FlaskClient, url: str, data: dict[str, Any],
         page: str = "/admin/officers") -> Any:
    return client.post(url, data={"csrf_token": page_token(client, page), **data})


def alex_form(**changes: Any) -> dict[str, Any]:
    return {"name": "Alex", "role": "officer", "status": "available", "home": "watford",
            "capacity": "2", "email": "", "editing": "alex"} | changes


def admin_entries(store: Store, kind: str) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit) if f["type"] == kind]


# --- rota, leave and skills ----------------------------------------------------------------

def test_rota_leave_and_skills_round_trip_through_the_structured_form(ada, fake_store):
    resp = post(ada, "/admin/officers/alex", alex_form(**{
        "shift-0-days": ["mon", "wed", "fri"], "shift-0-start": "08:00", "shift-0-end": "16:00",
        "shift-1-days": ["sat"], "shift-1-start": "22:00", "shift-1-end": "06:00",
        "shift-2-start": "", "shift-2-end": "",                       # the empty row: skipped
        "leave-0-from": "2030-07-01", "leave-0-to": "2030-07-14",
        "skills": ["bsl", "lang:polish"]}))
    assert resp.status_code == 302
    alex = fake_store.officers.get("alex")
    assert [(w.days, f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in alex.rota.shifts] == [
        (("mon", "wed", "fri"), "08:00", "16:00"), (("sat",), "22:00", "06:00")]
    [leave] = alex.rota.leave
    assert leave.start == datetime(2030, 7, 1, tzinfo=TZ).astimezone(UTC)
    assert leave.end == datetime(2030, 7, 15, tzinfo=TZ).astimezone(UTC)
    assert alex.skills == {"bsl", "lang:polish"}

    page = ada.get("/admin/officers/alex").get_data(as_text=True)
    for shown in ('name="shift-0-days" value="wed" checked',
                  'name="shift-1-start" type="time" value="22:00"',
                  'name="leave-0-to" type="date" value="2030-07-14"',
                  'name="skills" value="lang:polish" checked', 'value="bsl" checked'):
        assert shown in page, shown
    assert 'name="skills" value="lang:urdu">' in page        # every listed language offered
    # the page posted back unchanged saves the same officer
    before = fake_store.officers.get("alex")
    assert post(ada, "/admin/officers/alex", alex_form(**{
        "shift-0-days": ["mon", "wed", "fri"], "shift-0-start": "08:00", "shift-0-end": "16:00",
        "shift-1-days": ["sat"], "shift-1-start": "22:00", "shift-1-end": "06:00",
        "leave-0-from": "2030-07-01", "leave-0-to": "2030-07-14",
        "skills": ["bsl", "lang:polish"]})).status_code == 302
    assert fake_store.officers.get("alex") == before


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"shift-0-start": "08:00", "shift-0-end": "16:00"}, "shifts",
     "Shift 1: choose at least one day."),
    ({"shift-0-days": ["mon"], "shift-0-start": "08:00"}, "shifts",
     "Shift 1: give a start and an end time"),
    ({"shift-0-days": ["mon"], "shift-0-start": "8am", "shift-0-end": "16:00"}, "shifts",
     "is not a time"),
    ({"shift-0-days": ["mon"], "shift-0-start": "08:00", "shift-0-end": "16:00",
      "shift-5-days": ["funday"], "shift-5-start": "08:00", "shift-5-end": "09:00"}, "shifts",
     "Shift 2: shift 'funday 08:00-09:00': 'funday' is not a weekday"),
    ({"leave-0-from": "2030-07-14", "leave-0-to": "2030-07-01"}, "leave",
     "Leave 1: the end (2030-07-01) is not after the start (2030-07-14)."),
    ({"leave-0-from": "2030-07-14"}, "leave", "Leave 1: give both the first and the last day."),
    ({"leave-0-from": "soon", "leave-0-to": "later"}, "leave", "is not a date"),
    ({"skills": ["bsl", "no spaces!"]}, "skills", "is not a skill name"),
])
def test_a_bad_row_is_a_422_naming_the_field_and_nothing_is_saved(
        ada, fake_store, fields, field, message):
    before = fake_store.officers.raw("alex")
    resp = post(ada, "/admin/officers/alex", alex_form(**fields))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'<p class="field-error" id="f-{field}-error">' in page
    assert message in page.replace("&#39;", "'")
    assert f'<a href="#f-{field}">' in page                   # the summary links to it
    assert fake_store.officers.raw("alex") == before


# --- notification channels: "Send a test" --------------------------------------------------

@pytest.fixture
def channels(app: Flask) -> dict[str, FakeChannel]:
    fakes = {"webhook": FakeChannel("webhook"), "apprise": FakeChannel("apprise")}
    app.extensions[EXTENSION].channels = fakes
    return fakes


def test_send_a_test_goes_through_the_channel_and_says_so_without_saving(
        ada, fake_store, channels, caplog):
    url = "webhook+http://127.0.0.1:9000/hook?token=s3cret"
    before = fake_store.officers.raw("alex")
    resp = post(ada, "/admin/officers/channels/test",
                alex_form(channels=["mailto://alex@example.police.uk", url], test="1"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Sent: check that it arrived." in page
    assert channels["webhook"].addresses() == ["http://127.0.0.1:9000/hook?token=s3cret"]
    assert channels["apprise"].delivered == []
    assert f'value="{url}"' in page                        # the form is kept as posted
    assert fake_store.officers.raw("alex") == before
    assert "s3cret" not in caplog.text and "127.0.0.1" not in caplog.text


def test_a_failed_test_says_why_and_a_fenced_address_is_not_contacted(ada, channels, caplog):
    channels["apprise"].fail = True
    resp = post(ada, "/admin/officers/channels/test",
                alex_form(channels=["mailto://alex@example.police.uk"], test="0"))
    assert resp.status_code == 422
    assert "Not sent: the apprise channel failed (ConnectionRefusedError)." in \
        resp.get_data(as_text=True)
    resp = post(ada, "/admin/officers/channels/test",
                alex_form(channels=["webhook+https://169.254.169.254/latest"], test="0"))
    assert resp.status_code == 422 and "link-local address refused" in \
        resp.get_data(as_text=True)
    assert channels["webhook"].attempts == 0
    assert "alex@example" not in caplog.text and "169.254" not in caplog.text


def test_the_channel_editor_works_for_a_new_officer_too(ada, channels):
    resp = post(ada, "/admin/officers/channels/test",
                {"name": "New", "channels": ["jsons://127.0.0.1:9000/in"], "test": "0"})
    assert resp.status_code == 200
    assert channels["apprise"].addresses() == ["jsons://127.0.0.1:9000/in"]
    assert 'action="/admin/officers/new"' in resp.get_data(as_text=True)


# --- console logins ------------------------------------------------------------------------

def accounts_post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> Any:
    return post(client, url, data or {}, page="/admin/accounts")


def test_an_admin_creates_a_login_that_signs_in_and_is_audited(app, ada, fake_store):
    resp = accounts_post(ada, "/admin/accounts/blake/create", {
        "username": "blake.b", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    account = fake_store.accounts.by_username("blake.b")
    assert account and account.id == "blake"
    assert passwords.verify_password(account.password_hash, NEW_PASSWORD)[0]
    [entry] = admin_entries(fake_store, "AccountChanged")
    assert {k: entry[k] for k in ("officer_id", "change", "by", "via")} == {
        "officer_id": "blake", "change": "created", "by": "ada", "via": "console"}
    assert NEW_PASSWORD not in str(entry) and "blake.b" not in str(entry)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"username": "B", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "username",
     "is not a username"),
    ({"username": "blake.b", "password": "short", "confirm": "short"}, "password",
     "at least 12 characters"),
    ({"username": "blake.b", "password": "blake.b and more", "confirm": "blake.b and more"},
     "password", "must not contain the username"),
    ({"username": "blake.b", "password": NEW_PASSWORD, "confirm": "something else 12"},
     "confirm", "The two passwords differ"),
    ({"username": "alex", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "username",
     "is taken"),
])
def test_a_login_that_breaks_the_rules_is_refused_naming_the_field(
        app, ada, fake_store, data, field, message):
    fake_store.accounts.create("alex", "alex", hashed(PASSWORD))
    resp = accounts_post(ada, "/admin/accounts/blake/create", data)
    page = resp.get_data(as_text=True).replace("&#39;", "'")
    assert resp.status_code == 422
    assert f'id="{field}-blake-error">' in page and message in page
    assert fake_store.accounts.for_id("blake") is None
    assert admin_entries(fake_store, "AccountChanged") == []


def test_supervisor_and_admin_logins_are_created_and_reset_only_with_the_cli(
        app, ada, fake_store):
    resp = accounts_post(ada, "/admin/accounts/sam/create", {
        "username": "sam.s", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 422 and "liaison accounts create" in resp.get_data(as_text=True)
    assert fake_store.accounts.for_id("sam") is None
    fake_store.accounts.create("sam", "sam", hashed(PASSWORD))
    resp = accounts_post(ada, "/admin/accounts/sam/password",
                         {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 422
    assert passwords.verify_password(fake_store.accounts.for_id("sam").password_hash,
                                     PASSWORD)[0]


def test_a_reset_ends_the_officers_sessions_and_is_audited(app, ada, fake_store):
    alex = signed_in(app, fake_store, "alex")
    assert alex.get("/inbox").status_code == 200
    resp = accounts_post(ada, "/admin/accounts/alex/password",
                         {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert alex.get("/inbox").status_code == 302                      # signed out
    [entry] = admin_entries(fake_store, "AccountChanged")
    assert (entry["change"], entry["by"], entry["via"]) == ("password_reset", "ada", "console")


def test_a_disable_ends_sessions_revokes_the_token_and_an_enable_lets_them_back(
        app, ada, fake_store, staff):
    alex = signed_in(app, fake_store, "alex")
    assert accounts_post(ada, "/admin/accounts/alex/disable").status_code == 302
    assert fake_store.accounts.for_id("alex").disabled
    assert alex.get("/inbox").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={
        "Authorization": f"Bearer {staff.alex}"}).status_code == 401
    assert accounts_post(ada, "/admin/accounts/alex/enable").status_code == 302
    assert not fake_store.accounts.for_id("alex").disabled
    changes = [e["change"] for e in admin_entries(fake_store, "AccountChanged")]
    assert changes == ["disabled", "enabled"]
    [ended] = admin_entries(fake_store, "AccessEnded")
    assert (ended["officer_id"], ended["reason"], ended["by"], ended["via"]) == (
        "alex", "disabled", "ada", "console")
    assert fake_store.audit.verify().ok


def test_an_admin_cannot_disable_or_reset_their_own_login(app, ada, fake_store):
    resp = accounts_post(ada, "/admin/accounts/ada/disable")
    assert resp.status_code == 422 and "cannot disable your own login" in \
        resp.get_data(as_text=True)
    resp = accounts_post(ada, "/admin/accounts/ada/password",
                         {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 422
    assert not fake_store.accounts.for_id("ada").disabled
    assert admin_entries(fake_store, "AccountChanged") == []
    assert ada.get("/admin/accounts").status_code == 200              # still signed in


def test_login_changes_need_the_csrf_token_and_a_known_person(app, ada, fake_store):
    assert ada.post("/admin/accounts/alex/disable").status_code == 400
    assert accounts_post(ada, "/admin/accounts/nobody/disable").status_code == 404
    assert accounts_post(ada, "/admin/accounts/blake/disable").status_code == 404  # no login
