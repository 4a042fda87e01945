"""The public API schemas: every field of a report and a callback, accepted and refused.

Each refusal starts from a valid minimal payload, changes one thing, and checks that the
error lands on exactly the field a person would have to fix (and, for some, what it says).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from shared.domain.model import ContactChannel, HateStrand, ReporterRole
from shared.schemas import CallbackSchema, ReportSchema

MISSING = object()  # as a value in `changes`: remove the key
Path = tuple[str | int, ...]

FUTURE = (date.today() + timedelta(days=2)).isoformat()
REQUIRED = "This field is required."
UNKNOWN = "Unknown field."


# -- payloads ---------------------------------------------------------------------------------

def valid_report() -> dict[str, Any]:
    return {
        "reporter_role": "victim",
        "what_happened": "Two men shouted homophobic abuse at me outside the station.",
        "when": {"date": "2024-05-01"},
        "incident_location": {"postcode": "AL1 3JX"},
        "hate_strands": ["sexual_orientation"],
    }


def valid_contact() -> dict[str, Any]:
    return {
        "name": "Sam",
        "channels": ["phone"],
        "phone": "07700 900123",
        "safe_times": [{"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}],
        "voicemail_ok": False,
        "shared_device": True,
        "discreet": True,
    }


def valid_report_with_contact() -> dict[str, Any]:
    return {**valid_report(), "consent_to_contact": True, "contact": valid_contact()}


def valid_callback() -> dict[str, Any]:
    return {"contact": valid_contact(), "home_area": {"district": "st_albans"}}


# -- helpers ----------------------------------------------------------------------------------

def changed(payload: dict[str, Any], changes: dict[Path, Any]) -> dict[str, Any]:
    """Apply {path: value} to a payload; MISSING deletes the key."""
    for path, value in changes.items():
        node: Any = payload
        for key in path[:-1]:
            node = node[key]
        if value is MISSING:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return payload


def refusal(schema: Schema, payload: dict[str, Any]) -> dict[Any, Any]:
    with pytest.raises(ValidationError) as caught:
        schema.load(payload)
    messages = caught.value.messages
    assert isinstance(messages, dict)
    return messages


def error_paths(messages: Any, prefix: Path = ()) -> set[Path]:
    """Every path in marshmallow's nested error dict that ends in a list of messages."""
    if isinstance(messages, dict):
        found: set[Path] = set()
        for key, value in messages.items():
            found |= error_paths(value, (*prefix, key))
        return found
    assert isinstance(messages, list) and messages, f"no message at {prefix}"
    assert all(isinstance(m, str) and m for m in messages)
    return {prefix}


def at(messages: dict[Any, Any], path: Path) -> list[str]:
    node: Any = messages
    for key in path:
        node = node[key]
    return node


# -- reports: refusals ------------------------------------------------------------------------

REPORT_REFUSALS = [
    # reporter_role
    pytest.param({("reporter_role",): "nobody"}, ("reporter_role",), id="role-unknown"),
    pytest.param({("reporter_role",): MISSING}, ("reporter_role",), id="role-missing"),
    # what_happened
    pytest.param({("what_happened",): "Too short"}, ("what_happened",), id="what-9-chars"),
    pytest.param({("what_happened",): "x" * 20_001}, ("what_happened",), id="what-20001-chars"),
    pytest.param({("what_happened",): MISSING}, ("what_happened",), id="what-missing"),
    pytest.param({("what_happened",): 42}, ("what_happened",), id="what-not-text"),
    # when
    pytest.param({("when",): MISSING}, ("when",), id="when-missing"),
    pytest.param({("when",): {}}, ("when", "date"), id="when-neither-date-nor-description"),
    pytest.param({("when",): {"approximate": True}}, ("when", "date"),
                 id="when-only-approximate"),
    pytest.param({("when", "date"): FUTURE}, ("when", "date"), id="when-future-date"),
    pytest.param({("when", "date"): "2023-02-30"}, ("when", "date"), id="when-unreal-date"),
    pytest.param({("when", "date"): "01/05/2024"}, ("when", "date"), id="when-uk-date-format"),
    pytest.param({("when", "time"): "25:00"}, ("when", "time"), id="when-time-25-00"),
    pytest.param({("when", "time"): "9pm"}, ("when", "time"), id="when-time-9pm"),
    pytest.param({("when", "description"): "x" * 201}, ("when", "description"),
                 id="when-description-too-long"),
    pytest.param({("when", "approximate"): "maybe"}, ("when", "approximate"),
                 id="when-approximate-maybe"),
    pytest.param({("when", "hour"): 9}, ("when", "hour"), id="when-unknown-field"),
    # incident_location
    pytest.param({("incident_location",): MISSING}, ("incident_location",),
                 id="place-missing"),
    pytest.param({("incident_location",): {}}, ("incident_location", "postcode"),
                 id="place-neither-postcode-nor-district"),
    pytest.param({("incident_location",): {"online": False, "description": "the park"}},
                 ("incident_location", "postcode"), id="place-offline-only-description"),
    pytest.param({("incident_location", "postcode"): "12345"},
                 ("incident_location", "postcode"), id="place-postcode-digits"),
    pytest.param({("incident_location", "postcode"): "AL1 3JXX"},
                 ("incident_location", "postcode"), id="place-postcode-too-long"),
    pytest.param({("incident_location", "postcode"): "ALB"},
                 ("incident_location", "postcode"), id="place-postcode-no-digit"),
    pytest.param({("incident_location",): {"district": "St Albans"}},
                 ("incident_location", "district"), id="place-district-not-a-slug"),
    pytest.param({("incident_location", "description"): "x" * 501},
                 ("incident_location", "description"), id="place-description-too-long"),
    pytest.param({("incident_location", "online"): "maybe"},
                 ("incident_location", "online"), id="place-online-maybe"),
    pytest.param({("incident_location", "lat"): 51.75},
                 ("incident_location", "lat"), id="place-unknown-field"),
    # home_area
    pytest.param({("home_area",): {}}, ("home_area", "postcode"), id="home-neither"),
    pytest.param({("home_area",): {"online": True}}, ("home_area", "online"),
                 id="home-cannot-be-online"),
    pytest.param({("home_area",): {"postcode": "SW1A 1AA!"}}, ("home_area", "postcode"),
                 id="home-postcode-punctuation"),
    # hate_strands
    pytest.param({("hate_strands",): []}, ("hate_strands",), id="strands-empty"),
    pytest.param({("hate_strands",): MISSING}, ("hate_strands",), id="strands-missing"),
    pytest.param({("hate_strands",): ["football"]}, ("hate_strands", 0), id="strands-unknown"),
    pytest.param({("hate_strands",): ["race", "football"]}, ("hate_strands", 1),
                 id="strands-second-unknown"),
    pytest.param({("hate_strands",): "race"}, ("hate_strands",), id="strands-not-a-list"),
    # the flags
    *[
        pytest.param({(flag,): "maybe"}, (flag,), id=f"{flag}-maybe")
        for flag in ("happening_now", "in_danger", "injuries", "threats", "repeat_incident",
                     "anonymous", "consent_to_contact")
    ],
    # suspect_description
    pytest.param({("suspect_description",): "x" * 5_001}, ("suspect_description",),
                 id="suspect-too-long"),
    # needs
    pytest.param({("needs",): {"language": "x" * 51}}, ("needs", "language"),
                 id="needs-language-too-long"),
    pytest.param({("needs",): {"bsl_interpreter": "maybe"}}, ("needs", "bsl_interpreter"),
                 id="needs-bsl-maybe"),
    pytest.param({("needs",): {"wheelchair": True}}, ("needs", "wheelchair"),
                 id="needs-unknown-field"),
    # unknown top-level field
    pytest.param({("priority",): "emergency"}, ("priority",), id="unknown-field"),
    # anonymity and consent
    pytest.param({("anonymous",): True, ("contact",): valid_contact()}, ("contact",),
                 id="anonymous-with-contact"),
    pytest.param({("anonymous",): True, ("consent_to_contact",): True},
                 ("consent_to_contact",), id="anonymous-with-consent"),
    pytest.param({("consent_to_contact",): True}, ("contact",), id="consent-without-contact"),
    pytest.param({("contact",): valid_contact()}, ("consent_to_contact",),
                 id="contact-without-consent"),
]


@pytest.mark.parametrize(("changes", "path"), REPORT_REFUSALS)
def test_a_report_with_one_bad_field_names_exactly_that_field(
        changes: dict[Path, Any], path: Path) -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), changes))

    assert error_paths(messages) == {path}


# -- contact profile (inside a report and a callback): refusals -----------------------------

CONTACT_REFUSALS = [
    pytest.param({("name",): MISSING}, ("name",), id="name-missing"),
    pytest.param({("name",): ""}, ("name",), id="name-empty"),
    pytest.param({("name",): "x" * 101}, ("name",), id="name-too-long"),
    pytest.param({("pronouns",): "x" * 41}, ("pronouns",), id="pronouns-too-long"),
    pytest.param({("channels",): MISSING}, ("channels",), id="channels-missing"),
    pytest.param({("channels",): []}, ("channels",), id="channels-empty"),
    pytest.param({("channels",): ["pigeon"]}, ("channels", 0), id="channels-unknown"),
    pytest.param({("channels",): ["none", "sms"]}, ("channels",), id="channels-none-and-sms"),
    pytest.param({("channels",): ["sms"], ("phone",): MISSING}, ("phone",),
                 id="sms-without-phone"),
    pytest.param({("phone",): MISSING}, ("phone",), id="phone-channel-without-phone"),
    pytest.param({("channels",): ["email"]}, ("email",), id="email-channel-without-email"),
    pytest.param({("channels",): ["email"], ("email",): "sam@"}, ("email",),
                 id="email-invalid"),
    pytest.param({("email",): "sam at example dot com"}, ("email",),
                 id="email-invalid-even-if-unused"),
    pytest.param({("phone",): "12345"}, ("phone",), id="phone-too-short"),
    pytest.param({("phone",): "07700 9OO123"}, ("phone",), id="phone-with-letters"),
    pytest.param({("safe_times",): MISSING}, ("safe_times",), id="no-safe-times"),
    pytest.param({("safe_times",): []}, ("safe_times",), id="empty-safe-times"),
    pytest.param({("safe_times",): [], ("any_time",): False}, ("safe_times",),
                 id="no-safe-times-not-any-time"),
    pytest.param({("any_time",): "maybe"}, ("any_time",), id="any-time-maybe"),
    pytest.param({("voicemail_ok",): MISSING}, ("voicemail_ok",), id="voicemail-missing"),
    pytest.param({("shared_device",): MISSING}, ("shared_device",),
                 id="shared-device-missing"),
    pytest.param({("discreet",): MISSING}, ("discreet",), id="discreet-missing"),
    pytest.param({("voicemail_ok",): "maybe"}, ("voicemail_ok",), id="voicemail-maybe"),
    pytest.param({("address",): "1 High St"}, ("address",), id="unknown-field"),
    # time windows
    pytest.param({("safe_times", 0, "days"): []}, ("safe_times", 0, "days"),
                 id="window-no-days"),
    pytest.param({("safe_times", 0, "days"): MISSING}, ("safe_times", 0, "days"),
                 id="window-days-missing"),
    pytest.param({("safe_times", 0, "days"): ["mon", "funday"]},
                 ("safe_times", 0, "days", 1), id="window-funday"),
    pytest.param({("safe_times", 0, "end"): "09:00"}, ("safe_times", 0, "end"),
                 id="window-start-equals-end"),
    pytest.param({("safe_times", 0, "start"): "24:00"}, ("safe_times", 0, "start"),
                 id="window-start-24-00"),
    pytest.param({("safe_times", 0, "end"): "5pm"}, ("safe_times", 0, "end"),
                 id="window-end-5pm"),
    pytest.param({("safe_times", 0, "start"): MISSING}, ("safe_times", 0, "start"),
                 id="window-start-missing"),
]


@pytest.mark.parametrize(("changes", "path"), CONTACT_REFUSALS)
def test_a_report_with_one_bad_contact_detail_names_exactly_that_detail(
        changes: dict[Path, Any], path: Path) -> None:
    payload = valid_report_with_contact()
    changed(payload["contact"], changes)

    messages = refusal(ReportSchema(), payload)

    assert error_paths(messages) == {("contact", *path)}


@pytest.mark.parametrize(("changes", "path"), CONTACT_REFUSALS)
def test_a_callback_with_one_bad_contact_detail_names_exactly_that_detail(
        changes: dict[Path, Any], path: Path) -> None:
    payload = valid_callback()
    changed(payload["contact"], changes)

    messages = refusal(CallbackSchema(), payload)

    assert error_paths(messages) == {("contact", *path)}


# -- callbacks: refusals ----------------------------------------------------------------------

CALLBACK_REFUSALS = [
    pytest.param({("contact",): MISSING}, ("contact",), id="contact-missing"),
    pytest.param({("home_area",): MISSING}, ("home_area",), id="home-area-missing"),
    pytest.param({("home_area",): {}}, ("home_area", "postcode"), id="home-area-neither"),
    pytest.param({("home_area",): {"online": True}}, ("home_area", "online"),
                 id="home-area-online"),
    pytest.param({("home_area",): {"district": "../etc"}}, ("home_area", "district"),
                 id="home-area-bad-district"),
    pytest.param({("contact", "channels"): ["none"], ("contact", "safe_times"): []},
                 ("contact", "channels"), id="channels-only-none"),
    pytest.param({("reason",): "x" * 5_001}, ("reason",), id="reason-too-long"),
    pytest.param({("preferred_times",): [{"days": [], "start": "09:00", "end": "10:00"}]},
                 ("preferred_times", 0, "days"), id="preferred-times-no-days"),
    pytest.param({("preferred_times",): [{"days": ["sat"], "start": "10:00", "end": "10:00"}]},
                 ("preferred_times", 0, "end"), id="preferred-times-start-equals-end"),
    pytest.param({("needs",): {"language": "x" * 51}}, ("needs", "language"),
                 id="needs-language-too-long"),
    pytest.param({("in_danger",): "maybe"}, ("in_danger",), id="in-danger-maybe"),
    pytest.param({("hate_strands",): ["race"]}, ("hate_strands",), id="report-only-field"),
]


@pytest.mark.parametrize(("changes", "path"), CALLBACK_REFUSALS)
def test_a_callback_with_one_bad_field_names_exactly_that_field(
        changes: dict[Path, Any], path: Path) -> None:
    messages = refusal(CallbackSchema(), changed(valid_callback(), changes))

    assert error_paths(messages) == {path}


# -- messages a person reads ------------------------------------------------------------------

def test_a_report_without_what_happened_says_the_field_is_required() -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), {("what_happened",): MISSING}))

    assert messages["what_happened"] == ["Tell us what happened."]


def test_a_report_with_an_overlong_account_gives_the_allowed_length() -> None:
    messages = refusal(ReportSchema(),
                       changed(valid_report(), {("what_happened",): "x" * 20_001}))

    assert messages["what_happened"] == ["Use between 10 and 20000 characters."]


def test_a_report_dated_in_the_future_says_so() -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), {("when", "date"): FUTURE}))

    assert messages["when"]["date"] == ["The date cannot be in the future."]


def test_a_report_without_any_when_asks_for_a_date_or_a_description() -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), {("when",): {}}))

    assert messages["when"]["date"] == ["Give a date, or describe when (e.g. 'last weekend')."]


def test_a_report_without_a_place_asks_for_a_postcode_or_district() -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), {("incident_location",): {}}))

    assert messages["incident_location"]["postcode"] == ["Give a postcode or choose a district."]


def test_a_report_with_an_unknown_field_says_unknown_field() -> None:
    messages = refusal(ReportSchema(), changed(valid_report(), {("priority",): "emergency"}))

    assert messages["priority"] == [UNKNOWN]


def test_an_anonymous_report_with_contact_details_asks_to_leave_them_out() -> None:
    payload = changed(valid_report(), {("anonymous",): True, ("contact",): valid_contact()})

    messages = refusal(ReportSchema(), payload)

    assert messages["contact"] == ["Leave contact details out of an anonymous report."]


def test_a_contact_without_safe_times_asks_when_it_is_safe() -> None:
    payload = valid_report_with_contact()
    del payload["contact"]["safe_times"]

    messages = refusal(ReportSchema(), payload)

    assert messages["contact"]["safe_times"] == ["Say when it is safe to contact you."]


def test_a_contact_with_a_bad_email_shows_an_example_address() -> None:
    payload = valid_report_with_contact()
    payload["contact"].update(channels=["email"], email="sam@")

    messages = refusal(ReportSchema(), payload)

    assert messages["contact"]["email"] == ["Enter an email address, like name@example.com."]


def test_a_contact_without_a_voicemail_answer_says_it_is_required() -> None:
    payload = valid_report_with_contact()
    del payload["contact"]["voicemail_ok"]

    messages = refusal(ReportSchema(), payload)

    assert messages["contact"]["voicemail_ok"] == ["Choose yes or no."]


def test_a_callback_with_only_no_contact_asks_for_a_way_to_reach_them() -> None:
    payload = changed(valid_callback(), {("contact", "channels"): ["none"]})

    messages = refusal(CallbackSchema(), payload)

    assert messages["contact"]["channels"] == ["Choose at least one way we may contact you."]


def test_a_report_with_several_problems_names_every_one() -> None:
    payload = changed(valid_report(), {
        ("reporter_role",): "nobody", ("what_happened",): MISSING,
        ("when", "date"): FUTURE, ("hate_strands",): [], ("bogus",): 1,
    })

    messages = refusal(ReportSchema(), payload)

    assert error_paths(messages) == {("reporter_role",), ("what_happened",), ("when", "date"),
                                     ("hate_strands",), ("bogus",)}


# -- reports: accepted ------------------------------------------------------------------------

def test_the_minimal_report_is_accepted_with_flags_off() -> None:
    loaded = ReportSchema().load(valid_report())

    assert loaded["reporter_role"] is ReporterRole.VICTIM
    assert loaded["when"]["date"] == date(2024, 5, 1)
    assert loaded["hate_strands"] == [HateStrand.SEXUAL_ORIENTATION]
    for flag in ("happening_now", "in_danger", "injuries", "threats", "repeat_incident",
                 "anonymous", "consent_to_contact"):
        assert loaded[flag] is False, flag


@pytest.mark.parametrize("role", ["victim", "witness", "on_behalf", "third_party_centre"])
def test_a_report_is_accepted_from_every_reporter_role(role: str) -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("reporter_role",): role}))

    assert loaded["reporter_role"] is ReporterRole(role)


@pytest.mark.parametrize("strand", ["sexual_orientation", "transgender_identity", "disability",
                                    "race", "religion"])
def test_a_report_is_accepted_for_every_hate_strand(strand: str) -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("hate_strands",): [strand]}))

    assert loaded["hate_strands"] == [HateStrand(strand)]


def test_a_report_may_name_several_strands() -> None:
    strands = ["transgender_identity", "race", "religion"]

    loaded = ReportSchema().load(changed(valid_report(), {("hate_strands",): strands}))

    assert loaded["hate_strands"] == [HateStrand(s) for s in strands]


@pytest.mark.parametrize("when", [
    pytest.param({"date": "2024-05-01", "approximate": True}, id="approximate-date"),
    pytest.param({"description": "last weekend"}, id="description-only"),
    pytest.param({"description": "a few weeks ago", "approximate": True},
                 id="approximate-description"),
    pytest.param({"date": "2024-05-01", "time": "23:59"}, id="date-and-time"),
    pytest.param({"date": "2024-05-01", "time": "00:00"}, id="midnight"),
])
def test_a_report_accepts_approximate_or_described_times(when: dict[str, Any]) -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("when",): when}))

    assert loaded["when"]["approximate"] is bool(when.get("approximate"))
    assert loaded["when"].get("description") == when.get("description")


def test_a_report_dated_today_is_accepted() -> None:
    today = date.today()

    loaded = ReportSchema().load(changed(valid_report(), {("when", "date"): today.isoformat()}))

    assert loaded["when"]["date"] == today


@pytest.mark.parametrize("place", [
    pytest.param({"online": True}, id="online-with-no-place"),
    pytest.param({"online": True, "description": "on Instagram"}, id="online-described"),
    pytest.param({"district": "st_albans"}, id="district-only"),
    pytest.param({"postcode": "AL1"}, id="bare-outward-code"),
    pytest.param({"postcode": "al1 3jx"}, id="lowercase-postcode"),
    pytest.param({"postcode": "AL13JX"}, id="postcode-without-space"),
    pytest.param({"postcode": "SW1A 1AA"}, id="four-char-outward-code"),
    pytest.param({"postcode": "M1 1AE"}, id="short-area"),
    pytest.param({"postcode": "AL1 3JX", "district": "st_albans"}, id="both"),
    pytest.param({"postcode": "AL1", "description": "behind the cathedral"}, id="described"),
])
def test_a_report_accepts_every_kind_of_place(place: dict[str, Any]) -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("incident_location",): place}))

    assert {k: v for k, v in loaded["incident_location"].items() if k != "online"} == {
        k: v for k, v in place.items() if k != "online"}
    assert loaded["incident_location"]["online"] is bool(place.get("online"))


def test_a_report_with_a_home_area_keeps_it() -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("home_area",): {"postcode": "AL5"}}))

    assert loaded["home_area"] == {"postcode": "AL5"}


@pytest.mark.parametrize("flag", ["happening_now", "in_danger", "injuries", "threats",
                                  "repeat_incident", "anonymous"])
def test_a_report_sets_each_flag_it_is_given(flag: str) -> None:
    loaded = ReportSchema().load(changed(valid_report(), {(flag,): True}))

    assert loaded[flag] is True
    others = {"happening_now", "in_danger", "injuries", "threats", "repeat_incident",
              "anonymous"} - {flag}
    assert not any(loaded[o] for o in others)


def test_a_report_accepts_the_longest_allowed_texts() -> None:
    payload = changed(valid_report(), {
        ("what_happened",): "x" * 20_000, ("suspect_description",): "y" * 5_000,
        ("when", "description"): "z" * 200,
        ("needs",): {"language": "other", "language_other": "w" * 50},
    })

    loaded = ReportSchema().load(payload)

    assert len(loaded["what_happened"]) == 20_000
    assert len(loaded["suspect_description"]) == 5_000


def test_a_report_accepts_the_shortest_allowed_account() -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("what_happened",): "x" * 10}))

    assert loaded["what_happened"] == "x" * 10


def test_an_anonymous_report_without_contact_is_accepted() -> None:
    loaded = ReportSchema().load(changed(valid_report(), {("anonymous",): True}))

    assert loaded["anonymous"] is True
    assert "contact" not in loaded


def test_a_report_with_consent_and_contact_keeps_the_contact_profile() -> None:
    loaded = ReportSchema().load(valid_report_with_contact())

    contact = loaded["contact"]
    assert loaded["consent_to_contact"] is True
    assert contact["channels"] == [ContactChannel.PHONE]
    assert contact["safe_times"] == [{"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}]
    assert (contact["voicemail_ok"], contact["shared_device"], contact["discreet"]) == (
        False, True, True)


@pytest.mark.parametrize("contact_changes", [
    pytest.param({("safe_times",): MISSING, ("any_time",): True}, id="any-time-not-windows"),
    pytest.param({("safe_times", 0, "start"): "22:00", ("safe_times", 0, "end"): "02:00"},
                 id="window-crosses-midnight"),
    pytest.param({("safe_times", 0, "days"): ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                 id="every-day"),
    pytest.param({("channels",): ["sms"]}, id="sms-with-phone"),
    pytest.param({("channels",): ["email"], ("phone",): MISSING, ("email",): "sam@example.org"},
                 id="email-only"),
    pytest.param({("channels",): ["phone", "sms", "email"], ("email",): "sam@example.org"},
                 id="every-channel"),
    pytest.param({("channels",): ["none"], ("phone",): MISSING, ("safe_times",): MISSING},
                 id="no-contact-needs-no-times"),
    pytest.param({("phone",): "+44 (0)7700-900123"}, id="international-phone"),
    pytest.param({("pronouns",): "they/them"}, id="pronouns"),
])
def test_a_report_accepts_every_valid_kind_of_contact(
        contact_changes: dict[Path, Any]) -> None:
    payload = valid_report_with_contact()
    changed(payload["contact"], contact_changes)

    loaded = ReportSchema().load(payload)

    assert loaded["contact"]["channels"] == [ContactChannel(c)
                                             for c in payload["contact"]["channels"]]


def test_a_contact_time_window_crossing_midnight_is_kept_as_given() -> None:
    payload = valid_report_with_contact()
    payload["contact"]["safe_times"] = [{"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}]

    loaded = ReportSchema().load(payload)

    assert loaded["contact"]["safe_times"] == [
        {"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}]


# -- callbacks: accepted ----------------------------------------------------------------------

def test_the_minimal_callback_is_accepted_and_not_in_danger() -> None:
    loaded = CallbackSchema().load(valid_callback())

    assert loaded["contact"]["name"] == "Sam"
    assert loaded["home_area"] == {"district": "st_albans"}
    assert loaded["in_danger"] is False
    assert loaded["preferred_times"] == []


def test_a_full_callback_is_accepted() -> None:
    payload = {
        **valid_callback(),
        "home_area": {"postcode": "al1"},
        "reason": "x" * 5_000,
        "preferred_times": [{"days": ["sat", "sun"], "start": "20:00", "end": "01:00"}],
        "needs": {"language": "Polish", "bsl_interpreter": True},
        "in_danger": True,
    }

    loaded = CallbackSchema().load(payload)

    assert loaded["in_danger"] is True
    assert loaded["needs"] == {"language": "polish", "bsl_interpreter": True}  # as its code
    assert loaded["preferred_times"][0]["end"] == "01:00"


# -- known gaps -------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    pytest.param({("incident_location", "postcode"): "AL1 3JX\n"}, id="postcode"),
    pytest.param({("when", "time"): "21:30\n"}, id="time"),
])
def test_a_value_with_a_trailing_newline_is_refused(changes: dict[Path, Any]) -> None:
    with pytest.raises(ValidationError):
        ReportSchema().load(changed(valid_report(), changes))


def test_a_phone_number_without_digits_is_refused() -> None:
    payload = valid_report_with_contact()
    payload["contact"].update(channels=["sms"], phone="----------")

    messages = refusal(ReportSchema(), payload)

    assert error_paths(messages) == {("contact", "phone")}


# -- text that can be stored and shown --------------------------------------------------------

@pytest.mark.parametrize(("typed", "kept"), [
    ("Shouted\x00 at me", "Shouted at me"),                        # NUL
    ("bell\x07 escape\x1b[0m del\x7f c1\x9b", "bell escape[0m del c1"),
    ("pasted from Word\x0bnext line\x0cnext page", "pasted from Word\nnext line\nnext page"),
    ("NEL\x85and\u2028separators\u2029", "NEL\nand\nseparators\n"),
    ("tab\tCRLF\r\nkept", "tab\tCRLF\r\nkept"),
    ("\U0001F3F3\ufe0f\u200d\U0001F308 é", "\U0001F3F3\ufe0f\u200d\U0001F308 é"),  # joiners kept
])
def test_control_characters_are_removed_from_text_but_line_breaks_kept(typed: str,
                                                                       kept: str) -> None:
    payload = valid_report_with_contact()
    payload["suspect_description"] = typed
    payload["contact"]["name"] = "Sam " + typed

    loaded = ReportSchema().load(payload)

    assert loaded["suspect_description"] == kept
    assert loaded["contact"]["name"] == "Sam " + kept


@pytest.mark.parametrize("path", [
    ("what_happened",), ("suspect_description",), ("when", "description"),
    ("incident_location", "description"), ("contact", "name"), ("contact", "pronouns"),
    ("contact", "email"), ("needs", "language"),
])
def test_a_lone_surrogate_in_any_text_is_refused_on_that_field(path: Path) -> None:
    payload = valid_report_with_contact()
    payload["needs"] = {"language": "Polish"}
    payload["when"]["description"] = "last weekend"
    payload["incident_location"]["description"] = "by the station"
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = ("a@ex\ud800ample.org" if path[-1] == "email"
                      else "Two men shouted \udfff at me at the station.")

    messages = refusal(ReportSchema(), payload)

    assert error_paths(messages) == {path}
    assert "surrogate" in str(messages)


# --- languages: codes from a fixed list ------------------------------------------------------

@pytest.mark.parametrize(("needs", "field"), [
    ({"language": "Klingon"}, "language"),                      # not on the list
    ({"language": "other"}, "language_other"),                   # other, but which?
    ({"language": "polish", "language_other": "Kashubian"}, "language_other"),
])
def test_a_language_is_a_code_from_the_list_or_other_with_its_name(needs, field) -> None:
    with pytest.raises(ValidationError) as raised:
        CallbackSchema().load(changed(valid_callback(), {("needs",): needs}))
    assert field in raised.value.messages["needs"]


@pytest.mark.parametrize(("typed", "code"), [("Polish", "polish"), (" URDU ", "urdu"),
                                             ("english", ""), ("", ""), ("other", "other")])
def test_a_language_named_in_any_case_becomes_its_code(typed: str, code: str) -> None:
    needs = {"language": typed} | ({"language_other": "Kashubian"} if code == "other" else {})
    loaded = CallbackSchema().load(changed(valid_callback(), {("needs",): needs}))
    assert loaded["needs"]["language"] == code
