"""A stepped form (a `Journey`): which questions each page asks, and how a draft's answers
become a submission the one schema checks. The report and the callback request are two
journeys (`services.intake.report`, `services.intake.callback`) on this one machinery.

A draft's answers are the fields as posted (dotted names, lists of strings), so a page
shows them back exactly as typed. Every step is checked against the whole submission with
the same schema as the API, keeping only the errors about its own questions: one set of
rules, and a page never blocks on a question it does not ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from services.intake.messages import page_errors
from shared.domain.model import CaseKind
from shared.forms import NOT_A_FIELD, flatten_errors

Answers = dict[str, list[str]]
Labels = Mapping[str, Mapping[str, str]]
Rows = list[tuple[str, str, list[str]]]  # (step slug, question, answer lines)
CHECK = "check-your-answers"
YES = ("yes", "on")


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    fields: tuple[str, ...]  # posted names, in page order


def _never(step: Step, answers: Answers) -> bool:
    return False


def _same(name: str) -> str:
    return name


@dataclass(frozen=True)
class Journey:
    """One stepped form. `name` is its blueprint's, its templates' folder and its draft's."""

    name: str
    kind: CaseKind
    steps: tuple[Step, ...]
    schema: Schema
    payload: Callable[[Answers], dict[str, Any]]  # answers -> the schema's JSON
    page_rules: Callable[[Answers], dict[str, list[str]]]  # questions only pages ask
    rows: Callable[[Answers, Labels], Rows]  # check your answers
    emergency: Callable[[Answers], bool]  # the 999 gate after the first step
    discreet: Callable[[Answers], bool]  # the confirmation's support worded discreetly
    first_option: Mapping[str, str] = field(default_factory=dict)  # error -> first input
    skipped: Callable[[Step, Answers], bool] = _never
    page_name: Callable[[str], str] = _same  # a posted name -> the schema's
    noun: str = "report"  # what the pages call it: "send your report", "your request"

    @property
    def by_slug(self) -> dict[str, Step]:
        return {step.slug: step for step in self.steps}

    @property
    def first(self) -> str:
        return self.steps[0].slug

    @property
    def total(self) -> int:
        return len(self.steps) + 1  # the steps, then check your answers

    def anchor(self, name: str) -> str:
        """The input an error links to: a group's or an option's first one."""
        return self.first_option.get(name) or field_id(name)

    def number(self, slug: str) -> int:
        return self.total if slug == CHECK else [s.slug for s in self.steps].index(slug) + 1

    def next_slug(self, slug: str, answers: Answers) -> str:
        after = [s for s in self.steps[self.number(slug):] if not self.skipped(s, answers)]
        return after[0].slug if after else CHECK

    def previous_slug(self, slug: str, answers: Answers) -> str | None:
        before = [s for s in self.steps[:self.number(slug) - 1]
                  if not self.skipped(s, answers)]
        return before[-1].slug if before else None

    def step_errors(self, step: Step, answers: Answers) -> dict[str, list[str]]:
        """The errors about this step's questions, worded for the page, in page order."""
        errors = {k: v for k, v in self.all_errors(answers).items()
                  if self.owner(k) == step.slug}
        return page_errors(errors, [self.page_name(name) for name in step.fields])

    def first_unfinished(self, answers: Answers) -> str | None:
        """The slug of the first step not answered well enough to send, else None."""
        errors = self.all_errors(answers)
        for step in self.steps:
            if not self.skipped(step, answers) and any(
                    self.owner(k) == step.slug for k in errors):
                return step.slug
        return None

    def submission(self, answers: Answers) -> dict[str, Any]:
        """The validated submission; ValidationError if any step needs correcting."""
        data: dict[str, Any] = self.schema.load(self.payload(answers))
        return data

    def all_errors(self, answers: Answers) -> dict[str, list[str]]:
        errors = self.page_rules(answers)
        try:
            self.schema.load(self.payload(answers))
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) \
                else {"_schema": exc.messages}
            for key, values in flatten_errors(messages).items():
                errors.setdefault(key, values)
        return errors

    def owner(self, key: str) -> str:
        """Which step asks about this error's field."""
        root = key.split(".")[0]
        for step in self.steps:
            if any(self.page_name(name).split(".")[0] == root for name in step.fields):
                return step.slug
        return self.first

    def summary(self, answers: Answers, labels: Labels) -> list[dict[str, Any]]:
        """Check your answers: (question, answer lines, the step to change it on)."""
        return [{"slug": slug, "question": question, "lines": lines or ["Not given"]}
                for slug, question, lines in self.rows(answers, labels)]


def field_id(name: str) -> str:
    """The id a field's input has (the template's `fid`)."""
    return name.replace(".", "-").replace("_", "-")


def first(answers: Answers, name: str) -> str:
    values = answers.get(name) or [""]
    return values[0]


def take(step: Step, form: MultiDict[str, str]) -> tuple[Answers, dict[str, list[str]]]:
    """The step's answers from a post, and errors for names the step does not ask (a
    hand-made or tampered post: refused, never stored)."""
    answers = {name: list(form.getlist(name)) for name in step.fields if name in form}
    strays = {name: [NOT_A_FIELD] for name in form.keys()
              if name not in step.fields and name != "csrf_token"}
    return answers, strays


def merge(answers: Answers, step: Step, posted: Answers) -> Answers:
    """The draft's answers with this step's replaced by what was posted (an unticked box
    is not posted, so a step's absent names are cleared)."""
    kept = {k: v for k, v in answers.items() if k not in step.fields}
    return {**kept, **posted}


class Shown:
    """An answer as check your answers shows it: the words for what was chosen."""

    def __init__(self, answers: Answers, labels: Labels) -> None:
        self.answers, self.labels = answers, labels

    def __call__(self, name: str) -> list[str]:
        values = [v for v in self.answers.get(name, []) if v.strip()]
        table = self.labels.get(name, {})
        return [table.get(v, v) for v in values]

    def ticked(self, *pairs: tuple[str, str]) -> list[str]:
        return [text for name, text in pairs if first(self.answers, name) in YES]


def home_and_needs_rows(slug: str, shown: Shown) -> Rows:
    """Where the person lives and the support they need, as both journeys ask them."""
    return [
        (slug, "Where you live", shown("home_area.postcode") + shown("home_area.district")),
        (slug, "Support you need",
         shown("needs.language") + shown("needs.language_other")
         + shown.ticked(("needs.bsl_interpreter", "British Sign Language interpreter"))),
    ]


def contact_rows(slug: str, shown: Shown) -> Rows:
    """How, when and under what name it is safe to contact the person (both journeys)."""
    return [
        (slug, "Name to use", shown("contact.name") + shown("contact.pronouns")),
        (slug, "Safe ways to contact you", shown("contact.channels")),
        (slug, "Phone number", shown("contact.phone")),
        (slug, "Email address", shown("contact.email")),
        (slug, "Safe times", shown("contact.safe_times")),
        (slug, "Safe to leave a voicemail", shown("contact.voicemail_ok")),
        (slug, "Someone else uses or sees your phone or email",
         shown("contact.shared_device")),
        (slug, "Avoid words that give away what this is about", shown("contact.discreet")),
    ]


# The contact questions' first inputs (both journeys ask them with the same macro).
CONTACT_OPTIONS = {
    "contact": "contact-name", "contact.channels": "contact-channels-phone",
    "contact.safe_times": "contact-safe-times-any-time",
    "contact.voicemail_ok": "contact-voicemail-ok-yes",
    "contact.shared_device": "contact-shared-device-yes",
    "contact.discreet": "contact-discreet-yes",
    "home_area": "home-area-postcode", "needs": "needs-language",
}
CONTACT_FIELDS = (
    "contact.name", "contact.pronouns", "contact.channels", "contact.phone", "contact.email",
    "contact.safe_times", "contact.voicemail_ok", "contact.shared_device", "contact.discreet")
