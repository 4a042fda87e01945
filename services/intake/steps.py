"""The stepped report: which questions each page asks, and how a draft's answers become a
submission the one schema checks.

A draft's answers are the fields as posted (dotted names, lists of strings), so a page
shows them back exactly as typed. Every step is checked against the whole submission with
the same schema as the API (`ReportPageSchema`), keeping only the errors about its own
questions: one set of rules, and a page never blocks on a question it does not ask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.intake.forms import NOT_A_FIELD, flatten_errors, form_to_payload
from services.intake.messages import page_errors
from shared.schemas import ReportPageSchema

Answers = dict[str, list[str]]
NOT_SURE = "not_sure"  # "why do you think it happened?": the person does not know
DATE_PARTS = ("when-date-day", "when-date-month", "when-date-year")
YES = ("yes", "on")
RISK_WORDS = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}  # risk questions' answers


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    fields: tuple[str, ...]  # posted names, in page order


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
    Step("contact", "How we may contact you", (
        "consent_to_contact", "contact.name", "contact.pronouns", "contact.channels",
        "contact.phone", "contact.email", "contact.safe_times", "contact.voicemail_ok",
        "contact.shared_device", "contact.discreet")),
)
BY_SLUG = {step.slug: step for step in STEPS}
CHECK = "check-your-answers"
TOTAL = len(STEPS) + 1  # the steps, then check your answers
SCHEMA = ReportPageSchema()

# The input an error about a group, or a question with options, links to: its first one.
FIRST_OPTION = {
    "happening_now": "happening-now", "fear_for_safety": "fear-for-safety-yes",
    "vulnerable": "vulnerable-yes", "reporter_role": "reporter-role-victim",
    "hate_strands": "hate-strands-sexual-orientation", "anonymous": "anonymous-yes",
    "consent_to_contact": "consent-to-contact-yes", "contact.channels": "contact-channels-phone",
    "contact.safe_times": "contact-safe-times-any-time",
    "contact.voicemail_ok": "contact-voicemail-ok-yes",
    "contact.shared_device": "contact-shared-device-yes",
    "contact.discreet": "contact-discreet-yes",
    "when": "when-date-day", "when.date": "when-date-day",
    "incident_location": "incident-location-postcode", "home_area": "home-area-postcode",
    "contact": "contact-name", "needs": "needs-language",
}


def field_id(name: str) -> str:
    """The id a field's input has (the template's `fid`)."""
    return name.replace(".", "-").replace("_", "-")


def anchor(name: str) -> str:
    return FIRST_OPTION.get(name) or field_id(name)


def number(slug: str) -> int:
    return TOTAL if slug == CHECK else [s.slug for s in STEPS].index(slug) + 1


def skipped(step: Step, answers: Answers) -> bool:
    """Whether the journey passes this step by: contact details of an anonymous report."""
    return step.slug == "contact" and anonymous(answers)


def anonymous(answers: Answers) -> bool:
    return first(answers, "anonymous") in YES


def emergency(answers: Answers) -> bool:
    return any(first(answers, name) in YES for name in ("happening_now", "in_danger"))


def first(answers: Answers, name: str) -> str:
    values = answers.get(name) or [""]
    return values[0]


def next_slug(slug: str, answers: Answers) -> str:
    after = [s for s in STEPS[number(slug):] if not skipped(s, answers)]
    return after[0].slug if after else CHECK


def previous_slug(slug: str, answers: Answers) -> str | None:
    before = [s for s in STEPS[:number(slug) - 1] if not skipped(s, answers)]
    return before[-1].slug if before else None


def take(step: Step, form: MultiDict[str, str]) -> tuple[Answers, dict[str, list[str]]]:
    """The step's answers from a post, and errors for names the step does not ask (a
    hand-made or tampered post: refused, never stored)."""
    answers = {name: [v for v in form.getlist(name)] for name in step.fields if name in form}
    strays = {name: [NOT_A_FIELD] for name in form.keys()
              if name not in step.fields and name != "csrf_token"}
    return answers, strays


def merge(answers: Answers, step: Step, posted: Answers) -> Answers:
    """The draft's answers with this step's replaced by what was posted (an unticked box
    is not posted, so a step's absent names are cleared)."""
    kept = {k: v for k, v in answers.items() if k not in step.fields}
    return {**kept, **posted}


def step_errors(step: Step, answers: Answers) -> dict[str, list[str]]:
    """The errors about this step's questions, worded for the page, in page order."""
    errors = {k: v for k, v in all_errors(answers).items() if owner(k) == step.slug}
    return page_errors(errors, [_page_name(name) for name in step.fields])


def first_unfinished(answers: Answers) -> str | None:
    """The slug of the first step that is not answered well enough to send, else None."""
    errors = all_errors(answers)
    for step in STEPS:
        if not skipped(step, answers) and any(owner(k) == step.slug for k in errors):
            return step.slug
    return None


def submission(answers: Answers) -> dict[str, Any]:
    """The validated submission; ValidationError if any step needs correcting."""
    data: dict[str, Any] = SCHEMA.load(payload(answers))
    return data


def all_errors(answers: Answers) -> dict[str, list[str]]:
    errors = _page_rules(answers)
    try:
        SCHEMA.load(payload(answers))
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        for key, values in flatten_errors(messages).items():
            errors.setdefault(key, values)
    return errors


def owner(key: str) -> str:
    """Which step asks about this error's field."""
    root = key.split(".")[0]
    for step in STEPS:
        if any(_page_name(name).split(".")[0] == root for name in step.fields):
            return step.slug
    return STEPS[0].slug


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
    that is incomplete or not a real one is reported by `_page_rules` instead."""
    parts = [first(answers, name).strip() for name in DATE_PARTS]
    if not all(parts):
        return ""
    try:
        return dt.date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
    except ValueError:
        return ""


def _page_rules(answers: Answers) -> dict[str, list[str]]:
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


def _page_name(name: str) -> str:
    """The schema's name for a posted one (the date's three boxes are `when.date`)."""
    return "when.date" if name in DATE_PARTS else name


def summary(answers: Answers, labels: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """Check your answers: (question, answer lines, the step to change it on), per step."""
    def shown(name: str) -> list[str]:
        values = [v for v in answers.get(name, []) if v.strip()]
        table = labels.get(name, {})
        return [table.get(v, v) for v in values]

    def ticked(*pairs: tuple[str, str]) -> list[str]:
        return [text for name, text in pairs if first(answers, name) in YES]

    def risk_answer(name: str) -> list[str]:
        word = RISK_WORDS.get(first(answers, name))
        return [word] if word else []

    date = joined_date(answers)
    when = [dt.date.fromisoformat(date).strftime("%-d %B %Y")] if date else []
    rows = [
        ("what-happened", "Is it happening now, or is anyone in danger?",
         ticked(("happening_now", "It is happening now"),
                ("in_danger", "Someone is in danger now")) or ["No"]),
        ("what-happened", "What happened", shown("what_happened")),
        ("what-happened", "Also", ticked(("injuries", "Someone was hurt"),
                                         ("threats", "Someone was threatened with violence"),
                                         ("repeat_incident", "This has happened before"))),
        ("what-happened", "Do you fear for your safety?",
         risk_answer("fear_for_safety")),
        ("what-happened", "Anything that makes you more vulnerable?",
         risk_answer("vulnerable")),
        ("what-happened", "The person or people responsible", shown("suspect_description")),
        ("when-and-where", "When it happened",
         when + shown("when.time") + shown("when.description")
         + (["The date or time is approximate"] if first(answers, "when.approximate") in YES
            else [])),
        ("when-and-where", "Where it happened",
         (["Online"] if first(answers, "incident_location.online") in YES else [])
         + shown("incident_location.postcode") + shown("incident_location.district")
         + shown("incident_location.description")),
        ("why", "Why you think it happened", shown("hate_strands")),
        ("about-you", "Who is reporting", shown("reporter_role")),
        ("about-you", "Stay anonymous", shown("anonymous")),
        ("about-you", "Where you live", shown("home_area.postcode") + shown("home_area.district")),
        ("about-you", "Support you need",
         shown("needs.language") + shown("needs.language_other")
         + ticked(("needs.bsl_interpreter", "British Sign Language interpreter"))),
    ]
    if not anonymous(answers):
        rows.append(("contact", "May a liaison officer contact you?",
                     shown("consent_to_contact")))
        if first(answers, "consent_to_contact") == "yes":
            rows += [
                ("contact", "Name to use", shown("contact.name") + shown("contact.pronouns")),
                ("contact", "Safe ways to contact you", shown("contact.channels")),
                ("contact", "Phone number", shown("contact.phone")),
                ("contact", "Email address", shown("contact.email")),
                ("contact", "Safe times", shown("contact.safe_times")),
                ("contact", "Safe to leave a voicemail", shown("contact.voicemail_ok")),
                ("contact", "Someone else uses or sees your phone or email",
                 shown("contact.shared_device")),
                ("contact", "Avoid words that give away what this is about",
                 shown("contact.discreet")),
            ]
    return [{"slug": slug, "question": question, "lines": lines or ["Not given"]}
            for slug, question, lines in rows]
