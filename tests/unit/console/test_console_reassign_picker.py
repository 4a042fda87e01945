"""The supervisor's reassign picker (issue 12) on fakeredis: every officer with their shift,
status, load and skills; one routing would pass over (off shift, away, off duty, at capacity,
without a skill the case requires) is refused without a reason — the case page comes back
naming the officer and the problem — and given with one, audited with the reason."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from services.console.web_admin import audit_details
from shared.domain.officers import Availability, Role
from shared.store import Store
from tests.support.cases import CANARY, add_staff
from tests.support.console import Staff, case_audit, events_of, override_notes, page_token

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def staff(staff: Staff, fake_store: Store, clock) -> Staff:
    """The usual staff, and one officer for each thing routing holds against someone:
    Sam Patel off shift, Ola away, Dee off duty, Fay full, and Bea, who signs (BSL)."""
    add_staff(fake_store, "sam-patel", "watford", skills=("bsl",))
    fake_store.officers.set_on_shift("sam-patel", False, None, now=clock())
    add_staff(fake_store, "ola", "watford", status=Availability.AWAY)
    add_staff(fake_store, "dee", "watford", status=Availability.OFF_DUTY)
    add_staff(fake_store, "fay", "watford", capacity=0)
    add_staff(fake_store, "bea", "watford", skills=("bsl", "lang:polish"))
    fake_store.redis.hset(fake_store.keys.officer("sam-patel"), "name", "Sam Patel")
    return staff


def needs(store: Store, case_id: str, *skills: str) -> None:
    """The case requires these skills (as intake stores a BSL or language need)."""
    store.redis.hset(store.keys.case(case_id), "required_skills", ",".join(skills))


def case_page(client: FlaskClient, case_id: str) -> str:
    return client.get(f"/cases/{case_id}/view?purpose=supervision").get_data(as_text=True)


def choose(client: FlaskClient, case_id: str, officer_id: str, reason: str = "",
           back: str = "case"):
    csrf = page_token(client, f"/cases/{case_id}/view?purpose=supervision")
    return client.post(f"/dashboard/cases/{case_id}/reassign",
                       data={"csrf_token": csrf, "officer_id": officer_id, "reason": reason,
                             "back": back})


def pick(page: str, officer_id: str) -> str:
    found = re.search(rf'<div class="radio pick[^"]*">\s*<input type="radio" '
                      rf'id="pick-{officer_id}".*?</div>', page, re.S)
    assert found, f"no pick for {officer_id}"
    return " ".join(found.group(0).split())


def test_the_picker_lists_every_officer_with_shift_status_load_and_skills(
        sam, fake_store, offered):
    page = case_page(sam, offered)
    for officer_id in ("alex", "bea", "blake", "dee", "fay", "ola", "sam-patel"):
        assert f'id="pick-{officer_id}"' in page
    assert 'id="pick-sam"' not in page                       # a supervisor takes no cases
    assert "Skills: BSL" in pick(page, "sam-patel") and "Off shift" in pick(page, "sam-patel")
    assert "— off shift" in pick(page, "sam-patel")
    assert "Skills: BSL, Polish" in pick(page, "bea") and "— " not in pick(page, "bea")
    assert "On shift · Available · 0 of 2 cases" in pick(page, "bea")
    assert "— away" in pick(page, "ola") and "— off duty" in pick(page, "dee")
    assert "0 of 0 cases" in pick(page, "fay") and "— at capacity" in pick(page, "fay")
    assert "— has the case" in pick(page, "alex") and "disabled" in pick(page, "alex")
    assert 'id="reassign-reason"' in page and "error-summary" not in page


def test_the_picker_marks_who_lacks_a_skill_the_case_requires(sam, fake_store, offered):
    needs(fake_store, offered, "bsl")
    page = case_page(sam, offered)
    assert "— no BSL" in pick(page, "blake")
    assert "— " not in pick(page, "bea")
    assert "— off shift" in pick(page, "sam-patel")          # has BSL, but off shift


@pytest.mark.parametrize(("officer_id", "words"), [
    ("sam-patel", "Sam Patel is off shift."),
    ("ola", "Ola is away."),
    ("dee", "Dee is off duty."),
    ("fay", "Fay is at capacity (0 of 0 cases)."),
])
def test_an_officer_routing_would_pass_over_is_refused_without_a_reason(
        sam, fake_store, offered, officer_id, words):
    resp = choose(sam, offered, officer_id)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    message = f"{words} Give a reason to assign them anyway, or choose someone else."
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert message in summary and 'href="#reassign-reason"' in summary
    assert "<title>Error: Case" in page
    assert f'id="pick-{officer_id}"' in page and "checked" in pick(page, officer_id)
    assert 'aria-invalid="true"' in page
    assert fake_store.cases.get(offered)["officer"] == "alex"
    assert events_of(fake_store, "CaseReassigned") == []
    assert CANARY in page                                    # the case page itself, again


def test_a_missing_required_skill_is_refused_and_named(sam, fake_store, offered):
    needs(fake_store, offered, "bsl", "lang:polish")
    page = choose(sam, offered, "blake").get_data(as_text=True)
    assert ("Blake does not have BSL and Polish (the case needs it). Give a reason to assign "
            "them anyway, or choose someone else.") in page
    page = choose(sam, offered, "sam-patel").get_data(as_text=True)
    assert "Sam Patel is off shift, and does not have Polish (the case needs it)." in page
    assert fake_store.cases.get(offered)["officer"] == "alex"


def test_with_a_reason_the_override_succeeds_and_is_audited(sam, fake_store, settings,
                                                            offered):
    reason = "Sam is on call tonight and asked for this one."
    resp = choose(sam, offered, "sam-patel", reason)
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{offered}/view"
    assert fake_store.cases.get(offered)["officer"] == "sam-patel"
    page = sam.get(resp.headers["Location"]).get_data(as_text=True)
    assert ("Case reassigned to Sam Patel as an override (off shift). Your reason is kept as "
            "a note on the case.") in page
    # the reason may name people: a sealed note, shown with the case's notes
    assert override_notes(fake_store, settings, offered) == [
        f"Reassigned past routing's rules (off shift): {reason}"]
    assert "(override note)" in page and reason in page
    [moved] = events_of(fake_store, "CaseReassigned")
    assert (moved["to_officer"], moved["overridden"]) == ("sam-patel", "off_shift")
    [action] = [a for a in case_audit(fake_store) if a["type"] == "CaseActionTaken"]
    assert (action["action"], action["officer_id"], action["by"]) == (
        "reassign", "sam-patel", "sam")
    [note] = fake_store.notes.list(offered)
    assert (action["overridden"], action["override_note"]) == ("off_shift", note["id"])
    assert reason not in str(case_audit(fake_store)) + str(events_of(fake_store,
                                                                      "CaseReassigned"))
    # the admin's audit page says it in words
    assert "overrode: off shift; the reason is in the case's notes" in audit_details(action)


def test_a_reason_of_only_spaces_is_no_reason(sam, fake_store, offered):
    assert choose(sam, offered, "fay", "   ").status_code == 409
    assert fake_store.cases.get(offered)["officer"] == "alex"


def test_an_eligible_officer_needs_no_reason_and_no_override_is_recorded(
        sam, fake_store, offered):
    resp = choose(sam, offered, "bea", "Not needed, but given.")
    assert resp.status_code == 302
    [moved] = events_of(fake_store, "CaseReassigned")
    assert "overridden" not in moved and "override_reason" not in moved
    assert "Case reassigned to Bea." in sam.get(resp.headers["Location"]).get_data(
        as_text=True)


def test_a_refusal_from_the_dashboard_asks_on_a_page_without_personal_data(
        sam, fake_store, offered):
    csrf = page_token(sam, "/dashboard")
    resp = sam.post(f"/dashboard/cases/{offered}/reassign",
                    data={"csrf_token": csrf, "officer_id": "ola"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Ola is away. Give a reason to assign them anyway" in page
    assert CANARY not in page and 'name="back" value="dashboard"' in page
    csrf = page_token(sam, "/dashboard")
    resp = sam.post(f"/dashboard/cases/{offered}/reassign",
                    data={"csrf_token": csrf, "officer_id": "ola", "back": "dashboard",
                          "reason": "Ola is back in ten minutes."})
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    assert fake_store.cases.get(offered)["officer"] == "ola"


def test_the_dashboards_picker_marks_officers_too(sam, fake_store, offered):
    page = sam.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<option value="sam-patel">Sam Patel \([^)]*\) — off shift</option>', page)
    assert re.search(r'<option value="bea">Bea \([^)]*\)</option>', page)


def test_a_reason_too_long_is_refused(sam, fake_store, offered):
    resp = choose(sam, offered, "fay", "x" * 501)
    assert resp.status_code == 409
    assert "Give a reason of 500 characters or fewer." in resp.get_data(as_text=True)
    assert fake_store.cases.get(offered)["officer"] == "alex"


def test_officers_who_are_not_officers_are_still_refused_outright(sam, fake_store, offered):
    add_staff(fake_store, "sup2", "watford", role=Role.SUPERVISOR)
    resp = choose(sam, offered, "sup2", "A reason does not make a supervisor an officer.")
    assert resp.status_code == 302
    assert fake_store.cases.get(offered)["officer"] == "alex"
