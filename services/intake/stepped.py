"""The pages of a stepped form (`steps.Journey`): one question group per page, answers
sealed server-side between pages (`drafts`), the 999 gate after the first page, check your
answers, then the same `receive` as the API.

Every page works without JavaScript: plain forms that post, then a 303 to the next page.
"""

from __future__ import annotations

import logging

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from services.intake import drafts
from services.intake.context import (
    NO_STORE,
    RETRY_AFTER_SECONDS,
    answer_labels,
    confirmation,
    deps,
    form_context,
)
from services.intake.messages import page_errors
from services.intake.steps import CHECK, Answers, Journey, Step, merge, take
from shared.forms import flatten_errors
from shared.receiving import IdempotencyConflict, receive
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
JOURNEYS: dict[str, Journey] = {}  # blueprint name -> its journey


def blueprint(journey: Journey, url_prefix: str) -> Blueprint:
    """The journey's pages: `<prefix>` (begin), `<prefix>/<slug>`, `<prefix>/call-999`
    and `<prefix>/check-your-answers`."""
    bp = Blueprint(journey.name, __name__, url_prefix=url_prefix)
    JOURNEYS[journey.name] = journey
    pages = _Pages(journey)
    bp.add_url_rule("", "begin", pages.begin, methods=["GET"])
    bp.add_url_rule("", "carry_over", pages.carry_over, methods=["POST"])
    bp.add_url_rule("/call-999", "call_999", pages.call_999, methods=["GET"])
    bp.add_url_rule(f"/{CHECK}", "check", pages.check, methods=["GET"])
    bp.add_url_rule(f"/{CHECK}", "send", pages.send, methods=["POST"])
    bp.add_url_rule("/<slug>", "step", pages.step, methods=["GET"])
    bp.add_url_rule("/<slug>", "save_step", pages.save_step, methods=["POST"])
    return bp


def rerender(problem: str) -> str | None:
    """A step re-shown with what was just posted and a problem (an expired form, too many
    attempts), for the app's error handlers; None when the request was not a journey's."""
    journey = JOURNEYS.get(request.blueprint or "")
    if request.method != "POST" or journey is None:
        return None
    slug = (request.view_args or {}).get("slug")
    if slug in journey.by_slug:
        current = journey.by_slug[slug]
        posted, _ = take(current, request.form)
        return _Pages(journey).render(current, posted, problem=problem)
    return render_template("error.html", code=400)


class _Pages:
    """The views of one journey (bound methods, registered by `blueprint`)."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        self.name = journey.name

    def begin(self) -> ResponseReturnValue:
        """The entry: a draft already sent is forgotten, so this is a new one."""
        draft = drafts.load(deps(), self.name)
        if draft is not None and draft.sent:
            drafts.clear(deps(), self.name)
        return redirect(self._url(self.journey.first), 303)

    def carry_over(self) -> ResponseReturnValue:
        """A whole form posted at once to the entry — a one-page form left open in a browser
        across the upgrade to steps: nothing typed is lost. The answers become a new sealed
        draft (names no step asks are dropped) and the person goes on at the first page
        still unanswered, or at check your answers; nothing is sent until they say so."""
        answers: Answers = {}
        for current in self.journey.steps:
            posted, _ = take(current, request.form)
            answers = merge(answers, current, posted)
        try:
            draft = drafts.Draft()
            draft.answers = answers
            drafts.save(deps(), draft, self.name)
        except StoreUnavailable as exc:
            logger.warning("draft not saved: store unavailable", extra={"error": str(exc)})
            return (self.render(self._step(self.journey.first), {}, problem="unavailable"),
                    503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        return redirect(self._url(self.journey.first_unfinished(answers) or CHECK), 303)

    def step(self, slug: str) -> ResponseReturnValue:
        current = self._step(slug)
        try:
            draft = drafts.load(deps(), self.name)
        except StoreUnavailable:
            return (self.render(current, {}, problem="unavailable"), 503,
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})
        if draft is None and slug != self.journey.first:
            return self._timed_out()
        answers = draft.answers if draft else {}
        return self.render(current, answers, problem="timed_out"
                           if request.args.get("problem") == "timed_out" else "")

    def save_step(self, slug: str) -> ResponseReturnValue:
        journey, current = self.journey, self._step(slug)
        posted, strays = take(current, request.form)
        if strays:  # a tampered post: refused, nothing kept
            return self.render(current, posted,
                               errors=page_errors(strays, current.fields)), 422
        try:
            draft = drafts.load(deps(), self.name)
            if draft is None and slug != journey.first:
                return self._timed_out()
            draft = draft or drafts.Draft()
            answers = merge(draft.answers, current, posted)
            if draft.sent and answers != draft.answers:  # changed after sending: a new one
                draft = drafts.Draft()
            draft.answers = answers
            drafts.save(deps(), draft, self.name)
        except StoreUnavailable as exc:  # nothing kept: the page keeps what was typed
            logger.warning("draft not saved: store unavailable", extra={"error": str(exc)})
            return (self.render(current, posted, problem="unavailable"), 503,
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})
        errors = journey.step_errors(current, answers)
        if errors:
            return self.render(current, answers, errors=errors), 422
        if slug == journey.first and journey.emergency(answers):
            return redirect(url_for(f"{self.name}.call_999"), 303)
        following = journey.next_slug(slug, answers)
        if request.args.get("change") and journey.first_unfinished(answers) is None:
            following = CHECK
        return redirect(self._url(following), 303)

    def call_999(self) -> ResponseReturnValue:
        """The 999 gate: after the first page says someone is in danger."""
        if drafts.load(deps(), self.name) is None:
            return self._timed_out()
        first = self.journey.first
        return render_template("call_999.html", flow=self.name, noun=self.journey.noun,
                               back=self._url(first),
                               next=self._url(self.journey.next_slug(first, {})))

    def check(self) -> ResponseReturnValue:
        draft = drafts.load(deps(), self.name)
        if draft is None:
            return self._timed_out()
        unfinished = self.journey.first_unfinished(draft.answers)
        if unfinished:
            return redirect(self._url(unfinished), 303)
        return self.render_check(draft.answers)

    def send(self) -> ResponseReturnValue:
        """Send the draft. Its Idempotency-Key is the draft's: sending it twice (a double
        click, Back and send again) makes one case and shows the same reference."""
        journey = self.journey
        try:
            draft = drafts.load(deps(), self.name)
        except StoreUnavailable as exc:  # the answers wait, sealed, for the next try
            logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
            return (self.render_check(None, problem="unavailable"), 503,
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})
        if draft is None:
            return self._timed_out()
        unfinished = journey.first_unfinished(draft.answers)
        if unfinished:
            return redirect(self._url(unfinished), 303)
        try:
            data = journey.submission(draft.answers)
            receipt = receive(journey.kind, data, deps(), via="intake-form",
                              idempotency_key=f"form:{draft.submission_id}")
        except ValidationError as exc:  # a district the force no longer has, say
            messages = exc.messages if isinstance(exc.messages, dict) \
                else {"_schema": exc.messages}
            flat = flatten_errors(messages)
            current = journey.by_slug[journey.owner(next(iter(flat)))]
            return self.render(current, draft.answers,
                               errors=page_errors(flat, current.fields)), 422
        except IdempotencyConflict:  # sent, then changed: this is a new one
            draft = drafts.Draft(answers=draft.answers)
            drafts.save(deps(), draft, self.name)
            return self.render_check(draft.answers, problem="changed"), 409
        except StoreUnavailable as exc:
            logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
            return (self.render_check(draft.answers, problem="unavailable"), 503,
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})
        draft.sent = True
        try:
            drafts.save(deps(), draft, self.name)
        except StoreUnavailable:  # stored and announced: a replay of the draft still finds it
            logger.warning("draft not marked sent: store unavailable")
        g.liaison_received = True
        return (confirmation(receipt, journey.kind.value,
                             discreet=journey.discreet(draft.answers)), 200, NO_STORE)

    def render(self, current: Step, answers: Answers, *,
               errors: dict[str, list[str]] | None = None, problem: str = "") -> str:
        journey = self.journey
        previous = journey.previous_slug(current.slug, answers)
        back = self._url(previous) if previous else url_for("pages.start")
        form = MultiDict([(k, v) for k, values in answers.items() for v in values])
        return render_template(
            f"{self.name}/{current.slug.replace('-', '_')}.html", step=current,
            flow=self.name, noun=journey.noun, number=journey.number(current.slug),
            total=journey.total,
            back=back, form=form, errors=errors or {},
            anchors={k: journey.anchor(k) for k in errors or {}}, problem=problem,
            change=bool(request.args.get("change")),
            ttl_minutes=deps().settings.draft_ttl // 60, **form_context())

    def render_check(self, answers: Answers | None, *, problem: str = "") -> str:
        """Check your answers; with no answers (Redis unreachable) just the problem and the
        send button, to try again."""
        journey = self.journey
        last = journey.previous_slug(CHECK, answers or {}) or journey.first
        return render_template(
            "check_your_answers.html", flow=self.name, noun=journey.noun,
            rows=journey.summary(answers, answer_labels()) if answers is not None else [],
            number=journey.total, total=journey.total,
            back=self._url(last if answers is not None else journey.first),
            problem=problem, errors={},
            emergency=journey.emergency(answers) if answers is not None else False,
            retry_after=RETRY_AFTER_SECONDS, ttl_minutes=deps().settings.draft_ttl // 60)

    def _url(self, slug: str) -> str:
        if slug == CHECK:
            return url_for(f"{self.name}.check")
        return url_for(f"{self.name}.step", slug=slug)

    def _step(self, slug: str) -> Step:
        if slug not in self.journey.by_slug:
            raise NotFound()
        return self.journey.by_slug[slug]

    def _timed_out(self) -> ResponseReturnValue:
        return redirect(url_for(f"{self.name}.step", slug=self.journey.first,
                                problem="timed_out"), 303)
