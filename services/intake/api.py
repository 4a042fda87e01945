"""The partner JSON API: POST /api/v1/reports and /api/v1/callbacks (OpenAPI from schemas),
with an optional partner key (`Authorization: Bearer lp_...`), and POST /api/v1/status."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, cast

from flask import Flask, Response, current_app, g, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import abort  # flask_smorest's abort, typed NoReturn

from services.intake.checks import NO_MATCH, check_status
from shared.bootstrap import Deps
from shared.config import Settings
from shared.domain.checks import WITH_OFFICER
from shared.domain.model import CaseKind
from shared.domain.references import normalise_reference
from shared.jsonapi import RETRY_AFTER, Api, Blueprint, ErrorResponses, error_response
from shared.receiving import IdempotencyConflict, receive
from shared.schemas import (
    CallbackSchema,
    ReceiptSchema,
    ReportSchema,
    StatusQuerySchema,
    StatusSchema,
)
from shared.store import StoreUnavailable

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# Schema instances, built once: webargs would build a schema (and its nested ones) per
# request from a class. Marshmallow schemas keep no per-load state, so sharing is safe.
REPORT, CALLBACK, RECEIPT = ReportSchema(), CallbackSchema(), ReceiptSchema()
STATUS_QUERY, STATUS = StatusQuerySchema(), StatusSchema()
PARTNER_SCHEME = "partnerKey"
# Either no Authorization header (the public) or a live partner key: never a fallback.
_SECURITY: list[dict[str, list[str]]] = [{}, {PARTNER_SCHEME: []}]
_REALM = {"WWW-Authenticate": 'Bearer realm="liaison-partners"'}
_IDEM = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_IDEM_DOC = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "pattern": _IDEM.pattern},
    "description": "Resend with the same key after a timeout or 503: the same key and body "
                   "return the same case (200); the same key with another body is 409.",
}
# What any submission may be answered, besides 201 (the plugin adds them to each operation).
ERRORS = ErrorResponses(
    every={503: error_response("Not stored for certain (storage unavailable, or under "
                               "`replicated` durability not yet on enough replicas). "
                               "Retry after `Retry-After` seconds with the same "
                               "Idempotency-Key: it never makes a second case",
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
    "401": error_response("An Authorization header was sent but is not a live partner key "
                           "(malformed, unknown or revoked); nothing was stored. Send no "
                           "Authorization header to submit as the public"),
    "409": error_response("Idempotency-Key already used for a different submission"),
    "429": error_response("Too many submissions from this address, or with this partner key "
                          "(`LIAISON_PARTNER_RATE_LIMIT`); retry after `Retry-After` seconds",
                          headers=RETRY_AFTER),
}
_STATUS_RESPONSES = {
    "404": error_response("No report has this reference and check code (the same answer "
                          "whichever of the two is wrong)"),
    "429": error_response("Too many look-ups from this address, or for this reference; "
                          "retry after `Retry-After` seconds", headers=RETRY_AFTER),
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
                description="Submissions from partners' forms (third-party reporting centres), "
                            "and the status of a report by its reference and check code.")


@blp.before_request
def _json_only() -> None:
    if request.method == "POST" and request.mimetype != "application/json":
        abort(415, message="Send the body as JSON with Content-Type: application/json.")


@blp.route("/reports", methods=["POST"])
@blp.arguments(REPORT, example=REPORT_EXAMPLE)
@blp.response(201, RECEIPT)
@blp.alt_response(200, schema=RECEIPT, description=_REPLAY)
@blp.doc(parameters=[_IDEM_DOC], responses=_RESPONSES, security=_SECURITY)
def post_report(data: dict[str, Any]) -> ResponseReturnValue:
    """Report a hate crime or incident.

    Happening now or in danger: the response leads with "call 999 now".
    """
    return _receive(CaseKind.REPORT, data)


@blp.route("/callbacks", methods=["POST"])
@blp.arguments(CALLBACK, example=CALLBACK_EXAMPLE)
@blp.response(201, RECEIPT)
@blp.alt_response(200, schema=RECEIPT, description=_REPLAY)
@blp.doc(parameters=[_IDEM_DOC], responses=_RESPONSES, security=_SECURITY)
def post_callback(data: dict[str, Any]) -> ResponseReturnValue:
    """Ask a liaison officer to make contact for non-urgent advice."""
    return _receive(CaseKind.CALLBACK, data)


@blp.route("/status", methods=["POST"])
@blp.arguments(STATUS_QUERY, example={"reference": "K7XM-4QPA-Q", "check_code": "K7XMQ-4PAR9"})
@blp.response(200, STATUS, example={"status": WITH_OFFICER, "next_update_by": "2026-12-14"})
@blp.doc(responses=_STATUS_RESPONSES, security=[{}])
def post_status(data: dict[str, str]) -> ResponseReturnValue:
    """Check how a report is going, with its reference and check code.

    The answer is the status only ("received", "with a liaison officer", "an officer has been
    in touch", "closed") and the date of the next update if one is set: never names, places
    or what was reported. A wrong reference and a wrong code get the same 404.
    """
    deps: Deps = current_app.extensions["liaison"]
    try:
        answer = check_status(data["reference"], data["check_code"], deps, via="intake-api")
    except StoreUnavailable as exc:
        logger.warning("status not checked: store unavailable", extra={"error": str(exc)})
        abort(503, message=f"We could not check this just now. Retry in "
                           f"{RETRY_AFTER_SECONDS} seconds.",
              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if answer is None:
        abort(404, message=NO_MATCH)
    return answer.as_dict()


def _receive(kind: CaseKind, data: dict[str, Any]) -> ResponseReturnValue:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEM.fullmatch(key):  # "$" alone would allow a final "\n"
        abort(422, errors={"headers": {"Idempotency-Key": [
            "Use 8 to 128 letters, digits, '.', '_', ':' or '-'."]}})
    deps: Deps = current_app.extensions["liaison"]
    try:
        partner = _partner()
        receipt = receive(kind, data, deps, idempotency_key=key, via="intake-api",
                          partner=partner)
    except ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    except IdempotencyConflict as exc:
        abort(409, message=str(exc))
    except StoreUnavailable as exc:  # unreachable, refusing writes, or not replicated
        logger.warning("case not stored: store unavailable", extra={"error": str(exc)})
        abort(503, message="We could not confirm this is stored safely just now. "
                           f"Retry in {RETRY_AFTER_SECONDS} seconds with the same "
                           "Idempotency-Key: a retry never makes a second case.",
              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return receipt.as_dict(), 200 if receipt.duplicate else 201


def _partner() -> str:
    """The reporting centre whose live key came with the request, "" for none; a header
    that is not a live partner key is a 401 (never the public path instead)."""
    name = _resolved_partner()
    if name is None:
        _unauthorised("This partner key is not valid: it is malformed, unknown or has been "
                      "revoked, and nothing was stored. Ask the force for a new key "
                      "(`Authorization: Bearer lp_...`), or send no Authorization header.")
    return name


def _resolved_partner() -> str | None:
    """"" without an Authorization header, the partner's name for a live key, else None;
    once per request (the rate limiter asks first). Raises StoreUnavailable."""
    if "liaison_partner" not in g:
        header = request.headers.get("Authorization")
        if header is None:
            g.liaison_partner = ""
        else:
            scheme, _, key = header.partition(" ")
            deps: Deps = current_app.extensions["liaison"]
            g.liaison_partner = deps.store.partners.name_for_key(key.strip()) \
                if scheme.lower() == "bearer" else None
    partner: str | None = g.liaison_partner
    return partner


def _unauthorised(message: str) -> NoReturn:
    abort(401, message=message, headers=_REALM)


def _live_partner() -> bool:
    """Whether the request carries a live partner key (Redis down: treat as not)."""
    try:
        return bool(_resolved_partner())
    except StoreUnavailable:
        return False


def _partner_bucket() -> str:
    return f"partner:{_resolved_partner()}"


def _reference_bucket() -> str:
    return f"reference:{_typed_reference()}"


def _typed_reference() -> str | None:
    """The well-formed reference a look-up (page or API) asks about, else None."""
    body = request.get_json(silent=True) if request.is_json else request.form
    value = body.get("reference") if isinstance(body, Mapping) else None
    return normalise_reference(value) if isinstance(value, str) else None


def _not_found(response: Response) -> bool:
    return response.status_code == 404


def check_limits(limiter: Limiter, settings: Settings) -> list[Any]:
    """The two limits on status look-ups, for the page and the API alike: every look-up
    per address (LIAISON_CHECK_RATE_LIMIT), and look-ups that found nothing per reference
    (LIAISON_CHECK_REFERENCE_LIMIT) — so guessing one reference's code from many addresses
    runs out as fast as from one."""
    return [
        limiter.shared_limit(settings.check_rate_limit, scope="check-address",
                             key_func=get_remote_address, methods=["POST"]),
        limiter.shared_limit(settings.check_reference_limit, scope="check-reference",
                             key_func=_reference_bucket, methods=["POST"],
                             exempt_when=lambda: _typed_reference() is None,
                             deduct_when=_not_found),
    ]


def limit_view(app: Flask, endpoint: str, decorate: Callable[[Any], Any]) -> None:
    """Wrap a registered view in a route limit: Flask-Limiter checks those in its wrapper,
    so the wrapper must be what the app calls."""
    app.view_functions[endpoint] = cast(Any, decorate(app.view_functions[endpoint]))


def _docs_asset(filename: str) -> ResponseReturnValue:
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


def register(app: Flask, api: Api, limiter: Limiter, rate: str) -> None:
    """Mount the API with its rate limits and the locally served Swagger UI assets: `rate`
    per address for the public, LIAISON_PARTNER_RATE_LIMIT per key for a partner (its
    requests skip the per-address one), and the look-up limits on /status alone."""
    settings: Settings = app.extensions["liaison_settings"]
    limiter.limit(rate, methods=["POST"], exempt_when=_live_partner)(blp)
    api.spec.components.security_scheme(PARTNER_SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "A third-party reporting centre's key (`lp_...`, from `liaison "
                       "partners add`): the case is attributed to the centre. Optional: "
                       "without it a submission comes from the public."})
    api.register_blueprint(blp)
    # route limits are checked by the limiter's wrapper: it must be the registered view
    for endpoint in ("api.post_report", "api.post_callback"):
        limit_view(app, endpoint, limiter.limit(
            settings.partner_rate_limit, key_func=_partner_bucket, methods=["POST"],
            exempt_when=lambda: not _live_partner(), override_defaults=False))
    for decorate in check_limits(limiter, settings):
        limit_view(app, "api.post_status", decorate)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "docs_asset", _docs_asset)
