"""DPA 2018 s.62(3): a consultation's log shows its justification. The case's own officer
reads it without being asked; anyone else (a supervisor) says why first, from a fixed list
with an optional reference, and the reason is in the audit entry of the read. Before a
reason is given, no personal data is on the page or in the response."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.domain import consultation
from shared.domain.officers import Role
from shared.store import Store
from tests.support.cases import CANARY, add_staff
from tests.support.console import Staff, signed_in
from tests.support.world import Clock

pytestmark = pytest.mark.usefixtures("fast_hashing")


def views(store: Store) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit) if f["type"] == "CaseViewed"]


def test_the_cases_own_officer_reads_it_without_a_reason(
        client: FlaskClient, fake_store: Store, staff: Staff, offered: str) -> None:
    resp = client.get(f"/api/v1/cases/{offered}", headers=staff.alex)
    assert resp.status_code == 200
    [entry] = views(fake_store)
    assert entry["by"] == "alex" and "purpose" not in entry


def test_a_supervisor_without_a_reason_gets_422_naming_purpose_and_no_data(
        client: FlaskClient, fake_store: Store, staff: Staff, offered: str) -> None:
    resp = client.get(f"/api/v1/cases/{offered}", headers=staff.sam)
    assert resp.status_code == 422
    assert "purpose" in resp.json["errors"]["query"]
    assert CANARY not in resp.get_data(as_text=True)
    assert views(fake_store) == []


@pytest.mark.parametrize("query, field", [
    ("purpose=curiosity", "purpose"),
    ("purpose=request", "reference"),                     # a request needs its reference
    ("purpose=other_duty&reference=Robin%20%3Cb%3E", "reference"),  # not a reference
    ("purpose=supervision&reference=" + "9" * 41, "reference"),
])
def test_a_wrong_reason_names_the_field(client: FlaskClient, fake_store: Store,
                                        staff: Staff, offered: str, query: str,
                                        field: str) -> None:
    resp = client.get(f"/api/v1/cases/{offered}?{query}", headers=staff.sam)
    assert resp.status_code == 422
    assert field in resp.json["errors"]["query"]
    assert views(fake_store) == []


def test_the_api_read_records_the_reason(client: FlaskClient, fake_store: Store,
                                         staff: Staff, offered: str) -> None:
    resp = client.get(f"/api/v1/cases/{offered}",
                      query_string={"purpose": "other_duty", "reference": "CAD 4471/26"},
                      headers=staff.sam)
    assert resp.status_code == 200 and CANARY in resp.get_data(as_text=True)
    [entry] = views(fake_store)
    assert (entry["by"], entry["via"], entry["purpose"], entry["reference"]) == (
        "sam", "api", "other_duty", "CAD 4471/26")


def test_the_supervisor_page_asks_why_before_showing_anything(
        sam: FlaskClient, fake_store: Store, offered: str) -> None:
    asked = sam.get(f"/cases/{offered}/view")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Why are you opening this case?" in page
    assert CANARY not in page and fake_store.cases.get(offered)["reference"] not in page
    for label in consultation.PURPOSES.values():
        assert label in page
    assert views(fake_store) == []

    wrong = sam.get(f"/cases/{offered}/view", query_string={"purpose": "request"})
    assert wrong.status_code == 400
    text = wrong.get_data(as_text=True)
    assert 'href="#reason-reference"' in text and CANARY not in text

    opened = sam.get(f"/cases/{offered}/view",
                     query_string={"purpose": "safeguarding", "reference": "41/0099/26"})
    assert opened.status_code == 200 and CANARY in opened.get_data(as_text=True)
    [entry] = views(fake_store)
    assert (entry["by"], entry["via"], entry["purpose"], entry["reference"]) == (
        "sam", "console", "safeguarding", "41/0099/26")


def test_the_reason_is_remembered_for_that_case_for_30_minutes_and_audited_each_read(
        sam: FlaskClient, fake_store: Store, offered: str, clock: Clock) -> None:
    sam.get(f"/cases/{offered}/view", query_string={"purpose": "allocation"})
    again = sam.get(f"/cases/{offered}/view")   # e.g. back from reassigning it
    assert again.status_code == 200 and CANARY in again.get_data(as_text=True)
    assert [e["purpose"] for e in views(fake_store)] == ["allocation", "allocation"]

    clock.advance(20 * 60)
    assert sam.get("/dashboard").status_code == 200   # still signed in, busy elsewhere
    clock.advance(11 * 60)
    later = sam.get(f"/cases/{offered}/view").get_data(as_text=True)
    assert "Why are you opening this case?" in later and CANARY not in later
    assert len(views(fake_store)) == 2


def test_a_refused_page_is_refused_before_asking_why(
        app: Flask, sam: FlaskClient, fake_store: Store) -> None:
    assert sam.get(f"/cases/{'f' * 32}/view").status_code == 404
    refused = [f for _, f in fake_store.redis.xrange(fake_store.keys.audit)
               if f["type"] == "CaseAccessRefused"]
    assert [(r["by"], r["reason"]) for r in refused] == [("sam", "not_found")]


def test_the_audit_page_reads_the_reason_back(app: Flask, sam: FlaskClient,
                                              fake_store: Store, offered: str) -> None:
    add_staff(fake_store, "ada", role=Role.ADMIN)
    ada = signed_in(app, fake_store, "ada")
    sam.get(f"/cases/{offered}/view",
            query_string={"purpose": "other_duty", "reference": "CAD 4471/26"})
    page = ada.get("/admin/audit", query_string={"case": offered}).get_data(as_text=True)
    assert "Why: Another policing purpose (give its reference); reference CAD 4471/26" in page
    assert fake_store.cases.get(offered)["reference"] in page
