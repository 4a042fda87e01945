"""The admin's web pages on fakeredis: officers (edit with the CLI's checks, errors beside the
field, nothing saved on a problem, every save recorded with who did it), staff accounts,
the audit log and its filters, and who may see them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from services.console.web_admin import form_values
from shared.config import Settings
from shared.domain.officers import Availability, Role
from shared.store import Store
from tests.support.cases import add_staff, routed_case
from tests.support.console import PASSWORD, Staff, hashed, page_token, signed_in

TZ = ZoneInfo("Europe/London")


@pytest.fixture
def clock() -> Callable[[], float]:
    return time.time  # the real clock: locks and audit entries here are made at time.time()


@pytest.fixture
def staff(staff: Staff, fake_store: Store) -> Staff:
    """The usual staff and Ada, the admin these pages are for."""
    add_staff(fake_store, "ada", role=Role.ADMIN)
    return staff


def token(client: FlaskClient, page: str = "/admin/officers") -> str:
    return page_token(client, page)


def alex_form(**changes: Any) -> dict[str, Any]:
    """The edit form as shown for Alex, with some fields changed."""
    fields = {"name": "Alex", "role": "officer", "status": "available", "home": "watford",
              "cover": [], "capacity": "2", "email": "",
              "shift-0-days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
              "shift-0-start": "00:00", "shift-0-end": "00:00"}
    return fields | changes


def save(client: FlaskClient, url: str, **changes: Any) -> Any:
    return client.post(url, data={"csrf_token": token(client), **alex_form(**changes)})


def updates(store: Store, key: str | None = None) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(key or store.keys.events)
            if f["type"] == "OfficerUpdated"]


def beside(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="f-{field}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return found.group(1)


# --- officers ------------------------------------------------------------------------------

def test_the_officers_page_lists_everyone_with_districts_skills_and_load(
        ada, fake_store, settings):
    routed_case(fake_store, settings, "watford")
    page = ada.get("/admin/officers").get_data(as_text=True)
    for name in ("Alex", "Blake", "Sam", "Ada"):
        assert f">{name}</a>" in page
    assert "Watford" in page and "Stevenage" in page
    assert "1 / 2" in page          # Alex holds the offer


def test_the_edit_form_shows_the_officer_as_stored(ada, fake_store):
    page = ada.get("/admin/officers/alex").get_data(as_text=True)
    assert '<option value="watford" selected>' in page
    assert page.count('name="shift-0-days"') == 7 and page.count('name="shift-0-days" value') == 7
    assert 'name="shift-0-start" type="time" value="00:00"' in page
    assert 'name="shift-1-start" type="time" value=""' in page      # an empty row to add one
    assert ada.get("/admin/officers/nobody").status_code == 404
    assert ada.get("/admin/officers/A:B").status_code == 404


def test_an_edit_with_a_bad_district_shows_the_error_beside_it_and_saves_nothing(
        ada, fake_store):
    before = fake_store.officers.raw("alex")
    resp = save(ada, "/admin/officers/alex", home="atlantis", capacity="many",
                **{"shift-0-days": ["someday"]})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "is not a district of" in beside(page, "home")
    assert "is not a whole number" in beside(page, "capacity")
    assert "is not a weekday" in beside(page, "shifts")
    assert "Nothing was saved" in page
    assert 'value="many"' in page           # what was typed is kept for correcting
    assert fake_store.officers.raw("alex") == before
    assert updates(fake_store) == []


def test_an_officer_needs_a_home_district(ada, fake_store):
    page = save(ada, "/admin/officers/alex", home="").get_data(as_text=True)
    assert beside(page, "home") == "An officer needs a home district."
    assert fake_store.officers.get("alex").districts == ("watford",)


def test_an_edit_is_saved_and_recorded_with_who_made_it(ada, fake_store):
    resp = save(ada, "/admin/officers/alex", cover=["stevenage", "dacorum"],
                skills=["lang:polish", "bsl"], capacity="4", email="alex@example.police.uk",
                channels=["mailto://alex@example.police.uk", ""], status="away",
                **{"shift-0-days": ["mon", "tue", "wed", "thu", "fri"],
                   "shift-0-start": "08:00", "shift-0-end": "16:00",
                   "shift-3-days": ["sat"], "shift-3-start": "22:00", "shift-3-end": "06:00",
                   "shift-4-start": "", "shift-4-end": "",
                   "leave-0-from": "2030-12-24", "leave-0-to": "2030-12-27",
                   "leave-1-from": "", "leave-1-to": ""})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/officers"
    alex = fake_store.officers.get("alex")
    assert alex.districts == ("watford", "stevenage", "dacorum")
    assert alex.skills == {"lang:polish", "bsl"} and alex.capacity == 4
    assert alex.status is Availability.AWAY and alex.email == "alex@example.police.uk"
    assert alex.channels == ("mailto://alex@example.police.uk",)
    assert len(alex.rota.shifts) == 2
    [leave] = alex.rota.leave
    assert leave.start == datetime(2030, 12, 24, tzinfo=TZ).astimezone(UTC)
    assert leave.end == datetime(2030, 12, 28, tzinfo=TZ).astimezone(UTC)
    [update] = updates(fake_store)
    assert (update["officer_id"], update["by"], update["created"]) == ("alex", "ada", "0")
    assert set(update["fields"].split(",")) == {
        "districts", "skills", "capacity", "email", "channels", "status", "rota"}
    assert [{k: v for k, v in e.items() if k not in ("prev", "hash", "kid")}  # unchained
            for e in updates(fake_store, fake_store.keys.audit)] == [update]
    assert fake_store.audit.verify().ok
    assert "alex@example" not in str(update)        # which fields, never the values
    shown = ada.get("/admin/officers/alex").get_data(as_text=True)
    assert 'value="2030-12-24"' in shown and 'value="2030-12-27"' in shown
    assert 'name="shift-1-days" value="sat" checked' in shown
    assert 'name="shift-1-end" type="time" value="06:00"' in shown


def test_the_form_shows_an_officer_as_the_fields_it_reads_back(fake_store):
    add_staff(fake_store, "alex", "watford", "stevenage", skills=("bsl",))
    officer = fake_store.officers.get("alex")
    values = form_values(officer, TZ)
    assert values.getlist("cover") == ["stevenage"] and values.getlist("skills") == ["bsl"]
    assert values.getlist("shift-0-days") == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert (values["shift-0-start"], values["shift-0-end"]) == ("00:00", "00:00")


def test_a_new_officer_is_added_and_an_id_cannot_be_taken_twice(ada, fake_store):
    resp = save(ada, "/admin/officers/new", id="casey-jones", name="Casey Jones",
                home="dacorum")
    assert resp.status_code == 302
    assert fake_store.officers.get("casey-jones").name == "Casey Jones"
    [update] = updates(fake_store)
    assert (update["officer_id"], update["by"], update["created"]) == ("casey-jones", "ada", "1")
    again = save(ada, "/admin/officers/new", id="casey-jones", name="Someone Else",
                 home="dacorum")
    assert again.status_code == 422
    assert "That id is taken" in beside(again.get_data(as_text=True), "id")
    assert fake_store.officers.get("casey-jones").name == "Casey Jones"
    made_up = save(ada, "/admin/officers/new", name="Robin", home="dacorum")
    assert made_up.status_code == 302
    assert any(o.name == "Robin" and o.role is Role.OFFICER
               for o in fake_store.officers.all())


# --- roles: never your own, and supervisor and admin only from the CLI ----------------------

def ada_form(**changes: Any) -> dict[str, Any]:
    """The edit form as shown for Ada herself (an admin: no home district)."""
    return alex_form(name="Ada", role="admin", home="", capacity="3") | changes


def test_nobody_changes_their_own_role(ada, fake_store):
    before = fake_store.officers.raw("ada")
    resp = ada.post("/admin/officers/ada", data={"csrf_token": token(ada),
                                                 **ada_form(role="supervisor")})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert beside(page, "role") == "You cannot change your own role."
    assert "Nothing was saved" in page
    assert fake_store.officers.raw("ada") == before
    assert updates(fake_store) == []


@pytest.mark.parametrize(("who", "role"), [("alex", "supervisor"), ("alex", "admin"),
                                           ("sam", "officer"), ("sam", "admin")])
def test_supervisor_and_admin_roles_are_not_given_or_taken_in_the_console(
        ada, fake_store, who, role):
    before = fake_store.officers.raw(who)
    form = alex_form(name=who.title(), role=role)
    resp = ada.post(f"/admin/officers/{who}", data={"csrf_token": token(ada), **form})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    message = beside(page, "role")
    assert "only by an operator on the server" in message
    assert f"liaison officers update {who} --role {role}" in message.replace("`", "")
    assert "access to every case" in message
    assert fake_store.officers.raw(who) == before
    assert updates(fake_store) == []


def test_a_new_supervisor_or_admin_is_not_added_in_the_console(ada, fake_store):
    for role in ("supervisor", "admin"):
        resp = save(ada, "/admin/officers/new", id=f"new-{role}", name="New One", home="",
                    role=role)
        assert resp.status_code == 422
        assert "liaison officers add --role" in beside(resp.get_data(as_text=True), "role")
        assert fake_store.officers.get(f"new-{role}") is None
    assert updates(fake_store) == []


def test_other_fields_of_a_supervisor_and_of_oneself_can_still_be_edited(ada, fake_store):
    assert ada.post("/admin/officers/ada", data={"csrf_token": token(ada), **ada_form(
        capacity="5")}).status_code == 302
    assert ada.post("/admin/officers/sam", data={"csrf_token": token(ada), **alex_form(
        name="Sam", role="supervisor", capacity="1")}).status_code == 302
    assert fake_store.officers.get("ada").capacity == 5
    assert fake_store.officers.get("sam").role is Role.SUPERVISOR
    assert ada.get("/admin/officers").status_code == 200  # still signed in


# --- accounts ------------------------------------------------------------------------------

def test_the_accounts_page_shows_logins_locks_and_disabled_ones(ada, fake_store):
    fake_store.accounts.create("blake", "blake.b", hashed(PASSWORD))
    fake_store.accounts.set_disabled("blake.b", True)
    fake_store.accounts.lock("ada", time.time() + 600)
    page = ada.get("/admin/accounts").get_data(as_text=True)
    rows = {name: re.search(rf">{name}</a>.*?</li>", page, re.S).group(0)
            for name in ("Alex", "Blake", "Ada")}
    assert "No login" in rows["Alex"]
    assert "blake.b" in rows["Blake"] and "<strong>Disabled</strong>" in rows["Blake"]
    assert "<strong>Locked</strong> for 10 min" in rows["Ada"]
    assert "liaison accounts create" in page


# --- the audit log -------------------------------------------------------------------------

@pytest.fixture
def audited(fake_store: Store, settings: Settings, staff: Staff) -> tuple[str, str]:
    first, _ = routed_case(fake_store, settings, "watford")
    second, _ = routed_case(fake_store, settings, "stevenage")
    now = time.time()
    fake_store.audit.record_view(first, by="alex", now=now)
    fake_store.audit.record_view(first, by="sam", now=now)
    fake_store.audit.record_view(second, by="sam", now=now)
    return first, second


def audit_rows(client: FlaskClient, query: str = "") -> list[str]:
    page = client.get(f"/admin/audit{query}").get_data(as_text=True)
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, page
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
            if "Nothing matches" not in r]


def test_the_audit_log_lists_newest_first(ada, audited):
    first, second = audited
    rows = audit_rows(ada)
    assert len(rows) == 4  # the three reads, and before them ada's own sign-in
    assert second in rows[0] and first in rows[2]
    assert "Signed in" in rows[3] and ">Ada<" in rows[3]


def test_the_audit_log_shows_a_case_by_its_reference_and_names_each_entry(
        ada, fake_store, audited):
    first, second = audited
    now = time.time()
    fake_store.audit.record_case_action(second, "reassign", by="sam", via="api", now=now,
                                        officer_id="alex")
    fake_store.audit.record_note(second, "n" * 32, by="sam", via="console", now=now)
    fake_store.audit.record_collected(second, kind="report", via="intake-form", now=now)
    fake_store.audit.record_sign_in("SignInFailed", by="", via="console", now=now,
                                    username_digest="d" * 64)
    rows = audit_rows(ada)
    reference = fake_store.cases.get(second)["reference"]
    assert "Sign-in failed" in rows[0] and "System" in rows[0]
    assert "Collected at intake" in rows[1] and "(intake-form)" in rows[1]
    assert "Note added" in rows[2]
    assert "Case reassigned" in rows[3] and "(api)" in rows[3] and "Officer Alex" in rows[3]
    for row in rows[1:4]:
        assert f"<code>{reference}</code>" in row and f'title="{second}"' in row
    unknown = "0" * 32  # no such case (or erased and gone): the id itself
    fake_store.audit.record_view(unknown, by="sam", now=now)
    assert f"<code>{unknown}</code>" in audit_rows(ada)[0]


def test_the_audit_log_filters_by_case_and_by_person(ada, fake_store, audited):
    first, second = audited
    rows = audit_rows(ada, f"?case={first}")
    assert len(rows) == 2 and all(first in r for r in rows)
    reference = fake_store.cases.get(second)["reference"]
    assert len(audit_rows(ada, f"?case={reference}")) == 1
    rows = audit_rows(ada, "?person=alex")
    assert len(rows) == 1 and ">Alex<" in rows[0]
    assert len(audit_rows(ada, f"?person=sam&case={second}")) == 1


def test_the_audit_log_filters_by_date_and_says_when_a_date_is_wrong(ada, audited):
    today = datetime.now(TZ).date()
    assert len(audit_rows(ada, f"?from={today}&to={today}")) == 4  # with ada's sign-in
    assert audit_rows(ada, f"?from={today + timedelta(days=1)}") == []
    assert audit_rows(ada, f"?to={today - timedelta(days=1)}") == []
    page = ada.get("/admin/audit?from=yesterday").get_data(as_text=True)
    assert "Give a date as YYYY-MM-DD." in page
    assert "No case with that id or reference." in ada.get(
        "/admin/audit?case=nothing").get_data(as_text=True)


def test_the_audit_log_pages_by_a_hundred(ada, fake_store):
    for i in range(105):
        fake_store.redis.xadd(fake_store.keys.audit, {
            "type": "CaseViewed", "case_id": f"{i:032x}", "by": "sam", "at": f"{time.time()}"})
    page = ada.get("/admin/audit").get_data(as_text=True)
    older = re.search(r'href="(/admin/audit\?before=[^"]+)">Older entries', page)
    assert older and page.count("<code>") == 100
    rest = ada.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert rest.count("<code>") == 5 and "Older entries" not in rest
    assert f"{0:032x}" in rest


# --- who may see what ----------------------------------------------------------------------

ADMIN_ROUTES = [("GET", "/admin/officers"), ("GET", "/admin/officers/new"),
                ("POST", "/admin/officers/new"), ("GET", "/admin/officers/alex"),
                ("POST", "/admin/officers/alex"), ("GET", "/admin/accounts"),
                ("GET", "/admin/audit")]


@pytest.mark.parametrize(("who", "home"), [("alex", "/inbox"), ("sam", "/dashboard")])
def test_officers_and_supervisors_get_403_on_every_admin_route(app, fake_store, staff, who,
                                                               home):
    client = signed_in(app, fake_store, who)
    csrf = token(client, home)
    for method, path in ADMIN_ROUTES:
        resp = client.open(path, method=method, data={"csrf_token": csrf, **alex_form(
            capacity="9")})
        assert resp.status_code == 403, (method, path)
    assert fake_store.officers.get("alex").capacity == 2
    assert updates(fake_store) == []


def test_admin_pages_need_a_sign_in(app, staff):
    client = app.test_client()
    for method, path in ADMIN_ROUTES:
        if method == "GET":
            resp = client.get(path)
            assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_admin_pages_have_no_inline_scripts_or_styles(ada):
    for url in ("/admin/officers", "/admin/officers/alex", "/admin/officers/new",
                "/admin/accounts", "/admin/audit"):
        page = ada.get(url).get_data(as_text=True)
        assert "<script" not in page and "style=" not in page, url


# --- outbound fence: channel URLs are checked when they are set ----------------------------

@pytest.mark.parametrize(("channels", "reason"), [
    ("file:///etc/passwd", "is not allowed"),
    ("webhook+https://169.254.169.254/latest/meta-data", "link-local address refused"),
    ("mailto://alex@example.police.uk\njsons://10.0.0.7/in", "private address refused"),
    ("webhook+https://[fe80::1]/x", "link-local address refused"),
    ("webhook+http://93.184.216.34/x", "plain http only"),
])
def test_a_channel_to_a_refused_destination_is_shown_beside_the_field(
        ada, fake_store, channels, reason):
    before = fake_store.officers.raw("alex")
    resp = save(ada, "/admin/officers/alex", channels=channels)
    assert resp.status_code == 422
    assert reason in beside(resp.get_data(as_text=True), "channels")
    assert fake_store.officers.raw("alex") == before
    assert updates(fake_store) == []


def test_a_local_receiver_on_the_allow_list_is_accepted(ada, fake_store, settings):
    assert "127.0.0.1" in settings.outbound_allow.split(",")  # the test settings' list
    resp = save(ada, "/admin/officers/alex", channels="webhook+http://127.0.0.1:9000/hook")
    assert resp.status_code == 302
    assert fake_store.officers.get("alex").channels == ("webhook+http://127.0.0.1:9000/hook",)
