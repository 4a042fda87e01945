"""101 call handler pages: record a callback request or a report taken by phone.

One page per kind, each a script for the handler to read out: the 999 gate first, then the
caller's answers, then the contact-safety questions. Posting it makes the case exactly as
the public API would (`calls.record`), attributed to the handler; the reference and check
code are then shown large, to read back. Call handlers and supervisors may use the pages.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from services.console import calls
from services.console.access import CALL_TAKERS, current_web_staff, page_for
from services.console.auth import current_deps
from shared.domain.languages import LANGUAGES
from shared.domain.model import CaseKind
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store"}

bp = Blueprint("call", __name__, url_prefix="/call")


@bp.get("/")
@page_for(*CALL_TAKERS)
def start() -> ResponseReturnValue:
    """What is the caller ringing about? A callback request or a report."""
    return render_template("call/start.html")


@bp.get("/callback")
@page_for(*CALL_TAKERS)
def callback() -> ResponseReturnValue:
    return _form(CaseKind.CALLBACK, MultiDict({"call_id": calls.new_call_id()}))


@bp.post("/callback")
@page_for(*CALL_TAKERS)
def record_callback() -> ResponseReturnValue:
    return _record(CaseKind.CALLBACK)


@bp.get("/report")
@page_for(*CALL_TAKERS)
def report() -> ResponseReturnValue:
    return _form(CaseKind.REPORT, MultiDict({"call_id": calls.new_call_id()}))


@bp.post("/report")
@page_for(*CALL_TAKERS)
def record_report() -> ResponseReturnValue:
    return _record(CaseKind.REPORT)


def _record(kind: CaseKind) -> ResponseReturnValue:
    form = request.form
    try:
        outcome = calls.record(kind, form, current_deps(), taken_by=current_web_staff().id)
    except StoreUnavailable as exc:  # nothing stored: the page keeps what was typed
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        return (_form(kind, form, problem="unavailable"), 503,
                {"Retry-After": str(RETRY_AFTER_SECONDS), **NO_STORE})
    if outcome.receipt is None:
        return _form(kind, form, errors=outcome.errors), 422, NO_STORE
    return render_template("call/done.html", kind=kind.value,
                           receipt=outcome.receipt), 200, NO_STORE


def _form(kind: CaseKind, form: MultiDict[str, str], *,
          errors: dict[str, list[str]] | None = None, problem: str = "") -> str:
    deps = current_deps()
    return render_template(
        f"call/{kind.value}.html", kind=kind.value, form=form, errors=errors or {},
        problem=problem, anchor=calls.anchor, question=calls.question,
        districts=deps.force.choices(), force_name=deps.force.name,
        languages=sorted(LANGUAGES.items(), key=lambda i: i[1]),
        call_id=form.get("call_id") or calls.new_call_id())


def register(app: Flask) -> None:
    app.register_blueprint(bp)
