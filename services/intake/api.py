"""The partner JSON API: POST /api/v1/reports and /api/v1/callbacks (OpenAPI from schemas)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_smorest import Api, Blueprint, abort
from marshmallow import ValidationError
from swagger_ui_bundle import swagger_ui_path

from services.intake.handlers import IdempotencyConflict, IntakeDeps, receive
from shared.domain.model import CaseKind
from shared.schemas import CallbackSchema, ReceiptSchema, ReportSchema
from shared.store import StoreUnavailable

RETRY_AFTER_SECONDS = 30
# Schema instances, built once: webargs would build a schema (and its nested ones) per
# request from a class. Marshmallow schemas keep no per-load state, so sharing is safe.
REPORT, CALLBACK, RECEIPT = ReportSchema(), CallbackSchema(), ReceiptSchema()
_IDEM = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_IDEM_DOC = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "pattern": _IDEM.pattern},
    "description": "Resend with the same key after a timeout or 503: the same key and body "
                   "return the same case; the same key with another body is 409.",
}
_ERRORS = {
    409: "Idempotency-Key already used for a different submission",
    413: "Body larger than the limit",
    415: "Content-Type must be application/json",
    422: "Invalid fields: `errors.json` names each field and what is wrong",
    429: "Too many submissions from this address; retry later",
    503: "Storage unavailable; nothing was saved. Retry after `Retry-After` seconds",
}

blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Submissions from partners' forms (third-party reporting centres).")


@blp.before_request
def _json_only() -> None:
    if request.method == "POST" and request.mimetype != "application/json":
        abort(415, message="Send the body as JSON with Content-Type: application/json.")


@blp.route("/reports", methods=["POST"])
@blp.arguments(REPORT)
@blp.response(201, RECEIPT)
@blp.doc(parameters=[_IDEM_DOC], responses={str(k): {"description": v} for k, v in _ERRORS.items()})
def post_report(data: dict[str, Any]) -> ResponseReturnValue:
    """Report a hate crime or incident.

    Happening now or in danger: the response leads with "call 999 now".
    """
    return _receive(CaseKind.REPORT, data)


@blp.route("/callbacks", methods=["POST"])
@blp.arguments(CALLBACK)
@blp.response(201, RECEIPT)
@blp.doc(parameters=[_IDEM_DOC], responses={str(k): {"description": v} for k, v in _ERRORS.items()})
def post_callback(data: dict[str, Any]) -> ResponseReturnValue:
    """Ask a liaison officer to make contact for non-urgent advice."""
    return _receive(CaseKind.CALLBACK, data)


def _receive(kind: CaseKind, data: dict[str, Any]) -> ResponseReturnValue:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEM.match(key):
        abort(422, errors={"headers": {"Idempotency-Key": [
            "Use 8 to 128 letters, digits, '.', '_', ':' or '-'."]}})
    deps: IntakeDeps = current_app.extensions["liaison"]
    try:
        receipt = receive(kind, data, deps, idempotency_key=key)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    except IdempotencyConflict as exc:
        abort(409, message=str(exc))
    except StoreUnavailable:
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
