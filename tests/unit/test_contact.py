"""The contact-safety rule (shared/domain/contact.py), over generated profiles, kinds and
times: nobody is contacted who may not be, on a channel they did not choose, at a time they
did not say is safe, or with wording their profile forbids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.contact import ContactProfile, Wording, contactable, profile_for
from shared.domain.model import WEEKDAYS
from shared.domain.weekly import within

LONDON = ZoneInfo("Europe/London")
TRI = st.sampled_from([True, False, None])  # None: the profile does not say

hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
window = st.fixed_dictionaries({"days": st.lists(st.sampled_from(WEEKDAYS), min_size=1,
                                                 max_size=7, unique=True),
                                "start": hhmm, "end": hhmm})
contact = st.fixed_dictionaries({
    "channels": st.lists(st.sampled_from(["phone", "sms", "email", "none"]), max_size=4),
    "phone": st.sampled_from(["", "07700 900123"]),
    "email": st.sampled_from(["", "rae@example.org"]),
    "safe_times": st.one_of(st.lists(window, max_size=3), st.just("garbage"), st.none()),
    "any_time": TRI, "voicemail_ok": TRI, "shared_device": TRI, "discreet": TRI,
    "name": st.sampled_from(["", "Rae"]),
})
submission = st.fixed_dictionaries({
    "anonymous": st.booleans(), "consent_to_contact": st.booleans(),
    "contact": st.one_of(contact, st.none(), st.just("not a profile")),
})
kinds = st.sampled_from(["report", "callback"])
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=400, deadline=None, database=None)
@given(kind=kinds, sub=submission)
def test_only_a_consenting_named_person_with_a_reachable_way_has_a_profile(
        kind: str, sub: dict[str, Any]) -> None:
    profile = profile_for(kind, sub)
    raw = sub["contact"] if isinstance(sub["contact"], dict) else {}
    reachable = [c for c in raw.get("channels", []) if c != "none"]
    may = (not sub["anonymous"] and isinstance(sub["contact"], dict)
           and (kind == "callback" or sub["consent_to_contact"]) and bool(reachable))
    assert (profile is not None) is may
    assert contactable(kind, sub) is may
    if profile is not None:
        assert set(profile.channels) == set(reachable)
        assert "none" not in profile.channels


@settings(max_examples=400, deadline=None, database=None)
@given(kind=kinds, sub=submission, at=instants, sms=st.booleans())
def test_no_message_goes_on_a_channel_at_a_time_or_in_words_the_profile_forbids(
        kind: str, sub: dict[str, Any], at: datetime, sms: bool) -> None:
    profile = profile_for(kind, sub)
    if profile is None:
        return
    raw = sub["contact"]
    route = profile.automatic_route(sms_enabled=sms)
    if route is not None:
        channel, address = route
        assert channel in raw["channels"] and channel in ("email", "sms")
        assert address and address == (raw["email"] if channel == "email" else raw["phone"])
        assert sms or channel != "sms"
    if profile.safe_at(at, LONDON):
        assert raw["any_time"] is True or within(profile.windows, at, LONDON)
    else:
        assert raw["any_time"] is not True
    when = profile.next_safe(at, LONDON)
    if when is not None:
        assert when >= at and profile.safe_at(when, LONDON)
    plain_allowed = raw["discreet"] is False and raw["shared_device"] is False
    assert (profile.wording is Wording.PLAIN) is plain_allowed
    assert profile.voicemail_ok is (raw["voicemail_ok"] is True)


def test_a_profile_that_does_not_say_is_read_cautiously() -> None:
    profile = profile_for("callback", {"contact": {"channels": ["phone"], "phone": "0"}})
    assert profile == ContactProfile(channels=("phone",), phone="0")
    assert profile.wording is Wording.DISCREET and not profile.voicemail_ok
    monday_noon = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert not profile.safe_at(monday_noon, LONDON)  # no safe times said: never
    assert profile.next_safe(monday_noon, LONDON) is None


def test_a_phone_only_profile_has_no_automatic_route() -> None:
    profile = profile_for("callback", {"contact": {"channels": ["phone"], "phone": "0",
                                                   "any_time": True}})
    assert profile is not None and profile.automatic_route(sms_enabled=True) is None


def test_safe_times_open_and_close_in_the_forces_time_zone() -> None:
    profile = profile_for("callback", {"contact": {
        "channels": ["email"], "email": "a@example.org",
        "safe_times": [{"days": ["sat"], "start": "10:00", "end": "16:00"}]}})
    assert profile is not None
    summer_saturday = datetime(2026, 7, 4, 9, 30, tzinfo=UTC)  # 10:30 BST
    assert profile.safe_at(summer_saturday, LONDON)
    friday = datetime(2026, 7, 3, 12, tzinfo=UTC)
    assert profile.next_safe(friday, LONDON) == datetime(2026, 7, 4, 9, tzinfo=UTC)
