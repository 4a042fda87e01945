"""101 call handlers: a callback request or a report taken by phone, for the caller.

The page posts flat dotted names (`contact.phone`); this module nests them into the public
API's payload and loads it with the API's own schema (`CallbackSchema`, `ReportSchema`), so
the phone, the public pages and partners can never disagree on what a case needs. The case
is then made by the one creation path (`shared.receiving.receive`): placed, triaged, stored
with its outbox entry, published to the router, and its collection audited — attributed to
the handler (`taken_by`, `channel` phone; `by` the handler in the audit trail).

Nothing the caller says is logged: errors name fields, log lines carry ids only.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from shared import forms
from shared.bootstrap import Deps
from shared.domain.model import CaseKind
from shared.forms import flatten_errors
from shared.receiving import IdempotencyConflict, Receipt, receive
from shared.schemas import CallbackSchema, ReportSchema

logger = logging.getLogger(__name__)

VIA = "console-phone"  # the audit trail's door for a case taken by phone
SCHEMAS: dict[CaseKind, Schema] = {CaseKind.CALLBACK: CallbackSchema(),
                                   CaseKind.REPORT: ReportSchema()}
DANGER = "danger"  # the 999 gate: asked first, and answered yes or no
DANGER_MISSING = "Ask whether anyone is in danger now, and choose yes or no."
SAY_POLICE = "contact.say_police"  # the script asks the opposite of `contact.discreet`
CHECKBOXES = {"injuries", "threats", "repeat_incident", "anonymous", "incident_location.online",
              "when.approximate", "needs.bsl_interpreter"}
YES_NO = {"contact.voicemail_ok", "contact.shared_device", "consent_to_contact"}
CONTROL = {"csrf_token", "call_id", DANGER, SAY_POLICE}
_CALL_ID = re.compile(r"^call:[0-9a-f]{32}\Z")

# Each page's questions in page order: the error summary follows it.
CONTACT_ORDER = (
    "contact.name", "contact.pronouns", "contact.channels", "contact.phone", "contact.email",
    "contact.safe_times", "contact.voicemail_ok", "contact.shared_device", "contact.discreet")
NEEDS_ORDER = ("needs.language", "needs.language_other", "needs.bsl_interpreter")
ORDER = {
    CaseKind.CALLBACK: (DANGER, *CONTACT_ORDER, "home_area.postcode", "home_area.district",
                        "reason", "preferred_times", *NEEDS_ORDER),
    CaseKind.REPORT: (
        DANGER, "reporter_role", "what_happened", "when.date", "when.time",
        "when.description", "incident_location.postcode", "incident_location.district",
        "incident_location.description", "hate_strands", "injuries", "threats",
        "repeat_incident", "fear_for_safety", "vulnerable", "suspect_description",
        "anonymous", "consent_to_contact", *CONTACT_ORDER, "home_area.postcode",
        "home_area.district", *NEEDS_ORDER),
}
# Where a message about a group (or a yes/no question) takes the handler: its first input.
ANCHORS = {
    DANGER: "danger-yes", "call_id": "record", "contact": "contact-name",
    "home_area": "home-area-postcode",
    "incident_location": "incident-location-postcode", "when": "when-date",
    "needs": "needs-language", "contact.channels": "contact-channels-phone",
    "contact.safe_times": "contact-safe-times-any-time",
    "contact.voicemail_ok": "contact-voicemail-ok-yes",
    "contact.shared_device": "contact-shared-device-yes",
    "contact.discreet": "contact-say-police-yes", "consent_to_contact": "consent-to-contact-yes",
    "reporter_role": "reporter-role-victim", "hate_strands": "hate-strands-sexual-orientation",
    "preferred_times": "preferred-times-weekday-daytime",
    "fear_for_safety": "fear-for-safety-yes", "vulnerable": "vulnerable-yes",
}

# How the error summary names each question (a name not here is shown as it is).
QUESTIONS = {
    DANGER: "Is anyone in danger now", "call_id": "This call",
    "contact": "Contact details", "contact.name": "Name to use",
    "contact.pronouns": "Pronouns", "contact.channels": "Ways to contact",
    "contact.phone": "Phone number", "contact.email": "Email address",
    "contact.safe_times": "Safe times", "contact.voicemail_ok": "Voicemail",
    "contact.shared_device": "Shared phone or email",
    "contact.discreet": "May we say we are the police",
    "home_area": "Where they live", "home_area.postcode": "Home postcode",
    "home_area.district": "Home district", "reason": "What it is about",
    "preferred_times": "Preferred times", "needs": "Language",
    "needs.language": "Language", "needs.language_other": "Other language",
    "needs.bsl_interpreter": "BSL interpreter", "reporter_role": "Who is reporting",
    "what_happened": "What happened", "when": "When it happened",
    "when.date": "Date", "when.time": "Time", "when.description": "When, in words",
    "incident_location": "Where it happened",
    "incident_location.postcode": "Postcode where it happened",
    "incident_location.district": "District where it happened",
    "incident_location.description": "The place in words",
    "hate_strands": "What it was about", "fear_for_safety": "Fears for their safety",
    "vulnerable": "More vulnerable", "suspect_description": "Who did it",
    "anonymous": "Anonymous", "consent_to_contact": "May an officer contact them",
}


def question(name: str) -> str:
    return QUESTIONS.get(name, name)


@dataclass(frozen=True)
class Outcome:
    """What the page shows after a POST: the receipt to read back, or the field errors."""

    receipt: Receipt | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def new_call_id() -> str:
    """The form's idempotency key: sending the same form twice makes one case."""
    return "call:" + uuid.uuid4().hex


def anchor(name: str) -> str:
    """The id of the input an error about `name` links to."""
    return ANCHORS.get(name, name.replace(".", "-").replace("_", "-"))


def record(kind: CaseKind, form: MultiDict[str, str], deps: Deps, *, taken_by: str) -> Outcome:
    """Validate the form with the public API's schema and create the case as the API would,
    attributed to the handler. Raises StoreUnavailable (the page keeps what was typed)."""
    errors: dict[str, list[str]] = {}
    danger = form.get(DANGER, "")
    if danger not in ("yes", "no"):
        errors[DANGER] = [DANGER_MISSING]
    try:
        payload = form_to_payload(form, kind)
        data = SCHEMAS[kind].load(payload)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        errors |= flatten_errors(messages)
    if errors:
        return Outcome(errors=ordered(errors, kind))
    key = form.get("call_id", "")
    try:
        receipt = receive(kind, data, deps, idempotency_key=key if _CALL_ID.match(key) else None,
                          via=VIA, taken_by=taken_by)
    except ValidationError as exc:  # a district the force does not have
        return Outcome(errors=ordered(flatten_errors(_as_dict(exc.messages)), kind))
    except IdempotencyConflict:  # changed after it was sent: keep the answers, say so
        return Outcome(errors={"call_id": [
            "This call was already recorded with other answers. Start a new call to record "
            "another case."]})
    logger.info("case taken by phone", extra={"case_id": receipt.case_id, "kind": kind.value,
                                              "staff_id": taken_by,
                                              "duplicate": receipt.duplicate})
    return Outcome(receipt=receipt)


def form_to_payload(form: MultiDict[str, str], kind: CaseKind) -> dict[str, Any]:
    """The public form's rules (`shared.forms`) with the script's own questions: the 999
    gate's yes is `in_danger` (an emergency, as on the public form), "may we say we are
    the police?" is the opposite of `contact.discreet`, and consent is asked yes or no."""
    payload: dict[str, Any] = {}
    if form.get(DANGER) == "yes":
        payload["in_danger"] = True
    if form.get(SAY_POLICE) in ("yes", "no"):  # "may we say we are the police?" no: discreet
        forms.put(payload, "contact.discreet", form.get(SAY_POLICE) == "no")
    forms.form_to_payload(form, checkboxes=CHECKBOXES, radios=YES_NO, control=CONTROL,
                          into=payload, empty_lists=False)
    if kind is CaseKind.REPORT and (payload.get("anonymous") or
                                    not payload.get("consent_to_contact")):
        _drop_blank_contact(payload)
    for group in _REQUIRED_GROUPS[kind] + (("contact",) if payload.get("consent_to_contact")
                                           else ()):
        payload.setdefault(group, {})  # unanswered: the schema names each question in it
    return payload


# Groups of questions a case of each kind must have: left empty rather than left out, so
# the error summary names the questions not answered instead of the group.
_REQUIRED_GROUPS = {CaseKind.CALLBACK: ("contact", "home_area"),
                    CaseKind.REPORT: ("when", "incident_location")}


def _drop_blank_contact(payload: dict[str, Any]) -> None:
    """A report the caller does not want to be contacted about: yes/no answers left on the
    contact questions are not contact details (a name, a way or a number would be)."""
    contact = payload.get("contact") or {}
    if not any(contact.get(k) for k in ("name", "pronouns", "channels", "phone", "email",
                                        "safe_times")):
        payload.pop("contact", None)


def ordered(errors: dict[str, list[str]], kind: CaseKind) -> dict[str, list[str]]:
    """The errors in page order (unknown names, e.g. a tampered post, last)."""
    rank = {name: i for i, name in enumerate(ORDER[kind])}

    def position(name: str) -> int:
        group = [i for n, i in rank.items() if n == name or n.startswith(name + ".")]
        return min(group, default=len(rank))

    return dict(sorted(errors.items(), key=lambda item: position(item[0])))


def _as_dict(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {"_schema": messages}
