"""Refused case accesses are audit entries (who, which case, what they tried), and
supervisors find a case by the reference a reporter quotes — in the JSON API and the
console — with every search audited, found or not."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.domain.officers import Role
from shared.store import Store
from tests.support.cases import add_staff
from tests.support.console import Staff, signed_in

pytestmark = pytest.mark.usefixtures("fast_hashing")

UNKNOWN_CASE = "0" * 32


@pytest.fixture
def tokens(staff: Staff) -> dict[str, dict[str, str]]:
    """The staff's bearer headers by name."""
    return {"alex": staff.alex, "blake": staff.blake, "sam": staff.sam}


def audit(store: Store, kind: str) -> list[dict[str, str]]:
    return [f for _, f in store.redis.xrange(store.keys.audit) if f["type"] == kind]


# --- refused accesses are audited --------------------------------------------------------

def test_an_officer_reading_another_officers_case_is_refused_and_audited(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    resp = client.get(f"/api/v1/cases/{offered}", headers=tokens["blake"])
    assert resp.status_code == 403
    [entry] = audit(fake_store, "CaseAccessRefused")
    assert entry["by"] == "blake" and entry["case_id"] == offered
    assert entry["action"] == "read" and entry["reason"] == "not_yours"
    assert not audit(fake_store, "CaseViewed")


def test_a_refused_action_on_another_officers_case_names_the_action(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    resp = client.post(f"/api/v1/cases/{offered}/accept", headers=tokens["blake"])
    assert resp.status_code == 403
    [entry] = audit(fake_store, "CaseAccessRefused")
    assert (entry["by"], entry["action"], entry["reason"]) == ("blake", "accept", "not_yours")
    assert fake_store.cases.get(offered)["state"] == "offered"


@pytest.mark.parametrize("asked, recorded, reason", [
    (UNKNOWN_CASE, UNKNOWN_CASE, "not_found"),
    ("not-a-case-id", "", "malformed_id"),
])
def test_asking_for_a_case_that_does_not_exist_is_audited(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        asked: str, recorded: str, reason: str) -> None:
    resp = client.get(f"/api/v1/cases/{asked}", headers=tokens["alex"])
    assert resp.status_code == 404
    [entry] = audit(fake_store, "CaseAccessRefused")
    assert (entry["by"], entry["case_id"], entry["reason"]) == ("alex", recorded, reason)


def test_the_officer_case_page_refusal_is_audited(
        app: Flask, fake_store: Store, tokens: dict[str, dict[str, str]], offered: str) -> None:
    blake = signed_in(app, fake_store, "blake")
    resp = blake.get(f"/cases/{offered}")
    assert resp.status_code == 403
    [entry] = audit(fake_store, "CaseAccessRefused")
    assert (entry["by"], entry["case_id"], entry["reason"]) == ("blake", offered, "not_yours")


def test_the_audit_page_shows_refused_accesses(
        app: Flask, fake_store: Store, tokens: dict[str, dict[str, str]], offered: str,
        client: FlaskClient) -> None:
    client.get(f"/api/v1/cases/{offered}", headers=tokens["blake"])
    add_staff(fake_store, "ada", role=Role.ADMIN)
    page = signed_in(app, fake_store, "ada").get(f"/admin/audit?case={offered}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Case access refused" in text and "Read refused: not yours" in text


def test_an_allowed_read_leaves_no_refusal(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    assert client.get(f"/api/v1/cases/{offered}", headers=tokens["alex"]).status_code == 200
    assert client.get(f"/api/v1/cases/{offered}?purpose=supervision",
                      headers=tokens["sam"]).status_code == 200
    assert audit(fake_store, "CaseAccessRefused") == []


# --- supervisors find a case by reference ---------------------------------------------------

def loosely(reference: str) -> str:
    """How a person might read a reference out: lower case, spaces for dashes."""
    return reference.lower().replace("-", " ")


def test_a_supervisor_finds_a_case_by_its_reference_in_the_api(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    reference = fake_store.cases.get(offered)["reference"]
    resp = client.get("/api/v1/cases", query_string={"reference": loosely(reference)},
                      headers=tokens["sam"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["id"] == offered and body["reference"] == reference
    assert body["state"] == "offered"
    [entry] = audit(fake_store, "CaseSearched")
    assert (entry["by"], entry["reference"], entry["case_id"], entry["found"]) == \
        ("sam", reference, offered, "1")


def test_a_search_that_finds_nothing_is_404_and_still_audited(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    from shared.domain.references import new_reference
    other = new_reference()
    resp = client.get("/api/v1/cases", query_string={"reference": other},
                      headers=tokens["sam"])
    assert resp.status_code == 404
    [entry] = audit(fake_store, "CaseSearched")
    assert (entry["reference"], entry["case_id"], entry["found"]) == (other, "", "0")


def test_a_mistyped_reference_is_422_naming_the_field(
        client: FlaskClient, tokens: dict[str, dict[str, str]], offered: str,
        fake_store: Store) -> None:
    reference = fake_store.cases.get(offered)["reference"]
    typo = reference[:-1] + ("A" if reference[-1] != "A" else "B")  # the check catches it
    resp = client.get("/api/v1/cases", query_string={"reference": typo},
                      headers=tokens["sam"])
    assert resp.status_code == 422
    assert "reference" in resp.get_json()["errors"]["query"]
    assert audit(fake_store, "CaseSearched") == []


def test_officers_cannot_search_by_reference(
        client: FlaskClient, fake_store: Store, tokens: dict[str, dict[str, str]],
        offered: str) -> None:
    reference = fake_store.cases.get(offered)["reference"]
    resp = client.get("/api/v1/cases", query_string={"reference": reference},
                      headers=tokens["alex"])
    assert resp.status_code == 403
    assert audit(fake_store, "CaseSearched") == []


def test_the_dashboard_search_opens_the_case_view(
        app: Flask, fake_store: Store, tokens: dict[str, dict[str, str]], offered: str) -> None:
    sam = signed_in(app, fake_store, "sam")
    assert 'action="/cases/find"' in sam.get("/dashboard").get_data(as_text=True)
    reference = fake_store.cases.get(offered)["reference"]
    resp = sam.get("/cases/find", query_string={"reference": loosely(reference)})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/cases/{offered}/view")
    asked = sam.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Why are you opening this case?" in asked and reference not in asked
    page = sam.get(resp.headers["Location"], query_string={"purpose": "reporter_contact"})
    assert page.status_code == 200 and reference in page.get_data(as_text=True)
    assert [e["found"] for e in audit(fake_store, "CaseSearched")] == ["1"]


@pytest.mark.parametrize("typed, status, says", [
    ("K7XM", 422, "Enter a case reference like"),
    (None, 404, "No case has that reference"),
])
def test_the_search_page_says_what_went_wrong_and_keeps_the_text(
        app: Flask, fake_store: Store, tokens: dict[str, dict[str, str]], typed: str | None,
        status: int, says: str) -> None:
    from shared.domain.references import new_reference
    text = typed or new_reference()
    sam = signed_in(app, fake_store, "sam")
    resp = sam.get("/cases/find", query_string={"reference": text})
    page = resp.get_data(as_text=True)
    assert resp.status_code == status
    assert says in page and f'value="{text}"' in page


def test_officers_cannot_use_the_search_page(
        app: Flask, fake_store: Store, tokens: dict[str, dict[str, str]], offered: str) -> None:
    alex = signed_in(app, fake_store, "alex")
    reference = fake_store.cases.get(offered)["reference"]
    assert alex.get("/cases/find", query_string={"reference": reference}).status_code == 403
    assert audit(fake_store, "CaseSearched") == []
