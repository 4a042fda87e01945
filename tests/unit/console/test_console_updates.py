"""Victims' Code updates in the console: the officer records "update given" (page and API)
only on a way the reporter said is safe, is warned when now is not a safe time, and the
inbox puts whatever falls due first (SLA or update) at the top."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from shared.config import Settings
from tests.support.cases import routed_case
from tests.support.console import case_audit, events_of, post_form, signed_in
from tests.support.world import Clock

pytestmark = pytest.mark.usefixtures("fast_hashing")
DAY = 86400
NOTE = "UPDATE-NOTE-CANARY-Heron-7731"


def post(client: FlaskClient, url: str, **form: str) -> Any:
    return post_form(client, "/inbox", url, **form)


def html(client: FlaskClient, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def section(page: str, title_id: str) -> str:
    start = page.index(f'aria-labelledby="{title_id}"')
    return page[start:page.index("</section>", start)]


def flashes(page: str) -> list[str]:
    return re.findall(r'class="flash flash--\w+" role="status">([^<]*)<', page)


def test_an_update_given_on_a_safe_channel_sets_the_next_due_date(
        alex, fake_store, offered, clock):
    post(alex, f"/cases/{offered}/accept")
    form = section(html(alex, f"/cases/{offered}"), "update-title")
    assert f'action="/cases/{offered}/updates"' in form
    offered_channels = re.findall(r'<option value="(\w+)">', form)
    assert offered_channels == ["sms", "email"]  # their profile's ways, never a phone call

    resp = post(alex, f"/cases/{offered}/updates", channel="sms", note=NOTE)
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}"
    case = fake_store.cases.get(offered)
    assert case["state"] == "contacted" and case["updates_given"] == "1"
    assert float(case["next_update_at"]) == pytest.approx(clock() + 28 * DAY)  # standard
    assert fake_store.redis.zscore(fake_store.keys.updates_due, offered) \
        == pytest.approx(clock() + 28 * DAY)
    page = html(alex, f"/cases/{offered}")
    assert "Update recorded." in "".join(flashes(page))
    assert NOTE in section(page, "notes-title")  # unsealed for the officer…
    dumped = str({k: fake_store.redis.dump(k) for k in fake_store.redis.keys("*")})
    assert NOTE not in dumped                     # …sealed at rest
    [given] = events_of(fake_store, "UpdateGiven")
    assert (given["officer_id"], given["channel"]) == ("alex", "sms")
    assert any(f["type"] == "CaseActionTaken" and f.get("action") == "update"
               and f["case_id"] == offered and f["by"] == "alex"
               for f in case_audit(fake_store))


def test_a_channel_their_profile_does_not_allow_is_refused(alex, fake_store, offered):
    post(alex, f"/cases/{offered}/accept")
    resp = post(alex, f"/cases/{offered}/updates", channel="phone")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}"
    assert "Use only a way they said is safe" in "".join(flashes(html(alex, resp.headers[
        "Location"])))
    assert "updates_given" not in fake_store.cases.get(offered) \
        or fake_store.cases.get(offered)["updates_given"] == "0"
    assert not events_of(fake_store, "UpdateGiven")


def _next(weekday: int, hour: int) -> float:
    """The next such weekday (0 = Monday) at `hour`:00 UTC, a week or more from now."""
    now = datetime.now(UTC) + timedelta(days=7)
    day = now + timedelta(days=(weekday - now.weekday()) % 7)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp()


@pytest.mark.parametrize(("weekday", "hour", "warned"), [(3, 12, True), (0, 19, False)],
                         ids=["thursday noon", "monday evening"])
def test_the_form_warns_when_now_is_not_a_safe_time(
        app, fake_store, settings, staff, clock, weekday, hour, warned):
    # their safe times: Monday to Wednesday, 18:00-21:00 (tests/payloads.py)
    clock.now = _next(weekday, hour)
    case_id, result = routed_case(fake_store, settings, "watford", now=clock())
    alex = signed_in(app, fake_store, "alex")
    post(alex, f"/cases/{case_id}/accept")
    form = section(html(alex, f"/cases/{case_id}"), "update-title")
    assert ("Now is not a safe time to contact them." in form) is warned


def test_the_api_records_an_update_for_the_officer_only(client, fake_store, staff, offered,
                                                        clock):
    url = f"/api/v1/cases/{offered}/updates"
    assert client.post(url, json={"channel": "email"}, headers=staff.alex).status_code == 409
    client.post(f"/api/v1/cases/{offered}/accept", headers=staff.alex)
    assert client.post(url, json={"channel": "email"}, headers=staff.sam).status_code == 403
    refused = client.post(url, json={"channel": "phone"}, headers=staff.alex)
    assert refused.status_code == 422 and "channel" in refused.json["errors"]["json"]
    assert client.post(url, json={"channel": "fax"}, headers=staff.alex).status_code == 422

    done = client.post(url, json={"channel": "email", "note": NOTE}, headers=staff.alex)
    assert done.status_code == 200, done.json
    due = datetime.fromtimestamp(clock() + 28 * DAY, UTC)
    assert done.json["state"] == "contacted"
    assert abs(datetime.fromisoformat(done.json["next_update_at"]) - due) < timedelta(seconds=1)
    read = client.get(f"/api/v1/cases/{offered}", headers=staff.alex).json["case"]
    assert read["updates_given"] == 1 and read["next_update_at"] == done.json["next_update_at"]
    assert any(f.get("action") == "update" and f.get("via") == "api"
               for f in case_audit(fake_store))


def client_json(page_client: FlaskClient, staff: Any) -> Any:
    api = page_client.application.test_client()
    return api.get("/api/v1/me/cases", headers=staff.alex).json


def test_the_inbox_puts_an_update_due_before_a_later_sla(alex, fake_store, settings, clock,
                                                        staff):
    first, _ = routed_case(fake_store, settings, "watford", now=clock())  # high: contact in 4 h
    post(alex, f"/cases/{first}/accept")
    second, _ = routed_case(fake_store, settings, "watford", now=clock())
    post(alex, f"/cases/{second}/accept")
    fake_store.redis.hset(fake_store.keys.case(second), "next_update_at", f"{clock() + 60:.6f}")
    open_cases = section(html(alex, "/inbox"), "open-title")
    refs = [fake_store.cases.get(c)["reference"] for c in (second, first)]
    assert open_cases.index(refs[0]) < open_cases.index(refs[1])
    assert "Update due" in open_cases
    mine = client_json(alex, staff)  # the API's order is the same
    assert [c["id"] for c in mine["open"]] == [second, first]


def test_the_offer_summary_and_case_page_show_the_risk_rating(
        app, fake_store, settings: Settings, staff, clock: Clock, offered):
    fake_store.redis.hset(fake_store.keys.case(offered), mapping={
        "risk": "high", "enhanced": "1", "linked_refs": "K7XM-4QPA-R"})
    alex = signed_in(app, fake_store, "alex")
    inbox = html(alex, "/inbox")
    assert re.search(r'data-summary="[^"]*High risk · repeat victim[^"]*"', inbox)
    page = html(alex, f"/cases/{offered}")
    care = section(page, "care-title")
    assert "High" in care and "K7XM-4QPA-R" in care and "Enhanced" in care
    assert 'href="/cases/' not in care  # an unknown reference is shown, never linked


def test_a_supervisor_sees_the_risk_rating_and_earlier_references(sam, fake_store, offered):
    fake_store.redis.hset(fake_store.keys.case(offered), mapping={
        "risk": "medium", "enhanced": "1", "linked_refs": "K7XM-4QPA-R"})
    page = html(sam, f"/cases/{offered}/view?purpose=supervision")
    details = section(page, "details-title")
    assert "Risk rating" in details and "Medium" in details
    assert "K7XM-4QPA-R" in details
