"""Public pages: start, check my report, exit; health checks; HTML error pages. The two
forms (report, callback) are stepped journeys: `report`, `callback`, `stepped`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from services.intake import callback, drafts, report, stepped
from services.intake.api import check_limits, limit_view
from services.intake.checks import NO_MATCH, check_status
from services.intake.context import NO_STORE, RETRY_AFTER_SECONDS
from shared.bootstrap import Deps
from shared.forms import flatten_errors
from shared.schemas import StatusQuerySchema
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RATE_LIMIT_RETRY_AFTER = 60

bp = Blueprint("pages", __name__)

STATUS_QUERY = StatusQuerySchema()


def _deps() -> Deps:
    deps: Deps = current_app.extensions["liaison"]
    return deps


@bp.get("/")
def start() -> ResponseReturnValue:
    return render_template("start.html", force_name=_deps().force.name,
                           ttl_minutes=_deps().settings.draft_ttl // 60)


@bp.post("/exit")
def exit_page() -> ResponseReturnValue:
    """"Exit this page" (sent as a beacon as the page leaves): forget the drafts (report and
    callback) now rather than when they expire. Nothing to show: the browser has already gone."""
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


def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    if request.path == "/check":
        return _render_check(request.form, problem="expired"), 400
    step = stepped.rerender("expired")
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
    step = stepped.rerender("rate_limited") if error.code == 429 else None
    return (step, 429) if step is not None else _error_page(error.code or 500)


def _error_page(code: int) -> ResponseReturnValue:
    return render_template("error.html", code=code), code


def accepted(response: Response) -> bool:
    """A submission that was taken (a confirmation): it counts towards LIAISON_RATE_LIMIT.
    A step of a stepped form that was saved is not one: only sending it is."""
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
    # shared by the report's and the callback's pages: one count per address for both
    submissions = limiter.shared_limit(rate, scope="submissions", methods=["POST"],
                                       deduct_when=accepted)
    corrections = limiter.shared_limit(failed_rate, scope="submissions-failed",
                                       methods=["POST"], deduct_when=failed)
    for blueprint in (bp, report.bp, callback.bp):
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
