"""What every public page is drawn with: the answers' labels, the force's areas and
support services, and the confirmation a person sees after sending."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from shared.bootstrap import Deps
from shared.domain.languages import LANGUAGES, OTHER
from shared.domain.model import ContactChannel, HateStrand, ReporterRole
from shared.receiving import Receipt

RETRY_AFTER_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store"}  # a code or a status must not outlive the page

STRAND_LABELS = {
    HateStrand.SEXUAL_ORIENTATION: "Sexual orientation",
    HateStrand.TRANSGENDER_IDENTITY: "Transgender identity",
    HateStrand.DISABILITY: "Disability",
    HateStrand.RACE: "Race",
    HateStrand.RELIGION: "Religion or belief",
}
ROLE_LABELS = {
    ReporterRole.VICTIM: "It happened to me",
    ReporterRole.WITNESS: "I saw it happen",
    ReporterRole.ON_BEHALF: "I am reporting for someone else",
    ReporterRole.THIRD_PARTY_CENTRE: "I work at a third-party reporting centre",
}
CHANNEL_LABELS = {
    ContactChannel.PHONE: "Phone call",
    ContactChannel.SMS: "Text message",
    ContactChannel.EMAIL: "Email",
}
TIME_LABELS = {
    "any_time": "Any time",
    "weekday_daytime": "Weekdays 9am to 5pm",
    "weekday_evening": "Weekday evenings 5pm to 9pm",
    "weekend_daytime": "Weekends 9am to 5pm",
    "weekend_evening": "Weekend evenings 5pm to 9pm",
}
LANGUAGE_CHOICES = [*sorted(LANGUAGES.items(), key=lambda item: item[1]),
                    (OTHER, "Another language (tell us which)")]
YES_NO = {"yes": "Yes", "no": "No"}


def deps() -> Deps:
    found: Deps = current_app.extensions["liaison"]
    return found


def form_context() -> dict[str, Any]:
    """The choices every form may offer."""
    force = deps().force
    return {"districts": force.choices(), "force_name": force.name,
            "strands": STRAND_LABELS, "roles": ROLE_LABELS, "channels": CHANNEL_LABELS,
            "times": TIME_LABELS, "yes_no": YES_NO, "languages": LANGUAGE_CHOICES,
            "prefer_times": {k: v for k, v in TIME_LABELS.items() if k != "any_time"},
            "retry_after": RETRY_AFTER_SECONDS}


def answer_labels() -> dict[str, dict[str, str]]:
    """Posted value -> words, per field, for "check your answers"."""
    def plain(table: dict[Any, str]) -> dict[str, str]:
        return {str(getattr(k, "value", k)): v for k, v in table.items()}

    districts = dict(deps().force.choices())
    return {"hate_strands": {**plain(STRAND_LABELS), "not_sure": "Not sure"},
            "reporter_role": plain(ROLE_LABELS), "contact.channels": plain(CHANNEL_LABELS),
            "contact.safe_times": TIME_LABELS, "preferred_times": TIME_LABELS,
            "needs.language": dict(LANGUAGE_CHOICES),
            "incident_location.district": districts, "home_area.district": districts,
            **{name: YES_NO for name in (
                "in_danger", "anonymous", "consent_to_contact", "contact.voicemail_ok",
                "contact.shared_device", "contact.discreet")}}


def confirmation(receipt: Receipt, kind: str, *, discreet: bool) -> str:
    """The page after sending: 999 first in an emergency, the reference and check code,
    what happens next, and where else to get support (discreetly worded if asked)."""
    return render_template("confirmation.html", receipt=receipt, kind=kind,
                           support=deps().force.signposts(discreet=discreet),
                           discreet=discreet)
