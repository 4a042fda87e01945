"""Officer pages: the inbox (offers with live countdowns, open cases, availability, rota)
and the case page (how to contact safely first, then the account verbatim, actions, notes,
history). Views parse a form, call `handlers`, flash and redirect (post/redirect/get).

Form posts are checked with the JSON API's schemas; a refused action is a message and a way
back (a case that is not yours: the console's 403 page), never a 500. Flash messages wait in
the session (stored unsealed), so they never carry personal data — only fixed wording.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import Forbidden, NotFound

from services.console import case_page, live, sessions
from services.console import handlers as h
from services.console import schemas as s
from services.console.access import OFFICER, current_web_staff, page_for
from services.console.auth import current_deps
from services.console.display import label, local_time, windows_text
from shared.bootstrap import Deps
from shared.casework import CLOSE_OUTCOMES, CONTACT_CHANNELS, CONTACT_OUTCOMES, DECLINE_REASONS
from shared.domain.officers import Availability, Role
from shared.sealing import SealingError
from shared.store.feed import EventFeed
from shared.store.routing import CaseActionError

logger = logging.getLogger(__name__)

bp = Blueprint("officer", __name__)
OFFER_DEBOUNCE = 0.2  # seconds: an offer reaches the inbox well within 2 s
CASE_FORMS = ("officer.contact", "officer.record_update", "officer.add_note",
              "officer.close")  # errors: back to case
FIELD_MESSAGES = {
    "reason": "Choose a reason for declining.",
    "note": "Keep the note to 500 characters or fewer.",
    "channel": "Choose how you made contact.",
    "outcome": "Choose an outcome.",
    "text": "Write a note of 1 to 5000 characters.",
    "status": "Choose available, away or off duty.",
}


def register(app: Flask) -> None:
    """Mount the officer pages."""
    app.register_blueprint(bp)


# --- pages ---------------------------------------------------------------------------------

@bp.get("/inbox")
@page_for(*OFFICER)
def inbox() -> ResponseReturnValue:
    """Offers (soonest deadline first), open cases (soonest SLA due), availability, rota."""
    deps, staff = current_deps(), current_web_staff()
    return render_template("officer/inbox.html", me=h.me(deps, staff), rota=_rota(deps, staff),
                           **h.my_cases(deps, staff))


@bp.get("/inbox/offers")
@page_for(*OFFICER)
def offers() -> ResponseReturnValue:
    """The offers section alone, for officer.js to show new offers without a reload."""
    mine = h.my_cases(current_deps(), current_web_staff())
    return render_template("officer/_offers.html", offers=mine["offers"])


@bp.get("/inbox/stream")
@page_for(*OFFICER)
def offers_stream() -> ResponseReturnValue:
    """Server-Sent Events for the inbox: `{"offers": "<id:deadline ...>"}` at once and
    whenever it changes (an event in the force's `events` stream wakes it; see
    `live.SnapshotStream`), so officer.js fetches the offers section within a second or two
    of an offer instead of polling. Ids and deadlines only. Each open inbox holds one server
    thread for up to `lifetime` seconds, then the browser reconnects."""
    sessions.mark_background()  # reconnects by itself: the idle timeout runs on
    deps, staff, sources = current_deps(), current_web_staff(), live.current_sources()
    client = sources.stream_client(sources.block_ms / 1000 + 5)

    def build(_event_id: str) -> dict[str, Any]:
        return {"offers": offer_keys(h.my_cases(deps, staff)["offers"])}

    body = live.SnapshotStream(
        build, EventFeed(client, deps.store.keys),
        last_event_id=request.headers.get("Last-Event-ID", "")[:50],
        block_ms=sources.block_ms, heartbeat=sources.heartbeat, debounce=OFFER_DEBOUNCE,
        refresh=sources.refresh, lifetime=sources.lifetime, close=client.close,
        only_changes=True)
    return Response(iter(body), mimetype="text/event-stream",
                    headers={"X-Accel-Buffering": "no"})


def offer_keys(offers: list[dict[str, Any]]) -> str:
    """The offers as the inbox's `data-offer-keys` spells them: `id:deadline`, space-separated."""
    return " ".join(f"{o['id']}:{o['offer_deadline']}" for o in offers)


@bp.get("/cases/<case_id>")
@page_for(Role.OFFICER, Role.SUPERVISOR)
def case(case_id: str) -> ResponseReturnValue:
    """The whole case, unsealed; every view is audited (by `handlers.open_case`). The case
    link in every notification is this address, so a supervisor following an alert lands on
    the supervisor's case view (which asks them why first) instead of a refusal."""
    if current_web_staff().role is Role.SUPERVISOR:
        return redirect(url_for("supervisor.case", case_id=case_id))
    deps = current_deps()
    view = h.open_case(deps, current_web_staff(), case_id)
    return render_template("officer/case.html", view=view, case=view.case,
                           sub=view.submission, safety=case_page.safety(view, deps),
                           clock=case_page.clock(deps, case_id),
                           linked=case_page.linked(deps, view.case), now_ts=deps.clock())


# --- actions -------------------------------------------------------------------------------

@bp.post("/cases/<case_id>/accept")
@page_for(*OFFICER)
def accept(case_id: str) -> ResponseReturnValue:
    h.accept(current_deps(), current_web_staff(), case_id)
    flash("Offer accepted. The contact safety profile is at the top of the case.", "success")
    return redirect(url_for(".case", case_id=case_id))


@bp.post("/cases/<case_id>/decline")
@page_for(*OFFICER)
def decline(case_id: str) -> ResponseReturnValue:
    body = _form(s.DeclineSchema())
    h.decline(current_deps(), current_web_staff(), case_id, body["reason"], body.get("note"))
    flash("Offer declined: it goes to another officer.", "success")
    return redirect(url_for(".inbox"))


@bp.post("/cases/<case_id>/contact")
@page_for(*OFFICER)
def contact(case_id: str) -> ResponseReturnValue:
    body = _form(s.ContactSchema())
    h.record_contact(current_deps(), current_web_staff(), case_id, body["channel"],
                     body["outcome"])
    flash("Contact recorded.", "success")
    return redirect(url_for(".case", case_id=case_id))


@bp.post("/cases/<case_id>/updates")
@page_for(*OFFICER)
def record_update(case_id: str) -> ResponseReturnValue:
    body = _form(s.UpdateSchema())
    h.record_update(current_deps(), current_web_staff(), case_id, body["channel"],
                    body.get("note"))
    flash("Update recorded. The next one is due by the date on the case.", "success")
    return redirect(url_for(".case", case_id=case_id))


@bp.post("/cases/<case_id>/notes")
@page_for(*OFFICER)
def add_note(case_id: str) -> ResponseReturnValue:
    body = _form(s.NoteSchema())
    h.add_note(current_deps(), current_web_staff(), case_id, body["text"])
    flash("Note added.", "success")
    return redirect(url_for(".case", case_id=case_id, _anchor="notes"))


@bp.post("/cases/<case_id>/close")
@page_for(*OFFICER)
def close(case_id: str) -> ResponseReturnValue:
    body = _form(s.CloseSchema())
    h.close(current_deps(), current_web_staff(), case_id, body["outcome"])
    flash("Case closed.", "success")
    return redirect(url_for(".inbox"))


@bp.post("/availability")
@page_for(*OFFICER)
def availability() -> ResponseReturnValue:
    body = _form(s.AvailabilitySchema())
    staff = current_web_staff()
    done = h.set_availability(current_deps(), staff, staff.id, body["status"])
    flash(f"You are now {label(done['status']).lower()}.", "success")
    return redirect(url_for(".inbox"))


def _form(schema: Schema) -> dict[str, Any]:
    """The posted fields the schema knows (blank ones left out), loaded strictly."""
    data = {name: value for name in schema.fields
            if (value := request.form.get(name, "")).strip()}
    loaded: dict[str, Any] = schema.load(data)
    return loaded


# --- refusals ------------------------------------------------------------------------------

@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> ResponseReturnValue:
    fields = exc.messages if isinstance(exc.messages, dict) else {}
    for name in fields or ["_"]:
        flash(FIELD_MESSAGES.get(str(name), "Check the form and try again."), "error")
    return redirect(_back())


@bp.errorhandler(CaseActionError)
def _refused(exc: CaseActionError) -> ResponseReturnValue:
    if exc.code == "not_yours" and request.method == "POST" \
            and _was_offered_to_me(request.view_args or {}):
        flash("This case is no longer with you: the offer ran out or was passed on.", "error")
        return redirect(url_for(".inbox"))
    if exc.code in ("not_found", "not_yours"):  # the console's own 404 and 403 pages
        return current_app.handle_http_exception(
            NotFound() if exc.code == "not_found" else Forbidden())
    if exc.code == "channel_not_allowed":
        flash("Use only a way they said is safe to contact them.", "error")
        return redirect(_back())
    why = f"the case is now {label(exc.detail).lower()}" \
        if exc.code == "illegal_transition" else "check the case and try again"
    flash(f"That is no longer possible: {why}.", "error")
    return redirect(url_for(".inbox"))


@bp.errorhandler(SealingError)
def _unsealable(exc: SealingError) -> ResponseReturnValue:
    logger.error("case could not be unsealed", extra={"path": request.path})
    return render_template("officer/problem.html", title="This case cannot be opened",
                           message="It could not be unsealed with the current sealing keys. "
                           "Tell a console administrator."), 500


def _back() -> str:
    case_id = (request.view_args or {}).get("case_id")
    if request.endpoint in CASE_FORMS and case_id:
        return url_for(".case", case_id=case_id)
    return url_for(".inbox")


def _was_offered_to_me(args: dict[str, Any]) -> bool:
    """Whether the case's log shows an offer to the caller (a former holder, not a stranger)."""
    me = current_web_staff().id
    return any(e.get("officer_id") == me or e.get("to_officer") == me
               for e in current_deps().store.cases.log(str(args.get("case_id", ""))))


# --- presentation helpers (templates get them through the context processor) ---------------

@bp.context_processor
def _choices() -> dict[str, Any]:
    return {"decline_reasons": DECLINE_REASONS, "contact_channels": CONTACT_CHANNELS,
            "contact_outcomes": CONTACT_OUTCOMES, "close_outcomes": CLOSE_OUTCOMES,
            "statuses": [a.value for a in Availability]}


def _rota(deps: Deps, staff: h.Staff) -> dict[str, Any]:
    """My shifts as text, leave still to come, and when being on shift next changes."""
    officer = deps.store.officers.get(staff.id)
    if officer is None:
        return {"shifts": [], "leave": [], "next_change": None}
    now = datetime.fromtimestamp(deps.clock(), UTC)
    rota = officer.rota
    change = rota.next_change(now, ZoneInfo(deps.force.timezone))
    return {"shifts": windows_text([w.to_dict() for w in rota.shifts]),
            "leave": [(local_time(lv.start.timestamp()), local_time(lv.end.timestamp()))
                      for lv in rota.leave if lv.end > now],
            "next_change": change.timestamp() if change else None}
