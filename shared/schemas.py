"""Marshmallow schemas for the public API: strict at the edge, errors as field messages.

Unknown fields are refused (`unknown=RAISE`, marshmallow's default), every string has a
length limit, every choice is an enum, all free text is `Text` (the one rule for text that can
be stored and shown). Messages are written for the person filling the form.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from shared.domain import checks
from shared.domain.checks import normalise_check_code
from shared.domain.languages import LANGUAGES, OTHER, language_code
from shared.domain.model import WEEKDAYS, ContactChannel, HateStrand, ReporterRole
from shared.domain.references import normalise_reference
from shared.domain.risk import ANSWERS as RISK_ANSWERS

# \Z, not $: "$" would also accept a trailing newline.
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")
_PHONE = re.compile(r"^\+?[0-9 ()-]{10,20}\Z")
_POSTCODE = re.compile(r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?( *[0-9][A-Za-z]{2})?\Z")
_DISTRICT = re.compile(r"^[a-z][a-z0-9_]{1,40}\Z")
_REQUIRED: dict[str, Any] = {"required": "This field is required."}


def _required(message: str) -> dict[str, Any]:
    return {"required": message, "null": message}


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("This cannot be blank.")


def _phone_digits(value: str) -> None:
    if not 10 <= sum(ch.isdigit() for ch in value) <= 15:
        raise ValidationError("Enter a phone number, like 07700 900123.")


_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\x0b\x0c\x85\u2028\u2029]")  # vertical tab (Word's line break), …
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # all but tab, newline and CR
_UNSTORABLE = ("This contains characters that are not text (an unpaired UTF-16 surrogate, "
               "\\ud800–\\udfff): check how the text is encoded.")


def storable(value: str) -> str:
    """Text as it can be stored and shown, or ValidationError when it is not text at all.

    An unpaired surrogate is refused: no browser sends one and UTF-8 cannot hold it, so it
    comes from a broken client, and guessing what was meant would alter the person's words.
    Control characters are removed (line breaks kept as newlines): they are invisible, mean
    nothing in an account and arrive by pasting, so refusing would lose a report over
    characters its writer cannot see to delete.
    """
    if _SURROGATE.search(value):
        raise ValidationError(_UNSTORABLE)
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


class Text(fields.String):
    """Free text under the `storable` rule (applied before any length or pattern check)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        return storable(super()._deserialize(value, attr, data, **kw))


class Email(fields.Email):
    """An email address; the address validator alone lets a surrogate through the domain."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        return storable(super()._deserialize(value, attr, data, **kw))


def _text(max_len: int, *, min_len: int = 0, required: bool = False, **kw: Any) -> Text:
    checks: list[Any] = []
    if min_len:
        checks = [validate.Length(min=min_len, max=max_len,
                                  error=f"Use between {min_len} and {max_len} characters."),
                  _not_blank]
        kw.setdefault("metadata", {}).setdefault("pattern", r"\S")  # not blank, in the doc
    else:
        checks = [validate.Length(max=max_len, error=f"Use {max_len} characters or fewer.")]
    kw.setdefault("error_messages", _REQUIRED)
    return Text(required=required, validate=checks, **kw)


def _matching(pattern: re.Pattern[str], error: str,
              doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pattern check (`\\Z`: no final newline slips through), documented with `$` (JSON
    Schema patterns are ECMA regexes, where `\\Z` is not the end of input) and with `doc`."""
    return {"validate": validate.Regexp(pattern, error=error),
            "metadata": {"pattern": pattern.pattern.replace("\\Z", "$"), **(doc or {})}}


def _flag(**kw: Any) -> fields.Boolean:
    return fields.Boolean(load_default=False, **kw)


def _doc(description: str, example: Any = None) -> dict[str, Any]:
    """Field metadata for the document only: a description and, if given, an example."""
    return {"description": description} | ({} if example is None else {"example": example})


_YES_NO = _required("Choose yes or no.")


def _risk_answer(description: str) -> fields.String:
    """An optional yes / no / not sure answer to a risk question (shared/domain/risk.py)."""
    return fields.String(validate=validate.OneOf(
        RISK_ANSWERS, error="Choose yes, no or not sure."), metadata={
        "enum": list(RISK_ANSWERS), "description": description})


class StrictSchema(Schema):
    """Unknown fields refused. `RULES`, if set, documents the rules an OpenAPI 3.0 schema cannot
    express (conditional requirements); a body that breaks one is a 422 like any other."""

    RULES = ""

    class Meta:
        unknown = RAISE
        ordered = True


class TimeWindowSchema(StrictSchema):
    """Days and hours, in the force's local time; an end before the start crosses midnight."""

    days = fields.List(fields.String(validate=validate.OneOf(WEEKDAYS)), required=True,
                       validate=validate.Length(min=1, error="Choose at least one day."),
                       metadata=_doc("The days the window applies to: at least one of "
                                     + ", ".join(WEEKDAYS), ["sat", "sun"]))
    start = fields.String(required=True, **_matching(_HHMM, "Use HH:MM.", _doc(
        "When the window opens: HH:MM, 24-hour clock, in the force's local time", "10:00")))
    end = fields.String(required=True, **_matching(_HHMM, "Use HH:MM.", _doc(
        "When the window closes: HH:MM, 24-hour clock, in the force's local time; must "
        "differ from `start`; an end before the start crosses midnight (22:00 to 02:00 is "
        "overnight)", "16:00")))
    RULES = ("Days and HH:MM times in the force's local time; an end before the start "
             "crosses midnight; `end` must differ from `start`.")

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("start") == data.get("end"):
            raise ValidationError("The end must differ from the start.", "end")


def _postcode(description: str) -> fields.String:
    return fields.String(**_matching(
        _POSTCODE, "Enter a UK postcode like AL1 3JX, or just its first part (AL1).",
        _doc(description, "SG1 1AA")))


def _district(description: str) -> fields.String:
    return fields.String(**_matching(_DISTRICT, "Choose a district.",
                                     _doc(description, "watford")))


class LocationSchema(StrictSchema):
    """Where: a postcode or a district (the form offers both); free-text detail optional."""

    postcode = _postcode("A UK postcode (AL1 3JX), or just its first part (AL1). Give "
                         "`postcode` or `district` (at least one)")
    district = _district("The force's code for a district, lower case (e.g. `watford`). "
                         "Give `postcode` or `district` (at least one)")
    description = _text(500, metadata=_doc(
        "The place in words, e.g. a street, landmark or venue (optional, up to 500 "
        "characters)", "Queensway, near the bus station"))
    RULES = "Give `postcode` or `district` (at least one)."

    @validates_schema
    def _somewhere(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("postcode") and not data.get("district"):
            raise ValidationError("Give a postcode or choose a district.", "postcode")


class IncidentLocationSchema(LocationSchema):
    """Where it happened; `online` incidents need no place."""

    postcode = _postcode("A UK postcode (AL1 3JX), or just its first part (AL1). Give "
                         "`postcode` or `district` (at least one), unless `online` is true")
    district = _district("The force's code for a district, lower case (e.g. `watford`). "
                         "Give `postcode` or `district` (at least one), unless `online` is "
                         "true")
    online = _flag(metadata=_doc("True if it happened online (social media, messages, "
                                 "gaming): then no postcode or district is needed", False))
    RULES = "Give `postcode` or `district` (at least one), unless `online` is true."

    @validates_schema
    def _somewhere(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("online"):
            super()._somewhere(data)


class WhenSchema(StrictSchema):
    RULES = "Give `date` (not in the future) or `description` (at least one)."

    date = fields.Date(error_messages={"invalid": "Enter a real date (YYYY-MM-DD)."},
                       metadata=_doc("The date it happened, YYYY-MM-DD, not in the future. "
                                     "Give `date` or `description` (at least one)",
                                     "2026-11-20"))
    time = fields.String(**_matching(_HHMM, "Use HH:MM, e.g. 21:30.", _doc(
        "The time it happened, if known: HH:MM, 24-hour clock, in the force's local time "
        "(optional)", "21:30")))
    approximate = _flag(metadata=_doc("True if the date or time is a best guess", True))
    description = _text(200, metadata=_doc(
        "When it happened in words, e.g. 'last weekend' or 'most evenings since May' (up to "
        "200 characters). Give `date` or `description` (at least one)", "Last Friday evening"))

    @validates("date")
    def _not_future(self, value: dt.date, **_: Any) -> None:
        if value > dt.date.today():
            raise ValidationError("The date cannot be in the future.")

    @validates_schema
    def _some_when(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("date") and not data.get("description"):
            raise ValidationError("Give a date, or describe when (e.g. 'last weekend').", "date")


_LANGUAGE_ERROR = "Choose a language from the list, or 'other' and name it in language_other."


class NeedsSchema(StrictSchema):
    """What the person needs from an officer. Languages are codes from a fixed list (routing
    data); a language not on it is `other`, named in `language_other`, kept sealed."""

    language = _text(50, metadata={
        "description": "Language to use, if not English: one of "
                       + ", ".join(sorted(LANGUAGES)) + ", or other (name it in "
                       "language_other); names in any case are accepted ('Polish'). Leave "
                       "out, empty or `english` for no language need", "example": "polish"})
    language_other = _text(50, metadata={
        "description": "The language, when `language` is other (kept sealed): required "
                       "then, and must be left out or empty otherwise", "example": "Wolof"})
    bsl_interpreter = _flag(metadata=_doc(
        "True if the person needs a British Sign Language interpreter", False))

    @validates_schema
    def _language_from_the_list(self, data: dict[str, Any], **_: Any) -> None:
        code = language_code(data.get("language") or "")
        if code is None:
            raise ValidationError(_LANGUAGE_ERROR, "language")
        if data.get("language_other") and code != OTHER:
            raise ValidationError("Leave this empty unless the language is 'other'.",
                                  "language_other")
        if code == OTHER and not (data.get("language_other") or "").strip():
            raise ValidationError("Tell us the language.", "language_other")

    @post_load
    def _as_code(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "language" in data:
            data["language"] = language_code(data["language"]) or ""
        return data


class ContactProfileSchema(StrictSchema):
    """How, when and under what name it is safe to contact the person (DESIGN §4)."""

    name = _text(100, min_len=1, required=True, metadata=_doc(
        "The name to use for the person when contacting them, which need not be their legal "
        "name (required, not blank, up to 100 characters)", "Rae"),
                 error_messages=_required("Tell us the name to use for you."))
    pronouns = _text(40, metadata=_doc("The person's pronouns (optional, up to 40 "
                                       "characters)", "they/them"))
    channels = fields.List(
        fields.Enum(ContactChannel, by_value=True), required=True,
        error_messages=_required("Choose how we may contact you."),
        validate=validate.Length(min=1, error="Choose how we may contact you."),
        metadata=_doc(
            "How the person may be contacted (at least one): `phone`, `sms`, `email`, or "
            "`none` on its own for no contact. `phone` or `sms` needs `phone`, `email` needs "
            "`email`; any channel but `none` needs `safe_times` or `any_time: true`. A "
            "callback needs a channel other than `none`", ["email"]))
    phone = fields.String(validate=[validate.Regexp(
        _PHONE, error="Enter a phone number, like 07700 900123."), _phone_digits], metadata={
        "pattern": _PHONE.pattern.replace("\\Z", "$"),
        "description": "The phone number to use: required when `channels` has `phone` or "
                       "`sms`. 10 to 15 digits; spaces, brackets, dashes and a leading + "
                       "allowed", "example": "07700 900123"})
    email = Email(validate=validate.Length(max=254), error_messages={
        "invalid": "Enter an email address, like name@example.com."}, metadata=_doc(
        "The email address to use: required when `channels` has `email` (up to 254 "
        "characters)", "rae@example.org"))
    safe_times = fields.List(fields.Nested(TimeWindowSchema), load_default=list, metadata=_doc(
        "When it is safe to contact the person, in the force's local time. With any channel "
        "but `none`, give at least one window unless `any_time` is true",
        [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "18:00", "end": "21:00"}]))
    any_time = _flag(metadata=_doc(
        "True if it is safe to contact the person at any time; if false (the default), "
        "`safe_times` must have a window unless `channels` is `none`", False))
    voicemail_ok = fields.Boolean(required=True, error_messages=_YES_NO, metadata=_doc(
        "Whether a voicemail may be left (required)", False))
    shared_device = fields.Boolean(required=True, error_messages=_YES_NO, metadata=_doc(
        "Whether anyone else uses or sees the person's phone or email (required); if true, "
        "messages are worded discreetly as with `discreet`", False))
    discreet = fields.Boolean(required=True, error_messages=_YES_NO, metadata={
        "description": "Whether messages must be discreet (required): no 'police', 'LGBT+' "
                       "or 'hate crime' in subjects, previews, voicemail", "example": True})
    RULES = (
        "How, when and under what name it is safe to contact the person. Rules beyond the "
        "schema: `phone` is required when `channels` has `phone` or `sms`, `email` when it has "
        "`email`; `none` cannot be combined with another channel; with any channel but "
        "`none`, give at least one `safe_times` window or `any_time: true`.")

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        channels = set(data.get("channels") or [])
        errors: dict[str, list[str]] = {}
        if ContactChannel.NONE in channels and len(channels) > 1:
            errors["channels"] = ["'No contact' cannot be combined with other ways."]
        if channels & {ContactChannel.PHONE, ContactChannel.SMS} and not data.get("phone"):
            errors["phone"] = ["Enter the phone number to use."]
        if ContactChannel.EMAIL in channels and not data.get("email"):
            errors["email"] = ["Enter the email address to use."]
        reachable = channels - {ContactChannel.NONE}
        if reachable and not data.get("safe_times") and not data.get("any_time"):
            errors["safe_times"] = ["Say when it is safe to contact you."]
        if errors:
            raise ValidationError(errors)


class ReportSchema(StrictSchema):
    """A hate crime or incident report."""

    reporter_role = fields.Enum(ReporterRole, by_value=True, required=True,
                                error_messages=_required("Choose who is reporting."),
                                metadata=_doc(
        "Who is reporting (required): `victim` (it happened to them), `witness`, "
        "`on_behalf` (for someone it happened to) or `third_party_centre` (a third-party "
        "reporting centre, for its client)", "third_party_centre"))
    what_happened = _text(20_000, min_len=10, required=True,
                          error_messages=_required("Tell us what happened."), metadata=_doc(
        "What happened, in the reporter's words (required, 10 to 20,000 characters, not "
        "blank; kept sealed)",
        "Client was followed and called slurs leaving the community centre."))
    when = fields.Nested(WhenSchema, required=True, error_messages=_required(
        "Tell us when it happened: a date, or describe when."), metadata=_doc(
        "When it happened (required): a `date` or a `description` (at least one)"))
    incident_location = fields.Nested(
        IncidentLocationSchema, required=True, error_messages=_required(
            "Tell us where it happened, or tick 'It happened online'."), metadata=_doc(
            "Where it happened (required): a `postcode` or `district`, or `online: true`; "
            "it decides which district's officers get the case"))
    home_area = fields.Nested(LocationSchema, metadata=_doc(
        "Where the person lives (optional): a `postcode` or `district` (at least one)"))
    hate_strands = fields.List(
        fields.Enum(HateStrand, by_value=True), required=True,
        error_messages=_required("Choose at least one."),
        validate=validate.Length(min=1, error="Choose at least one."), metadata=_doc(
            "What the hostility was about (required, at least one): `sexual_orientation`, "
            "`transgender_identity`, `disability`, `race`, `religion`",
            ["sexual_orientation", "transgender_identity"]))
    happening_now = _flag(metadata=_doc(
        "True if it is happening now: an emergency (the answer says call 999)", False))
    in_danger = _flag(metadata=_doc(
        "True if someone is in danger now: an emergency (the answer says call 999)", False))
    injuries = _flag(metadata=_doc("True if someone was hurt: raises the priority to high",
                                   False))
    threats = _flag(metadata=_doc(
        "True if threats were made: raises the priority to high and counts towards the risk "
        "rating", True))
    repeat_incident = _flag(metadata={"description": "Targeted before: this has happened "
                                                     "before (raises the priority to high and "
                                                     "counts towards the risk rating)",
                                      "example": False})
    fear_for_safety = _risk_answer(
        "Do they fear for their safety? `yes`, `no` or `not_sure` (optional; counts "
        "towards the risk rating)")
    vulnerable = _risk_answer(
        "Is there anything that makes them more vulnerable — a disability, their age, "
        "being isolated? `yes`, `no` or `not_sure` (optional; counts towards the risk "
        "rating)")
    suspect_description = _text(5_000, metadata=_doc(
        "Anything known about who did it (optional, up to 5,000 characters; kept sealed)",
        "Two men in their twenties, one in a red jacket."))
    anonymous = _flag(metadata=_doc(
        "True for an anonymous report: then leave out `contact`, and `consent_to_contact` "
        "must not be true", False))
    consent_to_contact = _flag(metadata=_doc(
        "True if the person agrees to be contacted: then `contact` is required. Goes with "
        "`contact` (neither or both); not allowed with `anonymous`", True))
    contact = fields.Nested(ContactProfileSchema, metadata=_doc(
        "How, when and under what name it is safe to contact the person: required when "
        "`consent_to_contact` is true, and left out when it is not or the report is "
        "`anonymous`"))
    needs = fields.Nested(NeedsSchema, metadata=_doc(
        "A language or a BSL interpreter the person needs (optional)"))
    RULES = (
        "A hate crime or incident report. Rules beyond the schema: `contact` goes with "
        "`consent_to_contact: true` — neither or both; an `anonymous` report has neither. "
        "`happening_now` or `in_danger` makes it an emergency (the answer says call 999). "
        "A risk rating (low / medium / high) is worked out from `fear_for_safety`, "
        "`repeat_incident`, `vulnerable`, `threats` and `in_danger` / `happening_now`; "
        "high risk raises the priority one step (never to emergency). A report from someone "
        "who reported within the last 12 months (same email or phone) is linked to the "
        "earlier cases and given enhanced Victims' Code updates (priority one step up).")

    @validates_schema
    def _contact_rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("anonymous"):
            if data.get("contact"):
                raise ValidationError("Leave contact details out of an anonymous report.",
                                      "contact")
            if data.get("consent_to_contact"):
                raise ValidationError("An anonymous report cannot be contacted.",
                                      "consent_to_contact")
        elif data.get("consent_to_contact") and not data.get("contact"):
            raise ValidationError("Tell us how and when we may contact you.", "contact")
        elif data.get("contact") and not data.get("consent_to_contact"):
            raise ValidationError("Tick this if we may contact you, or leave contact details "
                                  "out.", "consent_to_contact")


class ReportPageSchema(ReportSchema):
    """A report as the public pages send it: the same rules but one. There a person may
    answer "not sure" to why it happened, so `hate_strands` may be empty (the page itself
    asks for a reason or "not sure"); a partner's API report still names at least one."""

    hate_strands = fields.List(fields.Enum(HateStrand, by_value=True), load_default=list)


class CallbackSchema(StrictSchema):
    """A request for a liaison officer to make contact (non-urgent advice)."""

    contact = fields.Nested(ContactProfileSchema, required=True,
                            error_messages=_required("Tell us how we may contact you."),
                            metadata=_doc(
        "How, when and under what name it is safe to contact the person (required); "
        "`channels` needs a way other than `none`"))
    home_area = fields.Nested(LocationSchema, required=True, error_messages=_required(
        "Give your postcode or choose your area."), metadata=_doc(
        "Where the person lives (required): a `postcode` or `district` (one of the force's "
        "districts); it decides which district's officers call back"))
    reason = _text(5_000, metadata=_doc(
        "What they would like advice about (optional, up to 5,000 characters; kept sealed)",
        "Advice about messages I keep getting."))
    preferred_times = fields.List(fields.Nested(TimeWindowSchema), load_default=list,
                                  metadata=_doc(
        "When the person would prefer the call, in the force's local time (optional; when it "
        "is safe to contact them goes in `contact.safe_times`)",
        [{"days": ["sat", "sun"], "start": "10:00", "end": "16:00"}]))
    needs = fields.Nested(NeedsSchema, metadata=_doc(
        "A language or a BSL interpreter the person needs (optional)"))
    in_danger = _flag(metadata=_doc(
        "True if the person is in danger now: an emergency (the answer says call 999)", False))
    RULES = ("A request for a liaison officer to make contact. Rules beyond the schema: "
             "`contact.channels` needs a way other than `none`; `home_area.district` must be "
             "one of the force's districts.")

    @validates_schema
    def _reachable(self, data: dict[str, Any], **_: Any) -> None:
        channels = set((data.get("contact") or {}).get("channels") or [])
        if channels and not channels - {ContactChannel.NONE}:
            raise ValidationError({"contact": {"channels": [
                "Choose at least one way we may contact you."]}})


class ReceiptSchema(Schema):
    """What the reporter gets back."""

    reference = fields.String(required=True, metadata=_doc(
        "The case's reference: pass it on to the reporter, who quotes it (with `check_code`) "
        "to check the status", "K7XM-4QPA-Q"))
    status = fields.String(required=True, metadata=_doc(
        "The case's status: `received` for a new case", "received"))
    priority = fields.String(required=True, metadata=_doc(
        "How urgent the case is: `emergency`, `high`, `standard` or `advice` (a callback)",
        "standard"))
    emergency = fields.Boolean(required=True, metadata=_doc(
        "True when happening now or someone is in danger: `next_steps` then begins with "
        "'Call 999 now'", False))
    next_steps = fields.String(required=True, metadata=_doc(
        "What happens next, in words to show or read to the reporter",
        "Thank you for telling us. A liaison officer for the area will read your report. "
        "If you asked us to, they will contact you only in the ways and at the times you "
        "said are safe. Keep your reference: quote it if you call 101 about this."))
    created_at = fields.DateTime(required=True, metadata=_doc(
        "When the case was created (ISO 8601)", "2026-11-21T10:15:00+00:00"))
    check_code = fields.String(required=True, allow_none=True, metadata={
        "example": "K7XMQ-4PAR9",
        "description": "With `reference`, lets the reporter check the status "
                       "(`POST /api/v1/status`). Shown only in this answer (only its HMAC is "
                       "kept): pass it on to the reporter. `null` on a replay (200)."})


_REFERENCE = re.compile(r"^[A-Za-z0-9 -]{9,20}\Z")
_CHECK_CODE = re.compile(r"^[A-Za-z0-9 -]{10,20}\Z")


def _normalised(normalise: Any, error: str) -> Any:
    def check(value: str) -> None:
        if normalise(value) is None:
            raise ValidationError(error)
    return check


class StatusQuerySchema(StrictSchema):
    """A reference and its check code: "how is my report going?"."""

    reference = fields.String(
        required=True, error_messages=_required("Enter your reference."),
        validate=_normalised(normalise_reference,
                             "Enter your reference as it was given to you, like K7XM-4QPA-Q."),
        metadata={"pattern": _REFERENCE.pattern.replace("\\Z", "$"),
                  "example": "K7XM-4QPA-Q",
                  "description": "The reference the reporter was given (in the receipt); "
                                 "case, spaces and dashes do not matter"})
    check_code = fields.String(
        required=True, error_messages=_required("Enter your check code."),
        validate=_normalised(normalise_check_code,
                             "Enter your check code as it was given to you, like K7XMQ-4PAR9."),
        metadata={"pattern": _CHECK_CODE.pattern.replace("\\Z", "$"),
                  "example": "K7XMQ-4PAR9",
                  "description": "The check code given with the reference (shown once, in "
                                 "the receipt); case, spaces and dashes do not matter"})

    @post_load
    def _canonical(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"reference": normalise_reference(data["reference"]),
                "check_code": normalise_check_code(data["check_code"])}


class StatusSchema(Schema):
    """The status only, in words that give nothing away; never a name, place or account."""

    status = fields.String(required=True, validate=validate.OneOf(checks.WORDS),
                           metadata={"example": checks.WITH_OFFICER, "description":
                                     "How the report is going, in words that give nothing "
                                     "away: one of " + ", ".join(
                                         f"'{word}'" for word in checks.WORDS)})
    next_update_by = fields.Date(required=True, allow_none=True, metadata={
        "description": "The date by which you will next hear from us, if one is set",
        "example": "2026-12-14"})


class ErrorSchema(Schema):
    """Every error response of both APIs."""

    code = fields.Integer(metadata=_doc("The HTTP status", 422))
    status = fields.String(metadata=_doc("The status in words", "Unprocessable Entity"))
    message = fields.String(metadata=_doc("What is wrong, for people",
                                          "The request was well-formed but was unable to be "
                                          "followed due to semantic errors."))
    errors = fields.Dict(metadata=_doc(
        "Field messages by where the field was: `json`, `query`, `headers`",
        {"json": {"when": {"date": ["The date cannot be in the future."]}}}))
    reason = fields.String(metadata=_doc(
        "Why a case action was refused (staff API), e.g. `not_yours`", "not_yours"))
