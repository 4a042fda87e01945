"""The stepped callback request: safety first (the 999 gate), where the person lives and
how we can help, how it is safe to contact them, then check your answers. The same
questions and schema (`CallbackSchema`) as the API's; the pages are `stepped`'s."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from services.intake import stepped
from services.intake.steps import (
    CONTACT_FIELDS,
    CONTACT_OPTIONS,
    Answers,
    Journey,
    Labels,
    Rows,
    Shown,
    Step,
    contact_rows,
    first,
    home_and_needs_rows,
)
from shared.domain.model import CaseKind
from shared.forms import form_to_payload
from shared.schemas import CallbackSchema

STEPS = (
    Step("safety", "Your safety", ("in_danger",)),
    Step("your-request", "Where you live and how we can help", (
        "home_area.postcode", "home_area.district", "reason", "preferred_times",
        "needs.language", "needs.language_other", "needs.bsl_interpreter")),
    Step("contact", "How we may contact you", CONTACT_FIELDS),
)
FIRST_OPTION = {**CONTACT_OPTIONS, "in_danger": "in-danger-yes",
                "preferred_times": "preferred-times-weekday-daytime"}


def emergency(answers: Answers) -> bool:
    return first(answers, "in_danger") == "yes"


def discreet(answers: Answers) -> bool:
    return first(answers, "contact.discreet") == "yes"


def payload(answers: Answers) -> dict[str, Any]:
    """The answers as the schema's nested JSON, its groups present so that an empty step
    gets every one of their errors at once."""
    form = MultiDict([(k, v) for k, values in answers.items() for v in values])
    data = form_to_payload(form)  # ValidationError for names that do not nest
    data.setdefault("contact", {})
    data.setdefault("home_area", {})
    return data


def page_rules(answers: Answers) -> dict[str, list[str]]:
    """The safety question is a yes or no the page needs answered (the API's `in_danger`
    is simply absent when false)."""
    if first(answers, "in_danger") not in ("yes", "no"):
        return {"in_danger": ["Select yes if you are in danger now"]}
    return {}


def rows(answers: Answers, labels: Labels) -> Rows:
    """Check your answers, step by step."""
    shown = Shown(answers, labels)
    where, needs = home_and_needs_rows("your-request", shown)
    return [
        ("safety", "Are you in danger now?", shown("in_danger")),
        where,
        ("your-request", "What you would like to talk about", shown("reason")),
        ("your-request", "When you would prefer us to contact you",
         shown("preferred_times")),
        needs,
        *contact_rows("contact", shown),
    ]


JOURNEY = Journey(
    name="callback", kind=CaseKind.CALLBACK, steps=STEPS, schema=CallbackSchema(),
    payload=payload, page_rules=page_rules, rows=rows, emergency=emergency,
    discreet=discreet, first_option=FIRST_OPTION, noun="request")
bp = stepped.blueprint(JOURNEY, "/callback")
