"""Repeat victims and victim care at intake: the same person reporting again within 12
months is linked (by a keyed digest, never their email or phone in plain) and enhanced; the
risk rating and the update clock are stored on the case."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.contact import ContactProfile
from shared.domain.model import CaseKind, Priority
from shared.domain.repeat import normal_email, normal_phone, person_digests
from shared.receiving import receive
from shared.schemas import ReportSchema
from tests import payloads
from tests.conftest import CANARY
from tests.support.world import World

DAY = 86400
EMAIL = "Kestrel.Canary@Example.org"
PHONE = "07700 900457"


@pytest.fixture
def world(fake_store) -> World:
    return World(fake_store)


def report(world: World, **overrides: Any) -> dict[str, str]:
    """Send a report (validated as the API does) and return the stored case hash."""
    overrides.setdefault("contact", payloads.contact(
        name=f"Sam {CANARY}", channels=["email", "sms"], email=EMAIL, phone=PHONE))
    raw = payloads.report(what_happened=f"Shouted abuse at the bus stop. {CANARY}",
                          **overrides)
    body = ReportSchema().load({k: v for k, v in raw.items() if v is not None})
    receipt = receive(CaseKind.REPORT, body, world.deps)
    return world.store.cases.get(receipt.case_id) or {}


def test_a_first_report_is_not_linked_and_runs_the_standard_update_clock(world):
    case = report(world, threats=False)
    assert case["enhanced"] == "0" and case["linked_refs"] == ""
    assert float(case["next_update_at"]) == pytest.approx(world.clock() + 5 * DAY)
    assert world.store.redis.zscore(world.store.keys.updates_due, case["id"]) \
        == pytest.approx(world.clock() + 5 * DAY)


def test_the_same_email_in_a_later_case_is_linked_and_enhanced(world):
    first = report(world, threats=False)
    world.clock.advance(30 * DAY)
    again = report(world, threats=False, contact=payloads.contact(
        channels=["email"], email="kestrel.canary@EXAMPLE.org", phone="07700 900999"))
    assert again["linked_refs"] == first["reference"]
    assert again["enhanced"] == "1"
    assert int(again["priority"]) == int(Priority.STANDARD) - 1  # one step up
    assert "repeat_victim" in again["triage"].split(",")
    assert float(again["next_update_at"]) == pytest.approx(world.clock() + 1 * DAY)


def test_the_same_phone_written_another_way_is_linked(world):
    first = report(world)
    world.clock.advance(DAY)
    again = report(world, contact=payloads.contact(
        channels=["sms"], email="someone.else@example.org", phone="+44 (0)7700-900457"
        .replace("(0)", "")))
    assert again["linked_refs"] == first["reference"]


def test_a_report_13_months_later_is_not_linked(world):
    report(world)
    world.clock.advance(396 * DAY)
    again = report(world)
    assert again["enhanced"] == "0" and again["linked_refs"] == ""


def test_anonymous_reports_and_reports_without_contact_are_never_linked(world):
    first = report(world)
    anonymous = report(world, anonymous=True, consent_to_contact=False, contact=None)
    assert anonymous["enhanced"] == "0" and anonymous["linked_refs"] == ""
    assert "next_update_at" not in anonymous  # nobody may be told: no update clock
    no_contact = report(world, consent_to_contact=False, contact=None)
    assert no_contact["enhanced"] == "0" and "next_update_at" not in no_contact
    again = report(world)
    assert again["linked_refs"] == first["reference"]  # only the contactable one


def test_the_plain_email_and_phone_are_never_in_redis_outside_the_sealed_blob(world):
    report(world)
    world.clock.advance(DAY)
    linked = report(world)
    assert linked["enhanced"] == "1"
    r = world.store.redis
    plain = [EMAIL, EMAIL.lower(), PHONE, PHONE.replace(" ", ""), normal_phone(PHONE), CANARY]
    for key in r.keys("*"):
        kind = r.type(key)
        if kind == "hash":
            text = str({k: v for k, v in r.hgetall(key).items() if k != "sealed"})
        elif kind == "zset":
            text = str(r.zrange(key, 0, -1, withscores=True))
        elif kind == "set":
            text = str(r.smembers(key))
        elif kind == "stream":
            text = str(r.xrange(key))
        elif kind == "list":
            text = str(r.lrange(key, 0, -1))
        else:
            text = str(r.get(key))
        for value in plain:
            assert value not in key and value not in text, (key, value)
    # the person is known only by the keyed digest, as the key of their set
    digests = person_digests(world.settings.secret_key, ContactProfile(
        channels=("email",), email=EMAIL, phone=PHONE))
    assert all(r.exists(world.store.keys.person(d)) for d in digests)
    assert not any(d in str(linked) for d in digests)  # not on the case hash
    assert 0 < r.ttl(world.store.keys.person(digests[0])) <= 365 * DAY


def test_a_high_risk_report_is_rated_and_raised_one_step(world):
    case = report(world, threats=False, repeat_incident=False, fear_for_safety="yes",
                  vulnerable="yes")
    assert case["risk"] == "high"
    assert int(case["priority"]) == int(Priority.HIGH)
    assert "high_risk" in case["triage"].split(",")
    other = payloads.contact(channels=["email"], email="other@example.org")
    other.pop("phone")
    low = report(world, threats=False, contact=other)
    assert low["risk"] == "low" and int(low["priority"]) == int(Priority.STANDARD)


def test_older_api_clients_without_the_risk_questions_still_report(world):
    body = payloads.report()
    body.pop("fear_for_safety", None)
    assert "vulnerable" not in ReportSchema().load(body)
    with pytest.raises(Exception, match="not sure"):
        ReportSchema().load(payloads.report(vulnerable="perhaps"))


def test_emails_and_phones_are_normalised_before_they_are_digested():
    assert normal_email("  Sam@Example.ORG ") == "sam@example.org"
    assert normal_phone("07700 900123") == normal_phone("+44 7700 900123") == "+447700900123"
    assert normal_phone("0044 7700 900123") == "+447700900123"
    assert normal_phone("12") == ""
    one = person_digests("k" * 32, ContactProfile(channels=("email",), email=" A@B.org"))
    assert one == person_digests("k" * 32, ContactProfile(channels=("email",), email="a@b.org"))
    assert one != person_digests("x" * 32, ContactProfile(channels=("email",), email="a@b.org"))
    assert person_digests("k" * 32, None) == ()
