"""Supervisor pages: the live dashboard (queues per district, offers, alerts, SLA, dead letters,
workers, charts), its event stream, a read-only case view, and the supervisor's actions —
reassign a case, set an officer's availability, acknowledge an alert.

Views parse, call `handlers` with the signed-in supervisor as the actor (so every event
names them), flash fixed wording and redirect (post/redirect/get). The numbers come from
`live.snapshot`, the same JSON the stream sends; the charts from `charts`.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from services.console import case_page, charts, live, sessions
from services.console import handlers as h
from services.console.access import SUPERVISOR, current_web_staff, page_for
from services.console.auth import current_deps
from services.console.display import LABELS, label
from shared.bootstrap import Deps, redis_connection
from shared.broker_queues import BrokerQueues, broker_client
from shared.domain import consultation
from shared.domain.officers import Availability, Officer, Role
from shared.sealing import SealingError
from shared.store import StoreUnavailable
from shared.store.feed import EventFeed
from shared.store.routing import CaseActionError

logger = logging.getLogger(__name__)

bp = Blueprint("supervisor", __name__)
RETRY_AFTER_SECONDS = 5
CONSULTED = "consulted"   # session: case id -> [purpose, reference, until]
CONSULT_MINUTES = 30
_OFFICER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
REFUSALS = {
    "not_found": "There is no such case, officer or alert.",
    "illegal_transition": "That is no longer possible: the case or alert is now {detail}.",
    "same_officer": "The case is already with that officer.",
    "at_capacity": "That officer has no room for another case.",
    "no_such_officer": "Choose an officer who takes cases.",
}

RINGS = {"ring_0": "Its district", "ring_1": "District and neighbours",
         "ring_2": "The whole force"}  # how far routing has offered a waiting case
FIND_ERRORS = {
    "invalid_reference": "Enter a case reference like K7XM-4QPA-Q (letters and numbers from "
                         "the reference; spaces and dashes do not matter).",
    "not_found": "No case has that reference. Check it with the person who gave it.",
}


def register(app: Flask) -> None:
    """Mount the supervisor pages and build what the dashboard reads besides the store."""
    deps = cast(Deps, app.extensions["liaison_console"])
    settings = deps.settings
    # The same broker client the metrics use (one rule: the store's own client when the
    # broker is the store's Redis); a broker that is not Redis shows no queue depths.
    broker = broker_client(settings, deps.store.redis) or deps.store.redis
    app.extensions[live.EXTENSION] = live.LiveSources(
        broker=BrokerQueues(broker),
        stream_client=lambda timeout: redis_connection(settings, timeout=timeout))
    app.register_blueprint(bp)


def current_live() -> live.LiveSources:
    return live.current_sources()


def _charts() -> dict[str, Any]:
    deps = current_deps()
    return charts.dashboard_charts(deps.store.outcomes.activity(now=deps.clock()),
                                   ZoneInfo(deps.force.timezone))


# --- pages ---------------------------------------------------------------------------------

@bp.get("/dashboard")
@page_for(*SUPERVISOR)
def dashboard() -> ResponseReturnValue:
    """The dashboard, rendered on the server (it works without JavaScript): what needs
    action now first (alerts, emergencies first; waiting cases one by one; SLA clocks),
    the rest (workload, offers, officers, workers, charts) folded below."""
    deps = current_deps()
    snap = live.snapshot(deps, current_live().broker,
                         deps.store.feed.latest_event_id())
    staff = {o.id: o for o in deps.store.officers.all()}
    labels = LABELS | RINGS | {code: d.name for code, d in deps.force.districts.items()}
    return render_template(
        "supervisor/dashboard.html", snap=snap, staff=staff, takers=_takers(staff),
        labels=labels, names={o.id: o.name for o in staff.values()},
        reasons={d.id: d.reason for d in deps.store.health.dead_letters()},
        charts=_charts(), statuses=[a.value for a in Availability])


@bp.get("/dashboard/charts")
@page_for(*SUPERVISOR)
def chart_panel() -> ResponseReturnValue:
    """The charts alone, for dashboard.js to refresh them every minute."""
    sessions.mark_background()  # the page asks by itself: the idle timeout runs on
    return render_template("supervisor/_charts.html", charts=_charts())


@bp.get("/dashboard/stream")
@page_for(*SUPERVISOR)
def stream() -> ResponseReturnValue:
    """Server-Sent Events: a snapshot now and after every change (see `live`)."""
    sessions.mark_background()  # reconnects by itself: the idle timeout runs on
    deps, sources = current_deps(), current_live()
    client = sources.stream_client(sources.block_ms / 1000 + 5)
    body = live.SnapshotStream(
        lambda event_id: sources.snapshot(deps, event_id), EventFeed(client, deps.store.keys),
        last_event_id=request.headers.get("Last-Event-ID", "")[:50],
        block_ms=sources.block_ms, heartbeat=sources.heartbeat, debounce=sources.debounce,
        refresh=sources.refresh, lifetime=sources.lifetime, close=client.close)
    return Response(iter(body), mimetype="text/event-stream",
                    headers={"X-Accel-Buffering": "no"})


@bp.get("/cases/<case_id>/view")
@page_for(*SUPERVISOR)
def case(case_id: str) -> ResponseReturnValue:
    """A case, read-only and unsealed (the read is audited), with the reassign form. A
    supervisor first says why they are opening it (DPA 2018 s.62): the reason is in every
    audit entry of their reads, and remembered for this case for CONSULT_MINUTES so that
    going back to the case after reassigning it does not ask again."""
    deps = current_deps()
    reason, error = _reason(case_id, deps.clock())
    if reason is None:
        h.case_for(deps, current_web_staff(), case_id, "read")  # refusals audited as ever
        return render_template("supervisor/reason.html", case_id=case_id, error=error,
                               purposes=consultation.PURPOSES,
                               chosen=request.args.get("purpose", ""),
                               reference=request.args.get("reference", "")[:40]), \
            (400 if error else 200)
    view = h.open_case(deps, current_web_staff(), case_id, reason)
    staff = {o.id: o for o in deps.store.officers.all()}
    return render_template("supervisor/case.html", view=view, case=view.case,
                           sub=view.submission, safety=case_page.safety(view, deps),
                           clock=case_page.clock(deps, case_id), staff=staff,
                           takers=_takers(staff))


def _reason(case_id: str, now: float) -> tuple[consultation.Reason | None, dict[str, str]]:
    """The reason given in this request (remembered in the session), else one given for this
    case in the last CONSULT_MINUTES; `{field: message}` when the one given is wrong."""
    remembered: dict[str, list[Any]] = {
        k: v for k, v in dict(session.get(CONSULTED) or {}).items()
        if isinstance(v, list) and len(v) == 3 and float(v[2]) > now}
    if "purpose" in request.args:
        try:
            reason = consultation.reason_from(request.args.get("purpose"),
                                              request.args.get("reference"))
        except consultation.ReasonError as exc:
            return None, {exc.field: exc.message}
        remembered[case_id] = [reason.purpose, reason.reference, now + CONSULT_MINUTES * 60]
        session[CONSULTED] = dict(sorted(remembered.items(), key=lambda kv: kv[1][2])[-20:])
        return reason, {}
    if case_id in remembered:
        purpose, reference, _ = remembered[case_id]
        return consultation.Reason(purpose, reference), {}
    session[CONSULTED] = remembered
    return None, {}


@bp.get("/cases/find")
@page_for(*SUPERVISOR)
def find_case() -> ResponseReturnValue:
    """Find a case by the reference a reporter quotes; found: its case view (audited)."""
    text = request.args.get("reference", "")[:40]
    error, status = "", 200
    if text.strip():
        try:
            found = h.find_case(current_deps(), current_web_staff(), text)
            return redirect(url_for(".case", case_id=found["id"]))
        except CaseActionError as exc:
            if exc.code != "invalid_reference" and exc.code != "not_found":
                raise
            error = FIND_ERRORS[exc.code]
            status = 404 if exc.code == "not_found" else 422
    return render_template("supervisor/find.html", reference=text, error=error), status


# --- actions -------------------------------------------------------------------------------

@bp.post("/dashboard/cases/<case_id>/reassign")
@page_for(*SUPERVISOR)
def reassign(case_id: str) -> ResponseReturnValue:
    officer_id = request.form.get("officer_id", "").strip()
    if officer_id and not _OFFICER_ID.match(officer_id):
        raise CaseActionError("no_such_officer")
    done = h.reassign(current_deps(), current_web_staff(), case_id, officer_id or None)
    flash("Case reassigned to " + _name(done.get("officer_id", "")) + "." if officer_id
          else "Case sent back to routing.", "success")
    return redirect(_back(case_id))


@bp.post("/dashboard/officers/<officer_id>/availability")
@page_for(*SUPERVISOR)
def availability(officer_id: str) -> ResponseReturnValue:
    try:
        status = Availability(request.form.get("status", ""))
    except ValueError:
        flash("Choose available, away or off duty.", "error")
        return redirect(url_for(".dashboard", _anchor="officers"))
    if not _OFFICER_ID.match(officer_id):
        raise CaseActionError("not_found", "officer")
    h.set_availability(current_deps(), current_web_staff(), officer_id, status)
    flash(f"{_name(officer_id)} is now {label(status.value).lower()}.", "success")
    return redirect(url_for(".dashboard", _anchor="officers"))


@bp.post("/dashboard/alerts/<alert_id>/acknowledge")
@page_for(*SUPERVISOR)
def acknowledge(alert_id: str) -> ResponseReturnValue:
    h.acknowledge_alert(current_deps(), current_web_staff(), alert_id)
    flash("Alert acknowledged.", "success")
    return redirect(url_for(".dashboard", _anchor="alerts"))


def _back(case_id: str) -> str:
    if request.form.get("back") == "case":
        return url_for(".case", case_id=case_id)
    return url_for(".dashboard")


# --- refusals ------------------------------------------------------------------------------

@bp.errorhandler(CaseActionError)
def _refused(exc: CaseActionError) -> ResponseReturnValue:
    if request.method == "GET":
        return _problem(404, "No such case", "There is no case at this address.")
    flash(REFUSALS.get(exc.code, "That is not possible now.").format(
        detail=label(exc.detail).lower() or "changed"), "error")
    case_id = (request.view_args or {}).get("case_id")
    return redirect(_back(case_id) if case_id else url_for(".dashboard"))


@bp.errorhandler(StoreUnavailable)
def _unavailable(exc: StoreUnavailable) -> ResponseReturnValue:
    logger.warning("store unavailable", extra={"error": str(exc)})
    body, status = _problem(503, "Try again shortly", "Storage is unavailable just now; "
                            f"try again in {RETRY_AFTER_SECONDS} seconds.")
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


@bp.errorhandler(SealingError)
def _unsealable(exc: SealingError) -> ResponseReturnValue:
    logger.error("case could not be unsealed", extra={"path": request.path})
    return _problem(500, "Case cannot be opened",
                    "This case could not be opened with the current sealing keys.")


def _problem(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("supervisor/problem.html", title=title, message=message), status


# --- presentation helpers (for the supervisor and admin templates) -------------------------

def _takers(staff: dict[str, Officer]) -> list[Officer]:
    """Officers a case can be given to, by name."""
    return sorted((o for o in staff.values() if o.role is Role.OFFICER), key=lambda o: o.name)


def _name(officer_id: str) -> str:
    officer = current_deps().store.caseload.officer(officer_id) if officer_id else None
    return officer.name if officer and officer.role else officer_id or "routing"



