"""Message text: public facts only for staff, discreet wording for reporters who ask for it."""

from __future__ import annotations

import pytest

from services.notifier.templates import BANNED_WHEN_DISCREET, render
from shared.domain.notifications import Kind
from tests import payloads
from tests.conftest import CANARY

CONSOLE = "https://console.example"


def record(**extra: str) -> dict[str, str]:
    base = {"id": "n1", "kind": "offer", "recipient_type": "officer", "recipient": "o1",
            "case_id": "c-42", "reference": "K7XM-4QPA-R", "priority": "1",
            "district": "watford", "created_at": "0", "status": "pending", "attempts": "0"}
    return base | extra


def sealed_values() -> list[str]:
    """Every value a reporter gave us, with the canary planted in each text field."""
    report = payloads.report(what_happened=f"{CANARY} shouted",
                             contact=payloads.contact(email=f"{CANARY.lower()}@example.org",
                                                      pronouns=CANARY))
    return [CANARY, CANARY.lower(), report["contact"]["phone"], report["contact"]["email"]]


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("discreet", [False, True])
def test_no_template_ever_contains_a_sealed_value(kind: Kind, discreet: bool):
    # Even a record polluted with the account (it never is) must not leak into the text.
    polluted = record(kind=kind.value, what_happened=CANARY, email=f"{CANARY}@example.org",
                      name=CANARY, phone="07700 900123")
    message = render(kind.value, polluted, CONSOLE, discreet=discreet, name="Robin")
    text = f"{message.subject}\n{message.body}\n{message.link}"
    for value in sealed_values():
        assert value not in text


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.REPORTER_ACK])
def test_staff_messages_carry_the_reference_priority_district_and_console_link(kind: Kind):
    message = render(kind.value, record(kind=kind.value), CONSOLE)
    assert "K7XM-4QPA-R" in message.subject
    assert "Emergency" in message.body
    assert "Watford" in message.body
    assert f"{CONSOLE}/cases/c-42" in message.body
    assert message.link == f"{CONSOLE}/cases/c-42"


def test_an_unknown_or_missing_district_still_renders():
    assert "not known" in render("offer", record(district=""), CONSOLE).body


def test_a_discreet_acknowledgement_has_no_banned_word_in_subject_or_body():
    message = render("reporter_ack", record(), CONSOLE, discreet=True, name="Robin")
    text = f"{message.subject}\n{message.body}".lower()
    for word in ("police", "lgbt", "hate crime", *BANNED_WHEN_DISCREET):
        assert word not in text, word
    assert message.subject == "Your reference K7XM-4QPA-R"
    assert message.body.startswith("Hello Robin,")


def test_a_plain_acknowledgement_says_who_we_are_and_what_happens_next():
    message = render("reporter_ack", record(), CONSOLE, discreet=False, name="Robin")
    assert "Hertfordshire Constabulary LGBT+ liaison" in message.subject
    assert "K7XM-4QPA-R" in message.body and "What happens next" in message.body
    assert "Robin" in message.body


def test_an_acknowledgement_has_no_console_link():
    message = render("reporter_ack", record(), CONSOLE, name="Robin")
    assert CONSOLE not in message.body and message.link == ""


def test_each_staff_alert_kind_reads_differently():
    """A supervisor can tell "an emergency arrived" from "nobody is free for it" (and every
    other alert) from the subject line alone."""
    staff = [k for k in Kind if k is not Kind.REPORTER_ACK]
    subjects = {render(k.value, record(kind=k.value), CONSOLE).subject for k in staff}
    openings = {render(k.value, record(kind=k.value), CONSOLE).body.splitlines()[0]
                for k in staff}
    assert len(subjects) == len(staff) and len(openings) == len(staff)
    waiting = render("emergency_waiting", record(kind="emergency_waiting"), CONSOLE)
    assert "Nobody available" in waiting.subject
    assert "received" in render("emergency", record(kind="emergency"), CONSOLE).subject
