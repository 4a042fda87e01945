"""The staff JSON API under /api/v1: officers' inbox and case actions, supervisors' views.

Every view needs a bearer token (401) and some a role (403); an officer can only see or act
on a case offered to or held by them (403). Views parse, call a handler and return what
their response schema dumps (hence `-> Any`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_smorest import abort
from werkzeug.http import HTTP_STATUS_CODES

from services.console import handlers as h
from services.console import schemas as s
from services.console.auth import (
    authenticate,
    current_deps,
    current_staff,
    officers_only,
    supervisors_only,
)
from shared.domain import consultation
from shared.jsonapi import RETRY_AFTER, Blueprint, ErrorResponses, error_response
from shared.sealing import SealingError
from shared.store import StoreUnavailable
from shared.store.routing import CaseActionError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
ACTION_STATUS = {"not_found": 404, "not_yours": 403, "illegal_transition": 409,
                 "not_due": 409, "same_officer": 409, "at_capacity": 409,
                 "officer_away": 409, "officer_off_duty": 409, "off_shift": 409,
                 "lacks_skill": 409,
                 "no_such_officer": 422, "invalid_reference": 422, "reason_needed": 422,
                 "channel_not_allowed": 422}
_MESSAGES = {
    "not_yours": "This case is not offered to or held by you.",
    "illegal_transition": "Not possible in its current state ({detail}).",
    "not_due": "The offer has not run out yet.",
    "same_officer": "The case is already with that officer.",
    "no_such_officer": "No officer with that id takes cases.",
    "invalid_reference": "Enter a case reference like K7XM-4QPA-Q.",
    "reason_needed": "This case is not with you: say why you are opening it (`purpose`).",
    "channel_not_allowed": "The reporter's contact safety profile does not allow {detail}.",
}
_DOC = {401: "No or invalid API token", 403: "Not allowed for your role, or not your case",
        404: "No such case", 409: "Not possible in the case's current state",
        422: "Invalid body: `errors.json` names each field",
        503: "Storage unavailable; retry after `Retry-After` seconds"}
# What any call may be answered besides its own statuses (the plugin adds them everywhere).
ERRORS = ErrorResponses(
    every={401: _DOC[401], 403: _DOC[403],
           503: error_response(_DOC[503], headers=RETRY_AFTER)},
    with_body={400: "The body is not plain JSON: malformed, not UTF-8, nested too deeply, a "
                    "number too long, NaN or Infinity; `message` says which",
               413: "Body larger than the limit (`LIAISON_MAX_BODY_BYTES`), chunked or not",
               415: "A body that is not Content-Type: application/json",
               422: _DOC[422]},
    with_query={422: "Invalid query: `errors.query` names each parameter"})

blp = Blueprint("staff_api", __name__, url_prefix="/api/v1",
                description="Liaison officers' and supervisors' JSON API (bearer tokens).")


def _doc(*codes: int) -> Any:
    return blp.doc(responses={str(c): {"description": _DOC[c]} for c in (401, 403, *codes)})


@blp.before_request
def _before() -> None:
    if request.method in ("POST", "PUT") and request.content_length \
            and request.mimetype != "application/json":
        abort(415, message="Send the body as JSON with Content-Type: application/json.")
    authenticate()


_OFFICER_ID = re.compile(s.OFFICER_ID)


@blp.before_request
def _officer_ids_are_well_formed() -> None:
    """Every route with an `<officer_id>`: an id that cannot be an officer's (the pattern
    of OFFICER_ID) is a 404, like an unknown one, before anything reads the store."""
    officer_id = (request.view_args or {}).get("officer_id")
    if officer_id is not None and not _OFFICER_ID.match(str(officer_id)):
        raise CaseActionError("not_found", "officer")


@blp.errorhandler(CaseActionError)
def _refused(exc: CaseActionError) -> ResponseReturnValue:
    status = ACTION_STATUS.get(exc.code, 409)
    message = f"No such {exc.detail or 'case'}." if exc.code == "not_found" else \
        _MESSAGES.get(exc.code, "Not possible now.").format(detail=exc.detail)
    body: dict[str, Any] = {"code": status, "status": HTTP_STATUS_CODES[status],
                            "message": message, "reason": exc.code}
    if isinstance(exc, h.NeedsReason):  # routing would pass them over: a reason overrides
        message = f"{exc.message} Give a reason (`reason`) to assign anyway."
        body["message"] = message
        body["errors"] = {"json": {"officer_id": [message]}}
    if exc.code == "no_such_officer":
        body["errors"] = {"json": {"officer_id": [message]}}
    if exc.code == "invalid_reference":
        body["errors"] = {"query": {"reference": [message]}}
    if exc.code == "channel_not_allowed":
        body["errors"] = {"json": {"channel": [message]}}
    if exc.code == "reason_needed":
        body["errors"] = {"query": {"purpose": [message]}}
    return body, status


@blp.errorhandler(StoreUnavailable)
def _unavailable(exc: StoreUnavailable) -> ResponseReturnValue:
    logger.warning("store unavailable", extra={"error": str(exc)})
    return ({"code": 503, "status": HTTP_STATUS_CODES[503],
             "message": f"Storage is unavailable; retry in {RETRY_AFTER_SECONDS} seconds."},
            503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


@blp.errorhandler(SealingError)
def _unsealable(exc: SealingError) -> ResponseReturnValue:
    logger.error("case could not be unsealed", extra={"path": request.path})
    return {"code": 500, "status": HTTP_STATUS_CODES[500],
            "message": "This case could not be opened with the current sealing keys."}, 500


# officers (and any staff member about themselves)
@blp.route("/me", methods=["GET"])
@blp.response(200, s.MeSchema)
@_doc()
def me() -> Any:
    """Who I am: role, status, shift, load and capacity."""
    return h.me(current_deps(), current_staff())


@blp.route("/me/cases", methods=["GET"])
@blp.response(200, s.MyCasesSchema)
@_doc()
def my_cases() -> Any:
    """My offers (with deadline) and open cases (by SLA due): routing fields only."""
    return h.my_cases(current_deps(), current_staff())


@blp.route("/me/availability", methods=["PUT"])
@blp.arguments(s.AvailabilitySchema)
@blp.response(200, s.AvailabilityResultSchema)
@_doc(422)
def my_availability(body: dict[str, Any]) -> Any:
    """Set my status; becoming available offers me the next waiting case."""
    staff = current_staff()
    return h.set_availability(current_deps(), staff, staff.id, body["status"])


@blp.route("/cases/<case_id>", methods=["GET"])
@blp.arguments(s.ReadCaseQuerySchema, location="query", as_kwargs=True)
@blp.response(200, s.CaseViewSchema)
@_doc(404, 422)
def read_case(case_id: str, purpose: str | None = None, reference: str | None = None) -> Any:
    """The full case, unsealed: contact safety profile first, then the account, log and
    notes. Officers: only a case offered to or held by them. Every read is audited; anyone
    but the case's officer says why (`purpose`, and `reference` where asked), or gets 422
    naming `purpose`."""
    reason = None
    if purpose is not None:
        try:
            reason = consultation.reason_from(purpose, reference)
        except consultation.ReasonError as exc:
            abort(422, message=exc.message, messages={"query": {exc.field: [exc.message]}})
    return h.open_case(current_deps(), current_staff(), case_id, reason)


@blp.route("/cases/<case_id>/accept", methods=["POST"])
@officers_only
@blp.response(200, s.ActionResultSchema)
@_doc(404, 409)
def accept(case_id: str) -> Any:
    """Accept a case offered to me; the first-contact SLA clock starts."""
    return h.accept(current_deps(), current_staff(), case_id)


@blp.route("/cases/<case_id>/decline", methods=["POST"])
@officers_only
@blp.arguments(s.DeclineSchema)
@blp.response(200, s.ActionResultSchema)
@_doc(404, 409, 422)
def decline(body: dict[str, Any], case_id: str) -> Any:
    """Decline an offer with a reason; it goes to another officer, never back to me."""
    return h.decline(current_deps(), current_staff(), case_id, body["reason"], body.get("note"))


@blp.route("/cases/<case_id>/contact", methods=["POST"])
@officers_only
@blp.arguments(s.ContactSchema)
@blp.response(200, s.ActionResultSchema)
@_doc(404, 409, 422)
def contact(body: dict[str, Any], case_id: str) -> Any:
    """Record contact made or attempted; the first stops the first-contact SLA clock."""
    return h.record_contact(current_deps(), current_staff(), case_id, body["channel"],
                            body["outcome"])


@blp.route("/cases/<case_id>/updates", methods=["POST"])
@officers_only
@blp.arguments(s.UpdateSchema)
@blp.response(200, s.UpdateResultSchema)
@_doc(404, 409, 422)
def record_update(body: dict[str, Any], case_id: str) -> Any:
    """Record a Victims' Code update given to the reporter of my case, on a channel their
    contact safety profile allows (422 naming `channel` if not); it counts as contact made,
    and the next update falls due by the case's schedule (standard or enhanced)."""
    return h.record_update(current_deps(), current_staff(), case_id, body["channel"],
                           body.get("note"))


@blp.route("/cases/<case_id>/notes", methods=["POST"])
@blp.arguments(s.NoteSchema)
@blp.response(201, s.NoteCreatedSchema)
@_doc(404, 422)
def add_note(body: dict[str, Any], case_id: str) -> Any:
    """Add a note (sealed at rest) to a case I hold; supervisors to any case."""
    return h.add_note(current_deps(), current_staff(), case_id, body["text"])


@blp.route("/cases/<case_id>/close", methods=["POST"])
@blp.arguments(s.CloseSchema)
@blp.response(200, s.ActionResultSchema)
@_doc(404, 409, 422)
def close(body: dict[str, Any], case_id: str) -> Any:
    """Close my accepted case with an outcome; supervisors may close any open case."""
    return h.close(current_deps(), current_staff(), case_id, body["outcome"])


# supervisors
@blp.route("/cases", methods=["GET"])
@supervisors_only
@blp.arguments(s.FindCaseQuerySchema, location="query")
@blp.response(200, s.CaseSummarySchema)
@_doc(404, 422)
def find_case(query: dict[str, Any]) -> Any:
    """Find a case by the reference the reporter quotes (`?reference=K7XM-4QPA-Q`; case,
    spaces and dashes do not matter). Routing fields only; every search is audited."""
    return h.find_case(current_deps(), current_staff(), query["reference"])


@blp.route("/cases/<case_id>/reassign", methods=["POST"])
@supervisors_only
@blp.arguments(s.ReassignSchema)
@blp.response(200, s.ActionResultSchema)
@_doc(404, 409, 422)
def reassign(body: dict[str, Any], case_id: str) -> Any:
    """Offer the case to a named officer, or (officer_id null) send it back to routing.
    An officer routing would pass over — away, off duty, off shift, at capacity, or without
    a skill the case requires — is refused with 409 naming `officer_id` and the problem
    (`reason`: the first of officer_away, officer_off_duty, off_shift, at_capacity,
    lacks_skill), unless the body gives a `reason`: then the case is theirs, and the
    reason and what it overrode are in the audit trail and the case's history."""
    return h.reassign(current_deps(), current_staff(), case_id, body["officer_id"],
                      body.get("reason"))


@blp.route("/officers/<officer_id>/availability", methods=["PUT"])
@supervisors_only
@blp.arguments(s.AvailabilitySchema)
@blp.response(200, s.AvailabilityResultSchema)
@_doc(404, 422)
def officer_availability(body: dict[str, Any], officer_id: str) -> Any:
    """Set an officer's status (recorded with who did it)."""
    return h.set_availability(current_deps(), current_staff(), officer_id, body["status"])


@blp.route("/queues", methods=["GET"])
@supervisors_only
@blp.response(200, s.QueueStateSchema)
@_doc()
def queues() -> Any:
    """Per district and force-wide: waiting cases by priority, officers, open offers."""
    return h.queues(current_deps())


@blp.route("/stats/offers", methods=["GET"])
@supervisors_only
@blp.arguments(s.StatsQuerySchema, location="query")
@blp.response(200, s.OfferStatsSchema)
@_doc(422)
def offer_stats(query: dict[str, Any]) -> Any:
    """Offers made, accepted, declined, expired and the median time to accept (last N hours)."""
    return h.offer_stats(current_deps(), query["hours"])


@blp.route("/sla", methods=["GET"])
@supervisors_only
@blp.response(200, s.SlaSchema)
@_doc()
def sla() -> Any:
    """SLA clocks breached, and at risk: running, with under a quarter of the target left."""
    return h.sla(current_deps())


@blp.route("/dead-letters", methods=["GET"])
@supervisors_only
@blp.response(200, s.DeadLettersSchema)
@_doc()
def dead_letters() -> Any:
    """Cases that could not be routed and notifications that could not be delivered."""
    return {"dead_letters": current_deps().store.health.dead_letters()}


@blp.route("/alerts", methods=["GET"])
@supervisors_only
@blp.response(200, s.AlertsSchema)
@_doc()
def alerts() -> Any:
    """Open alerts, newest first."""
    return {"alerts": current_deps().store.alerts.open()}


@blp.route("/alerts/<alert_id>/acknowledge", methods=["POST"])
@supervisors_only
@blp.response(200, s.AlertSchema)
@_doc(404, 409)
def acknowledge_alert(alert_id: str) -> Any:
    """Mark an open alert as handled by me."""
    return h.acknowledge_alert(current_deps(), current_staff(), alert_id)
