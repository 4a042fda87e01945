"""Public pages: start, the two forms, confirmation, check my report; health checks; HTML
error pages."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from services.intake import drafts, report
from services.intake.api import check_limits, limit_view
from services.intake.checks import NO_MATCH, check_status
from services.intake.context import NO_STORE, RETRY_AFTER_SECONDS, confirmation, form_context
from services.intake.forms import flatten_errors, form_to_payload
from services.intake.handlers import IdempotencyConflict, receive
from services.intake.messages import page_errors
from shared.bootstrap import Deps
from shared.domain.model import CaseKind
from shared.schemas import CallbackSchema, StatusQuerySchema
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RATE_LIMIT_RETRY_AFTER = 60

bp = Blueprint("pages", __name__)

CALLBACK = CallbackSchema()  # built once (a schema keeps no per-load state)
# The callback form's questions in page order (its error summary follows it); a group's
# errors link to its first input.
CALLBACK_ORDER = (
    "in_danger", "contact.name", "contact.pronouns", "contact.channels", "contact.phone",
    "contact.email", "contact.safe_times", "contact.voicemail_ok", "contact.shared_device",
    "contact.discreet", "home_area.postcode", "home_area.district", "reason",
    "preferred_times", "needs.language", "needs.language_other", "needs.bsl_interpreter")
CALLBACK_ANCHORS = {
    "contact": "contact-name", "home_area": "home-area-postcode",
    "contact.channels": "contact-channels-phone", "contact.safe_times":
    "contact-safe-times-any-time", "contact.voicemail_ok": "contact-voicemail-ok-yes",
    "contact.shared_device": "contact-shared-device-yes",
    "contact.discreet": "contact-discreet-yes", "preferred_times":
    "preferred-times-weekday-daytime", "needs": "needs-language"}
STATUS_QUERY = StatusQuerySchema()


def _deps() -> Deps:
    deps: Deps = current_app.extensions["liaison"]
    return deps


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("start.html", force_name=_deps().force.name,
                           ttl_minutes=_deps().settings.draft_ttl // 60)


@bp.get("/callback")
def callback_form() -> ResponseReturnValue:
    return _render_callback(MultiDict())


@bp.post("/callback")
def callback_submit() -> ResponseReturnValue:
    return _submit_callback()


@bp.post("/exit")
def exit_page() -> ResponseReturnValue:
    """"Exit this page" (sent as a beacon as the page leaves): forget the draft now rather
    than when it expires. Nothing to show: the browser has already gone."""
    try:
        drafts.clear(_deps())
    except StoreUnavailable:
        pass  # it expires on its own (LIAISON_DRAFT_TTL)
    return "", 204


@bp.get("/check")
def check_form() -> ResponseReturnValue:
    return _render_check(MultiDict()), 200, NO_STORE


@bp.post("/check")
def check_submit() -> ResponseReturnValue:
    """The status for a reference and check code; the code is never shown back."""
    form = request.form
    typed = {name: value for name in ("reference", "check_code")
             if (value := (form.get(name) or "").strip())}
    try:
        query = STATUS_QUERY.load(typed)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return _render_check(form, errors=flatten_errors(messages)), 422, NO_STORE
    try:
        answer = check_status(query["reference"], query["check_code"], _deps(),
                              via="intake-check")
    except StoreUnavailable as exc:
        logger.warning("status not checked: store unavailable", extra={"error": str(exc)})
        return (_render_check(form, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS), **NO_STORE})
    if answer is None:
        return _render_check(form, errors={"reference": [NO_MATCH]}), 404, NO_STORE
    return render_template("check.html", answer=answer, form=MultiDict(), errors={},
                           problem=""), 200, NO_STORE


def _render_check(form: MultiDict[str, str], *, errors: dict[str, list[str]] | None = None,
                  problem: str = "") -> str:
    # the reference comes back for correcting; the check code never does
    return render_template("check.html", answer=None, errors=errors or {}, problem=problem,
                           form=MultiDict({"reference": form.get("reference", "")}))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready when Redis takes a write (a tiny SET with a TTL): a server that answers PING
    but refuses writes (out of memory, read-only) would store no report."""
    try:
        _deps().store.writable()
    except StoreUnavailable as exc:
        logger.warning("not ready: store unavailable", extra={"error": str(exc)})
        return {"status": "unavailable", "redis": exc.reason}, 503
    return {"status": "ok", "redis": "ok"}


def _submit_callback() -> ResponseReturnValue:
    form = request.form
    try:
        payload = form_to_payload(form)
        # its groups present, so an empty form gets every one of their errors at once
        payload.setdefault("contact", {})
        payload.setdefault("home_area", {})
        data = CALLBACK.load(payload)
        receipt = receive(CaseKind.CALLBACK, data, _deps(),
                          idempotency_key=_submission_id(form), via="intake-form")
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return _render_callback(form, errors=flatten_errors(messages)), 422
    except IdempotencyConflict:
        # The same form was changed and sent again after a success: treat it as new.
        fresh = form.copy()
        fresh["submission_id"] = uuid.uuid4().hex
        return _render_callback(fresh, problem="changed"), 409
    except StoreUnavailable as exc:  # unreachable, or refusing writes: nothing was stored
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        return (_render_callback(form, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    g.liaison_received = True
    return confirmation(receipt, "callback", discreet=data["contact"].get("discreet", False)), \
        200, NO_STORE


def _submission_id(form: MultiDict[str, str]) -> str | None:
    value = form.get("submission_id", "")
    return f"form:{value}" if len(value) == 32 and value.isalnum() else None


def _render_callback(form: MultiDict[str, str], *,
                     errors: dict[str, list[str]] | None = None, problem: str = "") -> str:
    values = form.copy()
    if not values.get("submission_id"):
        values["submission_id"] = uuid.uuid4().hex
    worded = page_errors(errors or {}, CALLBACK_ORDER)
    return render_template(
        "callback.html", form=values, errors=worded, problem=problem,
        anchors={k: CALLBACK_ANCHORS.get(k, k.replace(".", "-").replace("_", "-"))
                 for k in worded}, **form_context())


def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    if request.path == "/check":
        return _render_check(request.form, problem="expired"), 400
    if request.path == "/callback":
        return _render_callback(request.form, problem="expired"), 400
    step = report.rerender("expired")
    return (step, 400) if step is not None else _error_page(400)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    response = current_app.make_response(_http_error_body(error))
    if error.code == 429:
        response.headers["Retry-After"] = str(RATE_LIMIT_RETRY_AFTER)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:  # RFC 9110 asks for it
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _http_error_body(error: HTTPException) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        handler = current_app.extensions["liaison_api_errors"]
        result: ResponseReturnValue = handler(error)
        return result
    if error.code == 429 and request.path == "/check" and request.method == "POST":
        return _render_check(request.form, problem="rate_limited"), 429
    if error.code == 429 and request.path == "/callback" and request.method == "POST":
        return _render_callback(request.form, problem="rate_limited"), 429
    step = report.rerender("rate_limited") if error.code == 429 else None
    return (step, 429) if step is not None else _error_page(error.code or 500)


def _error_page(code: int) -> ResponseReturnValue:
    return render_template("error.html", code=code), code


def accepted(response: Response) -> bool:
    """A submission that was taken (a confirmation): it counts towards LIAISON_RATE_LIMIT.
    A step of the report that was saved is not one: only sending the report is."""
    return response.status_code < 400 and bool(g.get("liaison_received"))


def failed(response: Response) -> bool:
    """A submission the person has to correct (invalid, expired form, changed after sending):
    it counts towards LIAISON_RATE_LIMIT_FAILED. A 429 (already refused) and a 5xx (our
    fault) count towards neither."""
    return 400 <= response.status_code < 500 and response.status_code != 429


def register(app: Flask, limiter: Limiter, rate: str, failed_rate: str) -> None:
    """Mount the pages with HTML error pages and two limits on submissions: `rate` on the
    accepted ones, `failed_rate` (higher) on the ones sent back to be corrected, so that
    someone fixing mistakes in a form is not turned away. Both are checked before each
    submission; each is counted after the answer, when it applies."""
    # shared by the callback form and the report's pages: one count per address for both
    submissions = limiter.shared_limit(rate, scope="submissions", methods=["POST"],
                                       deduct_when=accepted)
    corrections = limiter.shared_limit(failed_rate, scope="submissions-failed",
                                       methods=["POST"], deduct_when=failed)
    for blueprint in (bp, report.bp):
        submissions(blueprint)
        corrections(blueprint)
        app.register_blueprint(blueprint)
    # look-ups have their own limits (shared with the API's), not the submissions' ones
    for decorate in check_limits(limiter, app.extensions["liaison_settings"]):
        limit_view(app, "pages.check_submit", decorate)
    app.register_error_handler(CSRFError, _csrf_failed)


def register_error_pages(app: Flask, api_handler: Any) -> None:
    """HTML errors for pages, JSON (flask-smorest's) for /api/."""
    app.extensions["liaison_api_errors"] = api_handler
    app.register_error_handler(HTTPException, _http_error)
