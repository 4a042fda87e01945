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
from dataclasses import dataclass
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
from shared.domain import consultation, reassignment
from shared.domain.officers import Availability, Role
from shared.domain.reassignment import REASON_MAX
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
        "supervisor/dashboard.html", snap=snap, staff=staff, takers=_picks(deps),
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
    return _case_page(deps, case_id, reason)


def _case_page(deps: Deps, case_id: str, reason: consultation.Reason,
               picker: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    """The case view (an audited read), with the reassign picker as `picker` left it (the
    officer chosen, the reason typed, the error) when a reassignment was refused."""
    view = h.open_case(deps, current_web_staff(), case_id, reason)
    return render_template("supervisor/case.html", view=view, case=view.case,
                           sub=view.submission, safety=case_page.safety(view, deps),
                           clock=case_page.clock(deps, case_id),
                           picks=_picks(deps, _required(view.case)),
                           picker=picker or {}), status


def _required(case: dict[str, str]) -> list[str]:
    return [s for s in (case.get("required_skills") or "").split(",") if s]


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
    """Give the case to the officer chosen (or back to routing). One routing would pass
    over needs a reason: without one, the picker comes back with the problem named."""
    officer_id = request.form.get("officer_id", "").strip()
    reason = request.form.get("reason", "")
    if officer_id and not _OFFICER_ID.match(officer_id):
        raise CaseActionError("no_such_officer")
    if len(reason.strip()) > REASON_MAX:
        return _refused_pick(case_id, officer_id, reason,
                             f"Give a reason of {REASON_MAX} characters or fewer.")
    deps = current_deps()
    try:
        done = h.reassign(deps, current_web_staff(), case_id, officer_id or None, reason)
    except h.NeedsReason as exc:
        return _refused_pick(case_id, officer_id, reason, exc.message + " Give a reason to "
                             "assign them anyway, or choose someone else.")
    if not officer_id:
        flash("Case sent back to routing.", "success")
    elif done.get("overridden"):
        flash(f"Case reassigned to {_name(officer_id)} as an override ("
              + ", ".join(reassignment.short(p) for p in reassignment.parse(
                  ",".join(done["overridden"]))) + "). Your reason is kept as a note on the "
              "case.", "success")
    else:
        flash("Case reassigned to " + _name(done.get("officer_id", "")) + ".", "success")
    return redirect(_back(case_id))


def _refused_pick(case_id: str, officer_id: str, reason: str,
                  error: str) -> ResponseReturnValue:
    """The picker again with the error, the officer chosen and the reason typed: on the case
    page when the supervisor came from it (and their reason for reading it still holds),
    else on a page of the case's routing fields alone (no personal data)."""
    deps = current_deps()
    picker = {"error": error, "chosen": officer_id, "reason": reason[:REASON_MAX * 2],
              "back": request.form.get("back") or "dashboard"}
    consulted, _ = _reason(case_id, deps.clock())
    if picker["back"] == "case" and consulted is not None:
        return _case_page(deps, case_id, consulted, picker, 409)
    case = h.case_for(deps, current_web_staff(), case_id, "reassign")
    return render_template("supervisor/reassign.html", case=case,
                           picks=_picks(deps, _required(case)), picker=picker), 409


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

@dataclass(frozen=True)
class Pick:
    """An officer as the reassign picker shows them: where, shift, status, load, skills,
    and what routing would hold against giving them this case (`problems`)."""

    id: str
    name: str
    home: str
    on_shift: bool
    status: str
    load: int
    capacity: int
    skills: tuple[str, ...]                        # in words: "BSL", "Polish"
    problems: tuple[reassignment.Problem, ...]

    @property
    def marks(self) -> str:
        """'off shift, no BSL' ('' when routing could offer them the case)."""
        return ", ".join(reassignment.short(p) for p in self.problems)


def _picks(deps: Deps, required: list[str] | None = None) -> list[Pick]:
    """Every officer who takes cases, by name, as they stand now (the stored fields the
    reassign script checks), marked against a case needing `required` skills."""
    return sorted((Pick(o.id, o.name or o.id, o.districts[0] if o.districts else "",
                        o.on_shift, o.status, o.load, o.capacity,
                        tuple(sorted(reassignment.skill_words(s) for s in o.skills)),
                        reassignment.problems(status=o.status, on_shift=o.on_shift,
                                              load=o.load, capacity=o.capacity,
                                              skills=o.skills, required=required or ()))
                   for o in deps.store.caseload.officers() if o.role == Role.OFFICER.value),
                  key=lambda p: (p.name.lower(), p.id))


def _name(officer_id: str) -> str:
    officer = current_deps().store.caseload.officer(officer_id) if officer_id else None
    return officer.name if officer and officer.role else officer_id or "routing"



