"""Admin pages: officers (add and edit districts, skills, capacity, channels, rota, leave and
status), staff accounts, and the audit log filtered by case, person and date.

An officer form is checked with the same helpers the CLI uses
(`shared.domain.officer_checks`) and saved through `shared.officer_records.save_officer`, so
the web and the CLI agree; a problem is shown beside its field and nothing is saved. Every
save appends `OfficerUpdated` (who, whom, which fields — never the values) to the events and
audit streams.

Roles are not changed here. Nobody changes their own role; and making someone a supervisor
or an admin (who see every case, or run the console), or taking that role away, is done
only with the CLI (`liaison officers update ID --role ROLE`) by an operator with access to
the server — simpler and safer than a second admin's approval, and it means a stolen or
rogue admin session cannot promote itself. The CLI ends the person's sessions and revokes
their API token at once. Logins (create, reset, disable, enable) are CLI-only too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from services.console.access import ADMIN, current_web_staff, page_for
from services.console.auth import current_deps
from services.console.display import event_label, label
from shared.domain import consultation, events
from shared.domain.officer_checks import (
    check_capacity,
    check_channels,
    check_districts,
    check_email,
    check_id,
    check_name,
    check_role,
    check_shifts,
    check_skills,
    check_status,
)
from shared.domain.officers import Availability, Officer, Role, new_officer_id
from shared.domain.rota import Leave, Rota
from shared.domain.weekly import days_text, resolve
from shared.officer_records import save_officer
from shared.outbound import Fence, check_channel_urls
from shared.store.feed import valid_stream_id

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
T = TypeVar("T")
PAGE = 100
_CASE_ID = re.compile(r"^[0-9a-f]{32}\Z")
_LEAVE = re.compile(r"^\s*(\S+)\s+(?:to|–|-)\s+(\S+)\s*$")


def register(app: Flask) -> None:
    """Mount the admin pages."""
    app.register_blueprint(bp)


# --- officers ------------------------------------------------------------------------------

@bp.get("/officers")
@page_for(*ADMIN)
def officers() -> ResponseReturnValue:
    store = current_deps().store
    staff = sorted(store.officers.all(), key=lambda o: (o.role.value, o.name.lower()))
    states = {s.id: s for s in store.caseload.officers()}
    return render_template("admin/officers.html", staff=staff, states=states)


@bp.route("/officers/new", methods=["GET", "POST"])
@page_for(*ADMIN)
def new_officer() -> ResponseReturnValue:
    return _edit(None)


@bp.route("/officers/<officer_id>", methods=["GET", "POST"])
@page_for(*ADMIN)
def officer(officer_id: str) -> ResponseReturnValue:
    try:
        old = current_deps().store.officers.get(check_id(officer_id))
    except ValueError:
        old = None
    if old is None:
        abort(404)
    return _edit(old)


def _edit(old: Officer | None) -> ResponseReturnValue:
    deps = current_deps()
    tz = ZoneInfo(deps.force.timezone)
    if request.method == "GET":
        return _form_page(old, form_values(old, tz) if old else MultiDict(), {})
    officer, errors = read_officer(request.form, deps.force, tz, old,
                                   fence=Fence(deps.settings.outbound_allow))
    if officer is not None and old is None and deps.store.officers.get(officer.id):
        officer, errors = None, {"id": "That id is taken; edit that officer instead."}
    if officer is not None and (refused := role_refusal(old, officer.role,
                                                        current_web_staff().id)):
        logger.warning("role change refused", extra={
            "officer_id": officer.id, "staff_id": current_web_staff().id,
            "role": officer.role.value, "old_role": old.role.value if old else ""})
        officer, errors = None, {"role": refused}
    if officer is None:
        return _form_page(old, request.form, errors), 422
    now = deps.clock()
    save_officer(deps.store, officer, tz, datetime.fromtimestamp(now, UTC))
    changed = [k for k, v in officer.fields().items() if old is None or old.fields()[k] != v]
    deps.store.audit.record_officer_update(officer.id, by=current_web_staff().id,
                                           changed=changed, created=old is None, now=now)
    logger.info("officer saved", extra={"officer_id": officer.id,
                                        "staff_id": current_web_staff().id})
    flash(f"{'Added' if old is None else 'Saved'} {officer.name}.", "success")
    return redirect(url_for(".officers"))


PRIVILEGED = frozenset({Role.SUPERVISOR, Role.ADMIN})  # see every case / run the console
OWN_ROLE = "You cannot change your own role."
ROLE_BY_CLI = ("Supervisor and admin roles are given and taken away only by an operator on "
               "the server, with `liaison officers update {id} --role {role}` (it also ends "
               "their sessions), never from the console: so no admin can give themselves or "
               "anyone else access to every case.")
NEW_BY_CLI = ("A new supervisor or admin is added only by an operator on the server, with "
              "`liaison officers add --role {role}`, never from the console: so no admin can "
              "give anyone access to every case.")


def role_refusal(old: Officer | None, role: Role, by: str) -> str:
    """Why the console may not give `role` to `old` (None: someone new), or ""."""
    if old is None:
        return NEW_BY_CLI.format(role=role.value) if role in PRIVILEGED else ""
    if role is old.role:
        return ""
    if old.id == by:
        return OWN_ROLE
    if PRIVILEGED & {old.role, role}:
        return ROLE_BY_CLI.format(id=old.id, role=role.value)
    return ""


def _form_page(old: Officer | None, values: Any, errors: dict[str, str]) -> str:
    deps = current_deps()
    return render_template("admin/officer.html", old=old, values=values, errors=errors,
                           districts=deps.force.choices(), roles=[r.value for r in Role],
                           statuses=[a.value for a in Availability])


@dataclass
class _Checks:
    """Runs each check, keeping the first problem per field (and None for its value)."""

    errors: dict[str, str]

    def run(self, name: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValueError as exc:
            self.errors[name] = str(exc)[:1].upper() + str(exc)[1:] + "."
            return None


def read_officer(form: Any, force: Any, tz: ZoneInfo, old: Officer | None, *,
                 fence: Fence | None = None) -> tuple[Officer | None, dict[str, str]]:
    """An officer from the posted form, or None and a message per bad field (channel URLs
    also through the outbound fence: allowed scheme, host resolved, no internal address)."""
    c = _Checks({})

    def lines(name: str) -> list[str]:
        return [line.strip() for line in form.get(name, "").splitlines() if line.strip()]

    name = c.run("name", lambda: check_name(form.get("name", "")))
    role = c.run("role", lambda: check_role(form.get("role", "")))
    home = c.run("home", lambda: check_districts(force, [form["home"]] if form.get("home")
                                                 else []))
    cover = c.run("cover", lambda: check_districts(force, form.getlist("cover")))
    skills = c.run("skills", lambda: check_skills(re.split(r"[,\s]+", form.get(
        "skills", ""))))
    capacity = c.run("capacity", lambda: check_capacity(form.get("capacity", "").strip()))
    email = c.run("email", lambda: check_email(form.get("email", "")))
    channels = c.run("channels", lambda: check_channel_urls(
        check_channels(lines("channels")), fence or Fence()))
    shifts = c.run("shifts", lambda: check_shifts(lines("shifts")))
    leave = c.run("leave", lambda: tuple(_leave(line, tz) for line in lines("leave")))
    status = c.run("status", lambda: check_status(form.get("status", "")))
    officer_id = old.id if old else c.run("id", lambda: check_id(
        form.get("id", "").strip() or new_officer_id()))
    if role is Role.OFFICER and home == ():
        c.errors.setdefault("home", "An officer needs a home district.")
    if c.errors or None in (name, role, home, cover, skills, capacity, email, channels,
                            shifts, leave, status, officer_id):
        return None, c.errors
    assert name and role and home is not None and cover is not None and status and officer_id
    return Officer(id=officer_id, name=name, role=role,
                   districts=tuple(dict.fromkeys(home + cover)), skills=skills or frozenset(),
                   capacity=capacity or 0, status=status, email=email or "",
                   channels=channels or (), rota=Rota(shifts=shifts or (), leave=leave or ()),
                   ), {}


def _leave(line: str, tz: ZoneInfo) -> Leave:
    """'2026-12-24 to 2026-12-27' (whole days, inclusive) or ISO date-times, in force time."""
    match = _LEAVE.match(line)
    if not match:
        raise ValueError(f"{line!r} is not leave; write 'YYYY-MM-DD to YYYY-MM-DD'")
    start, end = _instant(match[1], tz, end_of_day=False), _instant(match[2], tz,
                                                                   end_of_day=True)
    if end <= start:
        raise ValueError(f"in {line!r} the end is not after the start")
    return Leave(start, end)


def _instant(text: str, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or a date and time "
                             "(YYYY-MM-DDTHH:MM)") from None
        return resolve(at, tz) if at.tzinfo is None else at.astimezone(UTC)
    return resolve(datetime.combine(day + timedelta(days=end_of_day), datetime.min.time()), tz)


def form_values(officer: Officer, tz: ZoneInfo) -> MultiDict[str, str]:
    """An officer as the form's fields (what `read_officer` reads back)."""
    values: MultiDict[str, str] = MultiDict({
        "name": officer.name, "role": officer.role.value, "home": officer.home,
        "skills": ", ".join(sorted(officer.skills)), "capacity": str(officer.capacity),
        "email": officer.email, "status": officer.status.value,
        "channels": "\n".join(officer.channels),
        "shifts": "\n".join(f"{days_text(w.days)} {w.start:%H:%M}-{w.end:%H:%M}"
                            for w in officer.rota.shifts),
        "leave": "\n".join(_leave_text(lv, tz) for lv in officer.rota.leave)})
    for code in officer.districts[1:]:
        values.add("cover", code)
    return values


def _leave_text(leave: Leave, tz: ZoneInfo) -> str:
    start, end = leave.start.astimezone(tz), leave.end.astimezone(tz)
    if start.time() == end.time() == datetime.min.time():
        return f"{start.date()} to {end.date() - timedelta(days=1)}"
    return f"{start:%Y-%m-%dT%H:%M} to {end:%Y-%m-%dT%H:%M}"


# --- accounts and the audit log ------------------------------------------------------------

@bp.get("/accounts")
@page_for(*ADMIN)
def accounts() -> ResponseReturnValue:
    """Everyone on the staff, with their login (if any): username, role, locked, disabled."""
    deps = current_deps()
    logins = {a.id: a for a in deps.store.accounts.all()}
    now = deps.clock()
    locked = {a.id: deps.store.accounts.locked_until(a.username) - now
              for a in logins.values()}
    staff = sorted(deps.store.officers.all(), key=lambda o: o.name.lower())
    return render_template("admin/accounts.html", staff=staff, logins=logins, locked=locked)


@bp.get("/audit")
@page_for(*ADMIN)
def audit() -> ResponseReturnValue:
    """The audit trail, newest first, 100 at a time; filters by case, person and dates."""
    deps = current_deps()
    args, errors = request.args, {}
    tz = ZoneInfo(deps.force.timezone)
    case = args.get("case", "").strip()
    case_id = case.lower() if _CASE_ID.match(case.lower()) else \
        deps.store.cases.id_for_reference(case.upper()) if case else ""
    if case and not case_id:
        errors["case"] = "No case with that id or reference."
    person = args.get("person", "").strip()
    if person and (account := deps.store.accounts.by_username(person.lower())):
        person = account.id
    bounds: dict[str, float | None] = {}
    for name, end in (("from", False), ("to", True)):
        text = args.get(name, "").strip()
        try:
            at = _instant(text, tz, end_of_day=end).timestamp() if text else None
            bounds[name] = at - 0.001 if at is not None and end else at
        except ValueError:
            errors[name] = "Give a date as YYYY-MM-DD."
    before = args.get("before", "")
    page = None if errors else deps.store.audit.page(
        since=bounds.get("from"), until=bounds.get("to"), case_id=case_id or "",
        person=person, before=before if valid_stream_id(before) else "", limit=PAGE)
    filters = {k: v for k, v in args.items() if k in ("case", "person", "from", "to") and v}
    references: dict[str, str] = {}  # case id -> reference, one read per case per request
    for entry in page.entries if page else []:
        found = entry.fields.get("case_id", "")
        if found and found not in references:
            references[found] = (deps.store.cases.get(found) or {}).get("reference", "")
    return render_template("admin/audit.html", page=page, errors=errors, args=args,
                           filters=filters, references=references, what=audit_label,
                           details=audit_details)


AUDIT_LABELS = {events.SIGNED_IN: "Signed in", events.SIGN_IN_FAILED: "Sign-in failed",
                events.SIGNED_OUT: "Signed out", events.NOTE_ADDED: "Note added",
                events.CASE_COLLECTED: "Collected at intake"}
CASE_ACTIONS = {"accept": "Case accepted", "decline": "Case declined",
                "contact": "Contact recorded", "close": "Case closed",
                "reassign": "Case reassigned"}


def audit_details(fields: dict[str, str]) -> str:
    """The rest of an audit entry in words: why a case was opened, what was refused, what
    changed, what was sent — ids, codes and counts only, as the entry holds them."""
    kind, f = fields.get("type", ""), fields
    parts: list[str] = []
    if kind == events.CASE_VIEWED and f.get("purpose"):
        parts.append("Why: " + (consultation.PURPOSES.get(f["purpose"], f["purpose"])))
        if f.get("reference"):
            parts.append(f"reference {f['reference']}")
    elif kind == events.CASE_ACCESS_REFUSED:
        parts.append(f"{label(f.get('action', ''))} refused: "
                     f"{label(f.get('reason', '')).lower()}")
    elif kind == events.CASE_SEARCHED:
        parts.append(f"Reference {f.get('reference', '')}: "
                     + ("found" if f.get("found") == "1" else "no such case"))
    elif kind == events.DATA_DISCLOSED:
        parts.append(f"{label(f.get('what', ''))} sent to the person by "
                     f"{f.get('channel', '')}")
    elif kind in (events.CASE_ERASED, events.ACCESS_ENDED):
        parts.append(label(f.get("reason", "")))
    if f.get("fields"):
        parts.append("changed: " + f["fields"].replace(",", ", "))
    if f.get("created") == "1":
        parts.append("added")
    if f.get("change"):
        parts.append(label(f["change"]).lower())
    for name in ("counts", "entries", "checked", "resealed", "failed"):
        if f.get(name):
            parts.append(f"{name}: {f[name]}")
    return "; ".join(p for p in parts if p)


def audit_label(fields: dict[str, str]) -> str:
    """What an audit entry records, in words (a case action by its `action`)."""
    kind = fields.get("type", "")
    if kind == events.CASE_ACTION_TAKEN:
        action = fields.get("action", "")
        return CASE_ACTIONS.get(action) or f"Case action: {action}"
    return AUDIT_LABELS.get(kind) or event_label(kind)


