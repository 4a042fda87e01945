"""The stepped report: its questions page by page, how its answers become the schema's
JSON, and what check your answers shows. The pages are `stepped`'s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.datastructures import MultiDict

from services.intake import stepped
from services.intake.steps import (
    CONTACT_FIELDS,
    CONTACT_OPTIONS,
    YES,
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
from shared.schemas import ReportPageSchema

NOT_SURE = "not_sure"  # "why do you think it happened?": the person does not know
DATE_PARTS = ("when-date-day", "when-date-month", "when-date-year")
RISK_WORDS = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}  # risk questions' answers

STEPS = (
    Step("what-happened", "What happened", (
        "happening_now", "in_danger", "what_happened", "injuries", "threats",
        "repeat_incident", "fear_for_safety", "vulnerable", "suspect_description")),
    Step("when-and-where", "When and where it happened", (
        *DATE_PARTS, "when.time", "when.approximate", "when.description",
        "incident_location.postcode", "incident_location.district",
        "incident_location.description", "incident_location.online")),
    Step("why", "Why you think it happened", ("hate_strands",)),
    Step("about-you", "About you", (
        "reporter_role", "anonymous", "home_area.postcode", "home_area.district",
        "needs.language", "needs.language_other", "needs.bsl_interpreter")),
    Step("contact", "How we may contact you", ("consent_to_contact", *CONTACT_FIELDS)),
)

# The input an error about a group, or a question with options, links to: its first one.
FIRST_OPTION = {
    **CONTACT_OPTIONS,
    "happening_now": "happening-now", "fear_for_safety": "fear-for-safety-yes",
    "vulnerable": "vulnerable-yes", "reporter_role": "reporter-role-victim",
    "hate_strands": "hate-strands-sexual-orientation", "anonymous": "anonymous-yes",
    "consent_to_contact": "consent-to-contact-yes",
    "when": "when-date-day", "when.date": "when-date-day",
    "incident_location": "incident-location-postcode",
}


def anonymous(answers: Answers) -> bool:
    return first(answers, "anonymous") in YES


def emergency(answers: Answers) -> bool:
    return any(first(answers, name) in YES for name in ("happening_now", "in_danger"))


def discreet(answers: Answers) -> bool:
    return first(answers, "contact.discreet") == "yes" \
        and first(answers, "consent_to_contact") == "yes"


def skipped(step: Step, answers: Answers) -> bool:
    """Whether the journey passes this step by: contact details of an anonymous report."""
    return step.slug == "contact" and anonymous(answers)


def payload(answers: Answers) -> dict[str, Any]:
    """The answers as the schema's nested JSON: date parts joined, "not sure" taken out,
    contact details only with consent (never for an anonymous report), and a group that
    must be given present (empty) so that every one of its questions gets its own error."""
    form: MultiDict[str, str] = MultiDict()
    for name, values in answers.items():
        if name in DATE_PARTS:
            continue
        if name == "hate_strands":
            values = [v for v in values if v != NOT_SURE]
        if name.startswith("contact.") and (anonymous(answers)
                                           or first(answers, "consent_to_contact") != "yes"):
            continue
        for value in values:
            form.add(name, value)
    for name in ("anonymous", "consent_to_contact"):  # yes/no radios: ticks for the schema
        form.pop(name, None)
        if first(answers, name) == "yes" and not (name == "consent_to_contact"
                                                  and anonymous(answers)):
            form[name] = "on"
    when = joined_date(answers)
    if when:
        form["when.date"] = when
    data = form_to_payload(form)  # ValidationError for names that do not nest
    data.setdefault("when", {})
    data.setdefault("incident_location", {})
    if data.get("consent_to_contact"):
        data.setdefault("contact", {})
    return data


def joined_date(answers: Answers) -> str:
    """Day, month and year as one ISO date for the schema; "" when none was given. A date
    that is incomplete or not a real one is reported by `page_rules` instead."""
    parts = [first(answers, name).strip() for name in DATE_PARTS]
    if not all(parts):
        return ""
    try:
        return dt.date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
    except ValueError:
        return ""


def page_rules(answers: Answers) -> dict[str, list[str]]:
    """The questions only the pages ask (the API has its own way to say these)."""
    errors: dict[str, list[str]] = {}
    parts = dict(zip(("day", "month", "year"),
                     (first(answers, name).strip() for name in DATE_PARTS), strict=True))
    given = [k for k, v in parts.items() if v]
    if given and len(given) < 3:
        missing = " and ".join(k for k, v in parts.items() if not v)
        errors["when.date"] = [f"Date it happened must include a {missing}"]
    elif given and (not joined_date(answers) or len(parts["year"]) != 4):
        errors["when.date"] = ["Date it happened must be a real date"]
    strands = answers.get("hate_strands") or []
    if NOT_SURE in strands and len(strands) > 1:
        errors["hate_strands"] = ["Select the reasons why you think it happened, or select "
                                  "'Not sure', not both"]
    elif not strands:
        errors["hate_strands"] = ["Select at least one reason why you think it happened, or "
                                  "select 'Not sure'"]
    if first(answers, "anonymous") not in ("yes", "no"):
        errors["anonymous"] = ["Select yes if you want to stay anonymous"]
    if not anonymous(answers) and first(answers, "consent_to_contact") not in ("yes", "no"):
        errors["consent_to_contact"] = ["Select yes if a liaison officer may contact you "
                                        "about this report"]
    return errors


def page_name(name: str) -> str:
    """The schema's name for a posted one (the date's three boxes are `when.date`)."""
    return "when.date" if name in DATE_PARTS else name


def rows(answers: Answers, labels: Labels) -> Rows:
    """Check your answers, step by step."""
    shown = Shown(answers, labels)

    def risk_answer(name: str) -> list[str]:
        word = RISK_WORDS.get(first(answers, name))
        return [word] if word else []

    date = joined_date(answers)
    when = [dt.date.fromisoformat(date).strftime("%-d %B %Y")] if date else []
    found: Rows = [
        ("what-happened", "Is it happening now, or is anyone in danger?",
         shown.ticked(("happening_now", "It is happening now"),
                      ("in_danger", "Someone is in danger now")) or ["No"]),
        ("what-happened", "What happened", shown("what_happened")),
        ("what-happened", "Also", shown.ticked(
            ("injuries", "Someone was hurt"),
            ("threats", "Someone was threatened with violence"),
            ("repeat_incident", "This has happened before"))),
        ("what-happened", "Do you fear for your safety?", risk_answer("fear_for_safety")),
        ("what-happened", "Anything that makes you more vulnerable?",
         risk_answer("vulnerable")),
        ("what-happened", "The person or people responsible", shown("suspect_description")),
        ("when-and-where", "When it happened",
         when + shown("when.time") + shown("when.description")
         + shown.ticked(("when.approximate", "The date or time is approximate"))),
        ("when-and-where", "Where it happened",
         shown.ticked(("incident_location.online", "Online"))
         + shown("incident_location.postcode") + shown("incident_location.district")
         + shown("incident_location.description")),
        ("why", "Why you think it happened", shown("hate_strands")),
        ("about-you", "Who is reporting", shown("reporter_role")),
        ("about-you", "Stay anonymous", shown("anonymous")),
        *home_and_needs_rows("about-you", shown),
    ]
    if not anonymous(answers):
        found.append(("contact", "May a liaison officer contact you?",
                      shown("consent_to_contact")))
        if first(answers, "consent_to_contact") == "yes":
            found += contact_rows("contact", shown)
    return found


JOURNEY = Journey(
    name="report", kind=CaseKind.REPORT, steps=STEPS, schema=ReportPageSchema(),
    payload=payload, page_rules=page_rules, rows=rows, emergency=emergency,
    discreet=discreet, first_option=FIRST_OPTION, skipped=skipped, page_name=page_name)
bp = stepped.blueprint(JOURNEY, "/report")
