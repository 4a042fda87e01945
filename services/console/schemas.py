"""Marshmallow schemas of the staff JSON API: strict bodies in, documented shapes out.

Times go out as ISO 8601 (UTC); stored epoch seconds and "1"/"0" flags are converted here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_dump, validate

from shared.casework import CLOSE_OUTCOMES, CONTACT_CHANNELS, CONTACT_OUTCOMES, DECLINE_REASONS
from shared.domain import consultation
from shared.domain.contact import CHANNELS as REPORTER_CHANNELS
from shared.domain.model import Priority
from shared.domain.officers import Availability
from shared.domain.reassignment import REASON_MAX
from shared.schemas import StrictSchema, Text

OFFICER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"


def _choice(options: tuple[str, ...], **kw: Any) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(
        options, error="Choose one of: " + ", ".join(options) + "."), **kw)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("This cannot be blank.")


class Instant(fields.DateTime):
    """Epoch seconds (a number or the stored string) as an ISO 8601 UTC time; '' is null."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("dump_default", None)  # a time not reached yet is null, not absent
        kw.setdefault("allow_none", True)    # … and the document says so (`nullable`)
        super().__init__(**kw)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> str | None:
        if value in (None, ""):
            return None
        return datetime.fromtimestamp(float(value), UTC).isoformat()


class Flag(fields.Boolean):
    """A stored "1"/"0" flag as true/false."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> bool:
        return value in ("1", 1, True)


class PriorityLabel(fields.String):
    """A priority number as its name: emergency, high, standard, advice (null if unknown)."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("allow_none", True)
        super().__init__(**kw)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> str | None:
        return Priority(int(value)).label if value not in (None, "") else None


class CommaList(fields.List):
    """A stored comma-separated list as a JSON list."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(fields.String(), **kw)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> list[str]:
        return [v for v in str(value or "").split(",") if v]


# requests
class DeclineSchema(StrictSchema):
    reason = _choice(DECLINE_REASONS)
    note = Text(validate=validate.Length(max=500, error="Use 500 characters or fewer."),
                metadata={"description": "Kept sealed on the case as a note"})


class ContactSchema(StrictSchema):
    channel = _choice(CONTACT_CHANNELS)
    outcome = _choice(CONTACT_OUTCOMES)


class UpdateSchema(StrictSchema):
    channel = _choice(REPORTER_CHANNELS, metadata={
        "description": "How the update was given: one of the channels the reporter's "
                       "contact safety profile allows (else 422)"})
    note = Text(validate=validate.Length(max=500, error="Use 500 characters or fewer."),
                metadata={"description": "A short note, kept sealed on the case"})


class NoteSchema(StrictSchema):
    text = Text(required=True, validate=[validate.Length(
        min=1, max=5000, error="Use between 1 and 5000 characters."), _not_blank],
        metadata={"pattern": r"\S"})


class CloseSchema(StrictSchema):
    outcome = _choice(CLOSE_OUTCOMES)


class AvailabilitySchema(StrictSchema):
    status = fields.Enum(Availability, by_value=True, required=True)


class ReassignSchema(StrictSchema):
    officer_id = fields.String(required=True, allow_none=True, validate=validate.Regexp(
        OFFICER_ID, error="Give an officer's id."), metadata={
        "pattern": OFFICER_ID.replace("\\Z", "$"),  # JSON Schema (ECMA) has no \Z
        "description": "The officer to offer the case to; null sends it back to routing"})
    reason = Text(allow_none=True, validate=validate.Length(
        max=REASON_MAX, error=f"Use {REASON_MAX} characters or fewer."), metadata={
        "description": "Why this officer, when routing would pass them over (away, off "
                       "duty, off shift, at capacity, or without a skill the case "
                       "requires): without one that is refused (409). Kept as a case note "
                       "(sealed like every note); the history and the audit trail record "
                       "what was overridden and the note's id"})


class StatsQuerySchema(StrictSchema):
    hours = fields.Integer(load_default=24, validate=validate.Range(
        1, 24 * 30, error="Give 1 to 720 hours."))


class FindCaseQuerySchema(StrictSchema):
    reference = fields.String(required=True, validate=validate.Length(
        min=1, max=40, error="Enter a case reference like K7XM-4QPA-Q."), metadata={
        "description": "The case reference, e.g. K7XM-4QPA-Q (case, spaces, dashes ignored)"})


class ReadCaseQuerySchema(StrictSchema):
    purpose = fields.String(validate=validate.OneOf(
        list(consultation.PURPOSES), error=consultation.MESSAGES["purpose"]), metadata={
        "description": "Why you are opening the case: required unless the case is offered "
                       "to or held by you (DPA 2018 s.62). One of: " + "; ".join(
                           f"`{k}` ({v})" for k, v in consultation.PURPOSES.items())})
    reference = fields.String(validate=validate.Regexp(
        consultation.REFERENCE_PATTERN, error=consultation.MESSAGES["reference"]), metadata={
        "pattern": consultation.REFERENCE_PATTERN.replace("\\Z", "$"),
        "description": "The incident, request or complaint reference (no names); required "
                       "with `request` and `other_duty`"})


# responses
class MeSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    status = fields.String()
    on_shift = fields.Boolean()
    districts = CommaList()
    skills = CommaList()
    open_cases = fields.Integer(attribute="load", data_key="load")
    capacity = fields.Integer()


class CaseSummarySchema(Schema):
    """Routing fields and reference only — no personal data."""

    id = fields.String()
    reference = fields.String()
    kind = fields.String()
    state = fields.String()
    priority = PriorityLabel()
    emergency = fields.Boolean()
    district = fields.String()
    created_at = Instant()
    offered_at = Instant()
    deadline = Instant(attribute="offer_deadline")
    seconds_left = fields.Float(allow_none=True, metadata={"description": "Until the offer "
                                                           "expires (offers only)"})
    accepted_at = Instant()
    first_contact_at = Instant()
    sla_due = Instant(metadata={"description": "When the running SLA clock runs out"})
    sla_seconds_left = fields.Float(allow_none=True)
    risk = fields.String(metadata={"description": "Risk rating at intake: low, medium or "
                                                  "high ('' for older cases)"})
    enhanced = fields.Boolean(metadata={"description": "A repeat victim (Victims' Code "
                                                       "enhanced updates)"})
    next_update_at = Instant(metadata={"description": "When the next Victims' Code update "
                                                      "to the reporter is due (open, "
                                                      "contactable cases)"})


class MyCasesSchema(Schema):
    offers = fields.List(fields.Nested(CaseSummarySchema))
    open = fields.List(fields.Nested(CaseSummarySchema))


class CaseDetailSchema(Schema):
    id = fields.String()
    reference = fields.String()
    kind = fields.String()
    state = fields.String()
    priority = PriorityLabel()
    emergency = Flag()
    district = fields.String()
    incident_district = fields.String()
    home_district = fields.String()
    out_of_area = Flag()
    strands = CommaList()
    triage = CommaList()
    required_skills = CommaList()
    preferred_skills = CommaList()
    anonymous = Flag()
    contactable = Flag()
    officer_id = fields.String(attribute="officer")
    created_at = Instant()
    offered_at = Instant()
    offer_deadline = Instant()
    accepted_at = Instant()
    first_contact_at = Instant()
    closed_at = Instant()
    erased_at = Instant(metadata={"description": "When the retention schedule erased its "
                                                 "personal data (submission and notes)"})
    outcome = fields.String(dump_default=None, allow_none=True)
    risk = fields.String(metadata={"description": "Risk rating at intake: low, medium, high"})
    enhanced = Flag(metadata={"description": "A repeat victim within 12 months: Victims' "
                                             "Code enhanced updates, priority one step up"})
    linked_refs = CommaList(metadata={"description": "References of the same person's "
                                                     "earlier cases (open one only if you "
                                                     "may: the usual access rules)"})
    next_update_at = Instant(metadata={"description": "When the next Victims' Code update "
                                                      "is due"})
    last_update_at = Instant()
    updates_given = fields.Integer(dump_default=0)


class ContactSafetySchema(Schema):
    contact_allowed = fields.Boolean(metadata={
        "description": "False means no outbound contact at all"})
    profile = fields.Dict(allow_none=True, metadata={
        "description": "Channels, safe times, voicemail, shared device, discreet wording, "
                       "name and pronouns"})


class NoteOutSchema(Schema):
    id = fields.String()
    kind = fields.String()
    by = fields.String()
    at = Instant()
    text = fields.String()


class CaseViewSchema(Schema):
    contact_safety = fields.Nested(ContactSafetySchema)
    case = fields.Nested(CaseDetailSchema)
    submission = fields.Dict()
    events = fields.List(fields.Dict())
    notes = fields.List(fields.Nested(NoteOutSchema))


class ActionResultSchema(Schema):
    case_id = fields.String()
    state = fields.String()
    officer_id = fields.String(metadata={
        "description": "After a reassignment: the officer now offered the case ('' = none)"})
    overridden = fields.List(fields.String(), metadata={
        "description": "After a reassignment with a `reason`: what it overrode, e.g. "
                       "`off_shift`, `at_capacity`, `lacks_skill:bsl` (absent: nothing)"})
    override_reason = fields.String(metadata={
        "description": "After an override: the reason given (kept as a sealed case note)"})
    override_note = fields.String(metadata={
        "description": "After an override: the id of the note that keeps the reason"})


class UpdateResultSchema(Schema):
    case_id = fields.String()
    state = fields.String()
    next_update_at = Instant(metadata={"description": "When the next update is due"})


class NoteCreatedSchema(Schema):
    note_id = fields.String()
    case_id = fields.String()
    at = Instant()


class AvailabilityResultSchema(Schema):
    officer_id = fields.String()
    status = fields.String()
    available_for_cases = fields.Boolean()


class WaitSchema(Schema):
    count = fields.Integer()
    oldest_wait_seconds = fields.Float()


class WaitingSchema(Schema):
    total = fields.Integer()
    by_priority = fields.Dict(keys=fields.String(), values=fields.Nested(WaitSchema))


class OfficerCountsSchema(Schema):
    on_shift = fields.Integer()
    available = fields.Integer(metadata={"description": "Could be offered a case now"})
    at_capacity = fields.Integer()


class OpenOfferSchema(Schema):
    case_id = fields.String()
    reference = fields.String()
    officer_id = fields.String()
    district = fields.String()
    priority = PriorityLabel()
    age_seconds = fields.Float()
    seconds_left = fields.Float()


class OffersSchema(Schema):
    open = fields.Integer()
    oldest_seconds = fields.Float()
    items = fields.List(fields.Nested(OpenOfferSchema))


class DistrictQueueSchema(Schema):
    district = fields.String()
    waiting = fields.Nested(WaitingSchema)
    officers = fields.Nested(OfficerCountsSchema)
    offers = fields.Nested(OffersSchema)

    @pre_dump
    def _shape(self, queue: Any, **_: Any) -> dict[str, Any]:
        return {
            "district": queue.district,
            "waiting": {"total": sum(w.count for w in queue.waiting.values()),
                        "by_priority": {Priority(p).label: w for p, w in
                                        sorted(queue.waiting.items())}},
            "officers": {"on_shift": queue.officers_on_shift,
                         "available": queue.officers_available,
                         "at_capacity": queue.officers_at_capacity},
            "offers": {"open": len(queue.offers), "items": queue.offers,
                       "oldest_seconds": max((o.age_seconds for o in queue.offers),
                                             default=0.0)},
        }


class QueueStateSchema(Schema):
    districts = fields.List(fields.Nested(DistrictQueueSchema))
    force = fields.Nested(DistrictQueueSchema)
    truncated = fields.Boolean()


class OfferStatsSchema(Schema):
    since = Instant()
    until = Instant()
    offered = fields.Integer()
    accepted = fields.Integer()
    declined = fields.Integer()
    expired = fields.Integer()
    withdrawn = fields.Integer()
    median_seconds_to_accept = fields.Float(allow_none=True)
    decline_reasons = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_district = fields.Dict(keys=fields.String(), values=fields.Dict())


class SlaItemSchema(Schema):
    case_id = fields.String()
    reference = fields.String()
    clock = fields.String(metadata={"description": "accept or contact (first contact)"})
    state = fields.String()
    priority = PriorityLabel()
    district = fields.String()
    officer_id = fields.String()
    due = Instant()
    seconds_left = fields.Float()


class SlaSchema(Schema):
    at_risk = fields.List(fields.Nested(SlaItemSchema))
    breached = fields.List(fields.Nested(SlaItemSchema))


class DeadLetterSchema(Schema):
    kind = fields.String(metadata={"description": "case (routing) or notification"})
    id = fields.String()
    case_id = fields.String()
    reference = fields.String()
    what = fields.String()
    reason = fields.String()
    attempts = fields.Integer()
    at = Instant()


class DeadLettersSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))


class AlertSchema(Schema):
    id = fields.String()
    kind = fields.String()
    case_id = fields.String()
    reference = fields.String()
    district = fields.String()
    priority = PriorityLabel()
    officer_id = fields.String()
    status = fields.String()
    created_at = Instant()
    acknowledged_by = fields.String()
    acknowledged_at = Instant()


class AlertsSchema(Schema):
    alerts = fields.List(fields.Nested(AlertSchema))
