"""The stepped report form: one question group per page, answers sealed server-side
between pages (`drafts`), check your answers, then the same `receive` as ever.

Every page works without JavaScript: plain forms that post, then a 303 to the next page.
"""

from __future__ import annotations

import logging

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from services.intake import drafts, steps
from services.intake.context import (
    NO_STORE,
    RETRY_AFTER_SECONDS,
    answer_labels,
    confirmation,
    deps,
    form_context,
)
from services.intake.forms import flatten_errors
from services.intake.handlers import IdempotencyConflict, receive
from services.intake.messages import page_errors
from shared.domain.model import CaseKind
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
bp = Blueprint("report", __name__, url_prefix="/report")
FIRST = steps.STEPS[0].slug


@bp.get("")
def begin() -> ResponseReturnValue:
    """The report's entry: a draft already sent is forgotten, so this is a new report."""
    draft = drafts.load(deps())
    if draft is not None and draft.sent:
        drafts.clear(deps())
    return redirect(url_for("report.step", slug=FIRST), 303)


@bp.get("/<slug>")
def step(slug: str) -> ResponseReturnValue:
    current = _step(slug)
    try:
        draft = drafts.load(deps())
    except StoreUnavailable:
        return (_render(current, {}, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if draft is None and slug != FIRST:
        return _timed_out()
    answers = draft.answers if draft else {}
    return _render(current, answers, problem=request.args.get("problem", "")
                   if request.args.get("problem") == "timed_out" else "")


@bp.post("/<slug>")
def save_step(slug: str) -> ResponseReturnValue:
    current = _step(slug)
    posted, strays = steps.take(current, request.form)
    if strays:  # a tampered post: refused, nothing kept
        return _render(current, posted, errors=page_errors(strays, current.fields)), 422
    try:
        draft = drafts.load(deps())
        if draft is None and slug != FIRST:
            return _timed_out()
        draft = draft or drafts.Draft()
        answers = steps.merge(draft.answers, current, posted)
        if draft.sent and answers != draft.answers:  # changed after sending: a new report
            draft = drafts.Draft()
        draft.answers = answers
        drafts.save(deps(), draft)
    except StoreUnavailable as exc:  # nothing kept: the page keeps what was typed
        logger.warning("draft not saved: store unavailable", extra={"error": str(exc)})
        return (_render(current, posted, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    errors = steps.step_errors(current, answers)
    if errors:
        return _render(current, answers, errors=errors), 422
    if slug == FIRST and steps.emergency(answers):
        return redirect(url_for("report.call_999"), 303)
    following = steps.next_slug(slug, answers)
    if request.args.get("change") and steps.first_unfinished(answers) is None:
        following = steps.CHECK
    return redirect(url_for("report.step", slug=following) if following != steps.CHECK
                    else url_for("report.check"), 303)


@bp.get("/call-999")
def call_999() -> ResponseReturnValue:
    """The 999 gate: after "it is happening now" or "someone is in danger"."""
    draft = drafts.load(deps())
    if draft is None:
        return _timed_out()
    return render_template("report/call_999.html", back=url_for("report.step", slug=FIRST),
                           next=url_for("report.step", slug=steps.next_slug(FIRST, {})))


@bp.get("/check-your-answers")
def check() -> ResponseReturnValue:
    draft = drafts.load(deps())
    if draft is None:
        return _timed_out()
    unfinished = steps.first_unfinished(draft.answers)
    if unfinished:
        return redirect(url_for("report.step", slug=unfinished), 303)
    return _render_check(draft.answers)


@bp.post("/check-your-answers")
def send() -> ResponseReturnValue:
    """Send the draft as a report. Its Idempotency-Key is the draft's: sending it twice
    (a double click, Back and send again) makes one case and shows the same reference."""
    try:
        draft = drafts.load(deps())
    except StoreUnavailable as exc:  # the answers wait, sealed, for the next try
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        return (_render_check([], problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if draft is None:
        return _timed_out()
    unfinished = steps.first_unfinished(draft.answers)
    if unfinished:
        return redirect(url_for("report.step", slug=unfinished), 303)
    try:
        data = steps.submission(draft.answers)
        receipt = receive(CaseKind.REPORT, data, deps(), via="intake-form",
                          idempotency_key=f"form:{draft.submission_id}")
    except ValidationError as exc:  # a district the force no longer has, say
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        flat = flatten_errors(messages)
        current = steps.BY_SLUG[steps.owner(next(iter(flat)))]
        return _render(current, draft.answers, errors=page_errors(flat, current.fields)), 422
    except IdempotencyConflict:  # sent, then changed: this is a new report
        draft = drafts.Draft(answers=draft.answers)
        drafts.save(deps(), draft)
        return _render_check(draft.answers, problem="changed"), 409
    except StoreUnavailable as exc:
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        return (_render_check(draft.answers, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    draft.sent = True
    try:
        drafts.save(deps(), draft)
    except StoreUnavailable:  # stored and announced: a replay of the draft still finds it
        logger.warning("draft not marked sent: store unavailable")
    g.liaison_received = True
    discreet = steps.first(draft.answers, "contact.discreet") == "yes" \
        and steps.first(draft.answers, "consent_to_contact") == "yes"
    return confirmation(receipt, "report", discreet=discreet), 200, NO_STORE


def rerender(problem: str) -> str | None:
    """A step re-shown with what was just posted and a problem (an expired form, too many
    attempts), for the app's error handlers; None when the request was not a step's."""
    if request.method != "POST" or request.blueprint != bp.name:
        return None
    slug = (request.view_args or {}).get("slug")
    if slug in steps.BY_SLUG:
        current = steps.BY_SLUG[slug]
        posted, _ = steps.take(current, request.form)
        return _render(current, posted, problem=problem)
    return render_template("error.html", code=400)


def _step(slug: str) -> steps.Step:
    if slug not in steps.BY_SLUG:
        raise NotFound()
    return steps.BY_SLUG[slug]


def _timed_out() -> ResponseReturnValue:
    return redirect(url_for("report.step", slug=FIRST, problem="timed_out"), 303)


def _render(current: steps.Step, answers: steps.Answers, *,
            errors: dict[str, list[str]] | None = None, problem: str = "") -> str:
    previous = steps.previous_slug(current.slug, answers)
    back = url_for("report.step", slug=previous) if previous else url_for("pages.start")
    form = MultiDict([(k, v) for k, values in answers.items() for v in values])
    return render_template(
        f"report/{current.slug.replace('-', '_')}.html", step=current,
        number=steps.number(current.slug), total=steps.TOTAL, back=back, form=form,
        errors=errors or {}, anchors={k: steps.anchor(k) for k in errors or {}},
        problem=problem, change=bool(request.args.get("change")),
        ttl_minutes=deps().settings.draft_ttl // 60, **form_context())


def _render_check(answers: steps.Answers | list[object], *, problem: str = "") -> str:
    """Check your answers; with no answers (Redis unreachable) just the problem and the
    send button, to try again."""
    if not isinstance(answers, dict):
        return render_template(
            "report/check_your_answers.html", rows=[], number=steps.TOTAL, total=steps.TOTAL,
            back=url_for("report.step", slug=FIRST), problem=problem, errors={},
            emergency=False, retry_after=RETRY_AFTER_SECONDS,
            ttl_minutes=deps().settings.draft_ttl // 60)
    last = steps.previous_slug(steps.CHECK, answers) or FIRST
    return render_template(
        "report/check_your_answers.html", rows=steps.summary(answers, answer_labels()),
        number=steps.TOTAL, total=steps.TOTAL, back=url_for("report.step", slug=last),
        problem=problem, errors={}, emergency=steps.emergency(answers),
        retry_after=RETRY_AFTER_SECONDS, ttl_minutes=deps().settings.draft_ttl // 60)
