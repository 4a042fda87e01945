"""Public pages: start, the two forms, confirmation; health checks; HTML error pages."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from services.intake.forms import contact_is_blank, flatten_errors, form_to_payload
from services.intake.handlers import IdempotencyConflict, receive
from shared.bootstrap import Deps
from shared.domain.languages import LANGUAGES, OTHER
from shared.domain.model import CaseKind, ContactChannel, HateStrand, ReporterRole
from shared.schemas import CallbackSchema, ReportSchema
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
RATE_LIMIT_RETRY_AFTER = 60

bp = Blueprint("pages", __name__)

FORMS = {  # schema instances built once (they keep no per-load state)
    CaseKind.REPORT: ("report.html", ReportSchema()),
    CaseKind.CALLBACK: ("callback.html", CallbackSchema()),
}
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


def _deps() -> Deps:
    deps: Deps = current_app.extensions["liaison"]
    return deps


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("start.html")


@bp.get("/report")
def report_form() -> ResponseReturnValue:
    return _render_form(CaseKind.REPORT, MultiDict())


@bp.post("/report")
def report_submit() -> ResponseReturnValue:
    return _submit(CaseKind.REPORT)


@bp.get("/callback")
def callback_form() -> ResponseReturnValue:
    return _render_form(CaseKind.CALLBACK, MultiDict())


@bp.post("/callback")
def callback_submit() -> ResponseReturnValue:
    return _submit(CaseKind.CALLBACK)


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


def _submit(kind: CaseKind) -> ResponseReturnValue:
    form = request.form
    template, schema = FORMS[kind]
    drop_contact = kind is CaseKind.REPORT and (
        form.get("anonymous") == "on" or (form.get("consent_to_contact") != "on"
                                          and contact_is_blank(form)))
    try:
        data = schema.load(form_to_payload(form, drop_contact=drop_contact))
        receipt = receive(kind, data, _deps(), idempotency_key=_submission_id(form),
                          via="intake-form")
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return _render_form(kind, form, errors=flatten_errors(messages)), 422
    except IdempotencyConflict:
        # The same form was changed and sent again after a success: treat it as new.
        fresh = form.copy()
        fresh["submission_id"] = uuid.uuid4().hex
        return _render_form(kind, fresh, problem="changed"), 409
    except StoreUnavailable as exc:  # unreachable, or refusing writes: nothing was stored
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        return (_render_form(kind, form, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return render_template("confirmation.html", receipt=receipt, kind=kind.value)


def _submission_id(form: MultiDict[str, str]) -> str | None:
    value = form.get("submission_id", "")
    return f"form:{value}" if len(value) == 32 and value.isalnum() else None


def _render_form(kind: CaseKind, form: MultiDict[str, str], *,
                 errors: dict[str, list[str]] | None = None, problem: str = "") -> str:
    template, _ = FORMS[kind]
    values = form.copy()
    if not values.get("submission_id"):
        values["submission_id"] = uuid.uuid4().hex
    return render_template(
        template, form=values, errors=errors or {}, problem=problem,
        districts=_deps().force.choices(), force_name=_deps().force.name,
        strands=STRAND_LABELS, roles=ROLE_LABELS, channels=CHANNEL_LABELS, times=TIME_LABELS,
        prefer_times={k: v for k, v in TIME_LABELS.items() if k != "any_time"},
        retry_after=RETRY_AFTER_SECONDS, languages=LANGUAGE_CHOICES,
    )


def _form_kind() -> CaseKind | None:
    return {"/report": CaseKind.REPORT, "/callback": CaseKind.CALLBACK}.get(request.path)


def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    kind = _form_kind()
    if kind is None:
        return _error_page(400)
    return _render_form(kind, request.form, problem="expired"), 400


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
    kind = _form_kind()
    if error.code == 429 and kind is not None and request.method == "POST":
        return _render_form(kind, request.form, problem="rate_limited"), 429
    return _error_page(error.code or 500)


def _error_page(code: int) -> ResponseReturnValue:
    return render_template("error.html", code=code), code


def accepted(response: Response) -> bool:
    """A submission that was taken (a confirmation): it counts towards LIAISON_RATE_LIMIT."""
    return response.status_code < 400


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
    limiter.limit(rate, methods=["POST"], deduct_when=accepted)(bp)
    limiter.limit(failed_rate, methods=["POST"], deduct_when=failed, scope="failed")(bp)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_failed)


def register_error_pages(app: Flask, api_handler: Any) -> None:
    """HTML errors for pages, JSON (flask-smorest's) for /api/."""
    app.extensions["liaison_api_errors"] = api_handler
    app.register_error_handler(HTTPException, _http_error)
