"""Admin pages: officers (add and edit districts, skills, capacity, channels, rota, leave and
status), console logins, and the audit log filtered by case, person and date.

An officer form (`officer_form`: structured rows, no mini-language) is checked with the same
helpers the CLI uses (`shared.domain.officer_checks`) and saved through
`shared.officer_records.save_officer`, so the web and the CLI agree; a problem is shown beside
its field and nothing is saved. Every save appends `OfficerUpdated` (who, whom, which fields
— never the values) to the events and audit streams. "Send a test" sends a fixed message
through the notifier's own channels, behind the outbound fence, and logs no URL.

Roles are not changed here. Nobody changes their own role; and making someone a supervisor
or an admin (who see every case, or run the console), or taking that role away, is done
only with the CLI (`liaison officers update ID --role ROLE`) by an operator with access to
the server — simpler and safer than a second admin's approval, and it means a stolen or
rogue admin session cannot promote itself. The CLI ends the person's sessions and revokes
their API token at once.

Logins (`/admin/accounts`) follow the CLI's rules (`ops/cli/accounts.py`): the password
policy of `shared.passwords`, a reset or a disable ends the person's sessions (a disable also
revokes their API token), every change is audited (`AccountChanged`, and `AccessEnded` for a
disable) with `via=console` and the admin's id. Nobody changes their own login here, and
the logins of supervisors and admins are created and reset only with the CLI — else an admin
could set a supervisor's password and read every case.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from services.console.access import ADMIN, current_web_staff, page_for
from services.console.auth import current_deps
from services.console.display import event_label, label
from services.console.officer_form import (
    WEEKDAY_NAMES,
    editors,
    form_values,
    instant,
    read_channels,
    read_officer,
)
from shared import passwords
from shared.channels import ChannelError
from shared.domain import consultation, events
from shared.domain.notifications import Message
from shared.domain.officer_checks import check_id
from shared.domain.officers import Availability, Officer, Role
from shared.officer_records import save_officer
from shared.outbound import Fence
from shared.store.accounts import AccountError
from shared.store.feed import valid_stream_id

logger = logging.getLogger(__name__)

__all__ = ["bp", "form_values", "read_officer", "register", "role_refusal"]

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 100
_CASE_ID = re.compile(r"^[0-9a-f]{32}\Z")


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


def _form_page(old: Officer | None, values: Any, errors: dict[str, str],
               tested: dict[str, Any] | None = None) -> str:
    deps = current_deps()
    return render_template("admin/officer.html", old=old, values=values, errors=errors,
                           districts=deps.force.choices(), roles=[r.value for r in Role],
                           statuses=[a.value for a in Availability], edit=editors(values),
                           weekdays=WEEKDAY_NAMES, tested=tested or {},
                           timezone=deps.force.timezone)


TEST_MESSAGE = Message(subject="Liaison: a test message",
                       body="A test from the Liaison console: this channel works. "
                            "Nothing needs doing.", kind="channel_test")


@bp.post("/officers/channels/test")
@page_for(*ADMIN)
def test_channel() -> ResponseReturnValue:
    """Send a fixed test message to one channel of the form (the `test` button's row), then
    show the form again as posted, with the outcome beside that channel. Nothing is saved.
    The URL goes through the fence right before use and is never logged."""
    deps = current_deps()
    editing = request.form.get("editing", "")
    old = deps.store.officers.get(editing) if editing and _valid_id(editing) else None
    if editing and old is None:
        abort(404)
    try:
        row = int(request.form.get("test", ""))
        url = [u for u in request.form.getlist("channels") if u.strip()][row].strip()
    except (ValueError, IndexError):
        return _form_page(old, request.form, {"channels": "Choose a channel to test."}), 422
    ok, message = _send_test(url)
    logger.info("channel test", extra={"staff_id": current_web_staff().id,
                                       "officer_id": editing, "ok": ok,
                                       "scheme": url.partition("://")[0][:20]})
    tested = {"row": row, "ok": ok, "message": message}
    return _form_page(old, request.form, {}, tested), 200 if ok else 422


def _send_test(url: str) -> tuple[bool, str]:
    """(sent?, what to tell the admin) — the channel's kind of failure, never its URL."""
    deps = current_deps()
    try:
        [checked] = read_channels(MultiDict({"channels": url}),
                                  Fence(deps.settings.outbound_allow))
    except ValueError as exc:
        return False, "Not sent: " + str(exc) + "."
    name, address = (("webhook", checked.removeprefix("webhook+"))
                     if checked.startswith("webhook+") else ("apprise", checked))
    channel = deps.channels.get(name)
    if channel is None:
        return False, "Not sent: this console has no such channel."
    try:
        channel.send(address, TEST_MESSAGE)
    except ChannelError as exc:
        logger.warning("channel test failed", extra={"channel": name, "error": exc.cause})
        return False, f"Not sent: the {name} channel failed ({exc.cause})."
    return True, "Sent: check that it arrived."


def _valid_id(text: str) -> bool:
    try:
        check_id(text)
    except ValueError:
        return False
    return True


# --- accounts and the audit log ------------------------------------------------------------

@bp.get("/accounts")
@page_for(*ADMIN)
def accounts() -> ResponseReturnValue:
    """Everyone on the staff, with their login (if any): username, role, locked, disabled;
    and the forms that create, reset, disable and enable a login."""
    return _accounts_page({}, {})


def _accounts_page(errors: dict[str, str], form: Any, status: int = 200,
                   subject: str = "") -> ResponseReturnValue:
    deps = current_deps()
    logins = {a.id: a for a in deps.store.accounts.all()}
    now = deps.clock()
    locked = {a.id: deps.store.accounts.locked_until(a.username) - now
              for a in logins.values()}
    staff = sorted(deps.store.officers.all(), key=lambda o: o.name.lower())
    return render_template("admin/accounts.html", staff=staff, logins=logins, locked=locked,
                           errors=errors, form=form, subject=subject,
                           me=current_web_staff().id, console_managed=CONSOLE_MANAGED,
                           min_length=passwords.MIN_LENGTH), status


# logins the console may create and reset: those who see no more than their own cases
CONSOLE_MANAGED = frozenset({Role.OFFICER, Role.CALL_HANDLER})
OWN_LOGIN = "You cannot change your own login here; an operator does, with the CLI."
PRIVILEGED_LOGIN = ("The logins of supervisors and admins are created and reset only by an "
                    "operator on the server, with `liaison accounts {command}`.")


@bp.post("/accounts/<officer_id>/create")
@page_for(*ADMIN)
def create_login(officer_id: str) -> ResponseReturnValue:
    """Give a staff member a console login (username and a password typed twice)."""
    deps, me = current_deps(), current_web_staff().id
    person = _person(officer_id)
    form = request.form
    errors: dict[str, str] = {}
    if person.id == me:
        errors["username"] = OWN_LOGIN
    elif person.role not in CONSOLE_MANAGED:
        errors["username"] = PRIVILEGED_LOGIN.format(command="create")
    username = _checked(errors, "username", lambda: passwords.check_username(
        form.get("username", "")))
    if username and deps.store.accounts.by_username(username) is not None:
        errors.setdefault("username", f"The username {username!r} is taken.")
    password = _new_password(errors, form, username or "")
    if not errors and username and password:
        try:
            deps.store.accounts.create(person.id, username, passwords.hash_password(password))
        except AccountError as exc:
            errors["username"] = str(exc)[:1].upper() + str(exc)[1:] + "."
    if errors:
        return _accounts_page(errors, form, 422, subject=person.id)
    _audit_login(person.id, "created")
    flash(f"{person.name} can now sign in as {username}.", "success")
    return redirect(url_for(".accounts"))


@bp.post("/accounts/<officer_id>/password")
@page_for(*ADMIN)
def reset_login(officer_id: str) -> ResponseReturnValue:
    """Set a new password: ends the login's sessions and lifts any lock."""
    deps = current_deps()
    person, account = _login_of(officer_id)
    errors: dict[str, str] = {}
    if person.id == current_web_staff().id:
        errors["password"] = OWN_LOGIN
    elif person.role not in CONSOLE_MANAGED:
        errors["password"] = PRIVILEGED_LOGIN.format(command="reset-password")
    password = _new_password(errors, request.form, account.username)
    if errors or not password:
        return _accounts_page(errors, request.form, 422, subject=person.id)
    deps.store.accounts.set_password(account.username, passwords.hash_password(password))
    _audit_login(person.id, "password_reset")
    flash(f"New password set for {account.username} ({person.name}); their sessions have "
          "ended.", "success")
    return redirect(url_for(".accounts"))


@bp.post("/accounts/<officer_id>/disable")
@page_for(*ADMIN)
def disable_login(officer_id: str) -> ResponseReturnValue:
    """Stop a login signing in: its sessions end and its API token is revoked at once."""
    deps = current_deps()
    person, account = _login_of(officer_id)
    if person.id == current_web_staff().id:
        return _accounts_page({"disable": "You cannot disable your own login."},
                              request.form, 422, subject=person.id)
    deps.store.accounts.set_disabled(account.username, True)
    _audit_login(person.id, "disabled")
    deps.store.audit.record_admin(events.ACCESS_ENDED, by=current_web_staff().id,
                                  via="console", now=deps.clock(), officer_id=person.id,
                                  reason="disabled")
    flash(f"Disabled {account.username} ({person.name}); their sessions have ended and "
          "their API token is revoked.", "success")
    return redirect(url_for(".accounts"))


@bp.post("/accounts/<officer_id>/enable")
@page_for(*ADMIN)
def enable_login(officer_id: str) -> ResponseReturnValue:
    """Let a disabled login sign in again, with its existing password."""
    person, account = _login_of(officer_id)
    current_deps().store.accounts.set_disabled(account.username, False)
    _audit_login(person.id, "enabled")
    flash(f"Enabled {account.username} ({person.name}).", "success")
    return redirect(url_for(".accounts"))


def _person(officer_id: str) -> Officer:
    found = current_deps().store.officers.get(officer_id) if _valid_id(officer_id) else None
    if found is None:
        abort(404)
    return found


def _login_of(officer_id: str) -> tuple[Officer, Any]:
    person = _person(officer_id)
    account = current_deps().store.accounts.for_id(person.id)
    if account is None:
        abort(404)
    return person, account


def _checked(errors: dict[str, str], name: str, check: Any) -> Any:
    try:
        return check()
    except ValueError as exc:
        errors.setdefault(name, str(exc)[:1].upper() + str(exc)[1:] + ".")
        return None


def _new_password(errors: dict[str, str], form: Any, username: str) -> str | None:
    """The typed password if it meets the policy and was typed the same twice."""
    password = form.get("password", "")
    password = _checked(errors, "password", lambda: passwords.check_password(password,
                                                                             username))
    if password is not None and form.get("confirm", "") != password:
        errors.setdefault("confirm", "The two passwords differ; type the same one twice.")
        return None
    return str(password) if password is not None else None


def _audit_login(officer_id: str, change: str) -> None:
    """`AccountChanged` in the audit trail, as the CLI writes it, with the admin and via."""
    deps = current_deps()
    deps.store.audit.record_admin(events.ACCOUNT_CHANGED, by=current_web_staff().id,
                                  via="console", now=deps.clock(), officer_id=officer_id,
                                  change=change)
    logger.info("login changed", extra={"officer_id": officer_id, "change": change,
                                        "staff_id": current_web_staff().id})


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
            at = instant(text, tz, end_of_day=end).timestamp() if text else None
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
    if f.get("overridden"):  # a supervisor's reassignment past routing's rules
        parts.append("overrode: " + ", ".join(label(t).lower().replace(":", " ")
                                              for t in f["overridden"].split(","))
                     + "; the reason is in the case's notes")
    if kind == events.CASE_COLLECTED and f.get("via") == "console-phone":
        parts.append("taken by phone (101)")
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


