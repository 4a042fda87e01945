"""The partner JSON API: POST /api/v1/reports and /api/v1/callbacks (OpenAPI from schemas)."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, current_app, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_smorest import abort
from marshmallow import ValidationError
from swagger_ui_bundle import swagger_ui_path

from services.intake.handlers import IdempotencyConflict, receive
from shared.bootstrap import Deps
from shared.domain.model import CaseKind
from shared.jsonapi import RETRY_AFTER, Api, Blueprint, ErrorResponses, error_response
from shared.schemas import CallbackSchema, ReceiptSchema, ReportSchema
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# Schema instances, built once: webargs would build a schema (and its nested ones) per
# request from a class. Marshmallow schemas keep no per-load state, so sharing is safe.
REPORT, CALLBACK, RECEIPT = ReportSchema(), CallbackSchema(), ReceiptSchema()
_IDEM = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_IDEM_DOC = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "pattern": _IDEM.pattern},
    "description": "Resend with the same key after a timeout or 503: the same key and body "
                   "return the same case (200); the same key with another body is 409.",
}
# What any submission may be answered, besides 201 (the plugin adds them to each operation).
ERRORS = ErrorResponses(
    every={503: error_response("Storage unavailable; nothing was saved. Retry after "
                               "`Retry-After` seconds with the same Idempotency-Key",
                               headers=RETRY_AFTER)},
    with_body={
        400: "The body is not plain JSON: malformed, not UTF-8, nested too deeply, a number "
             "too long, NaN or Infinity; `message` says which",
        413: "Body larger than the limit (`LIAISON_MAX_BODY_BYTES`), chunked or not",
        415: "Content-Type must be application/json",
        422: "Invalid fields: `errors.json` names each field and what is wrong (also for a "
             "body that fits the schema but breaks a rule it describes), `errors.headers` a "
             "malformed Idempotency-Key",
    },
    with_query={})
_RESPONSES = {
    "409": error_response("Idempotency-Key already used for a different submission"),
    "429": error_response("Too many submissions from this address; retry after "
                          "`Retry-After` seconds", headers=RETRY_AFTER),
}
_REPLAY = "The same Idempotency-Key and body again: the case already stored, nothing new"
_CONTACT = {"voicemail_ok": False, "shared_device": False, "discreet": True}
REPORT_EXAMPLE = {  # valid as documented: the docs page and generic clients start from it
    "reporter_role": "third_party_centre",
    "what_happened": "Client was followed and called slurs leaving the community centre.",
    "when": {"date": "2026-11-20", "time": "21:30", "approximate": True},
    "incident_location": {"postcode": "SG1 1AA", "description": "Queensway"},
    "hate_strands": ["sexual_orientation", "transgender_identity"],
    "threats": True, "consent_to_contact": True,
    "contact": {"name": "Rae", "pronouns": "they/them", "channels": ["email"],
                "email": "rae@example.org", "any_time": True, **_CONTACT},
}
CALLBACK_EXAMPLE = {
    "contact": {"name": "Jo", "channels": ["phone"], "phone": "07700 900456", "safe_times": [
        {"days": ["sat", "sun"], "start": "10:00", "end": "16:00"}], **_CONTACT},
    "home_area": {"district": "watford"},
    "reason": "Advice about messages I keep getting.",
    "needs": {"language": "Polish", "bsl_interpreter": False},
}

blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Submissions from partners' forms (third-party reporting centres).")


@blp.before_request
def _json_only() -> None:
    if request.method == "POST" and request.mimetype != "application/json":
        abort(415, message="Send the body as JSON with Content-Type: application/json.")


@blp.route("/reports", methods=["POST"])
@blp.arguments(REPORT, example=REPORT_EXAMPLE)
@blp.response(201, RECEIPT)
@blp.alt_response(200, schema=RECEIPT, description=_REPLAY)
@blp.doc(parameters=[_IDEM_DOC], responses=_RESPONSES)
def post_report(data: dict[str, Any]) -> ResponseReturnValue:
    """Report a hate crime or incident.

    Happening now or in danger: the response leads with "call 999 now".
    """
    return _receive(CaseKind.REPORT, data)


@blp.route("/callbacks", methods=["POST"])
@blp.arguments(CALLBACK, example=CALLBACK_EXAMPLE)
@blp.response(201, RECEIPT)
@blp.alt_response(200, schema=RECEIPT, description=_REPLAY)
@blp.doc(parameters=[_IDEM_DOC], responses=_RESPONSES)
def post_callback(data: dict[str, Any]) -> ResponseReturnValue:
    """Ask a liaison officer to make contact for non-urgent advice."""
    return _receive(CaseKind.CALLBACK, data)


def _receive(kind: CaseKind, data: dict[str, Any]) -> ResponseReturnValue:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEM.fullmatch(key):  # "$" alone would allow a final "\n"
        abort(422, errors={"headers": {"Idempotency-Key": [
            "Use 8 to 128 letters, digits, '.', '_', ':' or '-'."]}})
    deps: Deps = current_app.extensions["liaison"]
    try:
        receipt = receive(kind, data, deps, idempotency_key=key, via="intake-api")
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    except IdempotencyConflict as exc:
        abort(409, message=str(exc))
    except StoreUnavailable as exc:  # unreachable, or refusing writes: nothing was stored
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        abort(503, message="We could not store this just now and nothing was saved. "
                           f"Retry in {RETRY_AFTER_SECONDS} seconds with the same "
                           "Idempotency-Key.",
              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return receipt.as_dict(), 200 if receipt.duplicate else 201


def _docs_asset(filename: str) -> ResponseReturnValue:
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


def register(app: Flask, api: Api, limiter: Limiter, rate: str) -> None:
    """Mount the API with its rate limit and the locally served Swagger UI assets."""
    limiter.limit(rate, methods=["POST"])(blp)
    api.register_blueprint(blp)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "docs_asset", _docs_asset)
