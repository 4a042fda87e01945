"""Staff sign-in for the web console: the login form, Flask-Login, lockout and error pages.

* One message for an unknown username and a wrong password alike. After `LOCK_AFTER` (5)
  failures in a row a typed username is locked for a minute, doubling with each further
  failure up to an hour — known or not, so a lock says nothing about who exists. While
  locked, even the right password is refused. Failures are forgotten after a day or at a
  successful sign-in. The lock check and the count are one atomic step taken *before* the
  password is checked (`begin_attempt`, login_attempt.lua): each attempt reserves a guess,
  so however many arrive at once, no more than 5 passwords are checked per lock window.
* On top of that, `LOGIN_RATE` per client address on the form's POST (Flask-Limiter,
  counted in Redis under `<key_prefix>limits`).
* Signing in gives the session a new id (sessions.py); signing out is a POST with the CSRF
  token and deletes the session on the server. Every request reads the staff hash again,
  so a login disabled, reset or removed, or a role changed, ends its sessions at once
  (`auth_epoch`).
* HTML error pages for the web console; /api/ keeps flask-smorest's JSON errors.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from services.console import sessions
from services.console.auth import EXTENSION, current_deps
from shared.bootstrap import Deps
from shared.domain import events
from shared.domain.officers import Role
from shared.passwords import (
    LOCK_AFTER,
    MAX_LENGTH,
    lockout_seconds,
    normalise_username,
    verify_password,
)
from shared.store import Store, StoreUnavailable
from shared.store.accounts import Account, username_digest

logger = logging.getLogger(__name__)

LOGIN_RATE = "60 per minute"  # per address: officers may share one police network address;
# the per-username lockout is the real brake on guessing
WRONG = "Username or password is wrong."
DISABLED = "This login is disabled; ask a console administrator."
LOCKS = [lockout_seconds(n) for n in range(1, LOCK_AFTER + 13)]  # after 1, 2... failures
EPOCH = "_auth_epoch"
HOME = {Role.OFFICER: "officer.inbox", Role.SUPERVISOR: "supervisor.dashboard",
        Role.ADMIN: "admin.officers", Role.CALL_HANDLER: "call.start"}
ERRORS = {
    400: ("The form was not accepted", "It may have been open too long, or it did not come "
          "from this console. Go back, reload the page and try again."),
    403: ("Not for you", "Your role cannot see this page, or the case is not offered to or "
          "held by you."),
    404: ("Page not found", "There is nothing at this address."),
    405: ("Not allowed", "This address does not take that kind of request."),
    429: ("Too many requests", "Wait a minute, then try again."),
    500: ("Something went wrong", "The error has been logged. Try again, or ask for help."),
    503: ("The console is unavailable", "Its database cannot be reached or is not taking "
          "changes just now. Try again in a few seconds."),
}
RETRY_AFTER = {429: 60, 503: 5}
NO_SESSION_NEEDED = frozenset({"healthz", "readyz", "prometheus_metrics", "static"})


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Enter your username."),
                                                   Length(max=100)])
    password = PasswordField("Password", validators=[InputRequired("Enter your password."),
                                                     Length(max=MAX_LENGTH)])


@dataclass(frozen=True)
class WebUser(UserMixin):
    """The signed-in staff member, as `flask_login.current_user`."""

    id: str
    name: str
    role: Role
    username: str


@dataclass(frozen=True)
class SignIn:
    """The signed-in account, or why not (and for how long, when locked)."""

    account: Account | None = None
    refusal: str = ""
    retry_after: int = 0
    staff_id: str = ""  # refused: the account the username named, if any (for the audit)


def sign_in(store: Store, username: str, password: str, now: float) -> SignIn:
    """Check a username and password against the lockout and the stored hash."""
    name = normalise_username(username)
    accounts = store.accounts
    attempt = accounts.begin_attempt(name, now, LOCKS)  # counted as failed until it is not
    if not attempt.may_check:
        return _locked(attempt.lock_seconds)
    account = accounts.by_username(name)
    matches, new_hash = verify_password(account.password_hash if account else None, password)
    if account is None or not matches:
        logger.info("sign-in refused", extra={"staff_id": account.id if account else "",
                                              "locked_seconds": attempt.lock_seconds})
        staff_id = account.id if account else ""
        return _locked(attempt.lock_seconds, staff_id) if attempt.lock_seconds \
            else SignIn(refusal=WRONG, staff_id=staff_id)
    if account.disabled:
        return SignIn(refusal=DISABLED, staff_id=account.id)
    accounts.clear_failures(name)
    if new_hash:  # argon2's parameters went up since this hash was made
        accounts.set_password(name, new_hash, sign_out=False)
    return SignIn(account)


def _locked(seconds: float, staff_id: str = "") -> SignIn:
    minutes = max(1, math.ceil(seconds / 60))
    return SignIn(refusal=f"Too many attempts: try again in {minutes} "
                  f"minute{'s' if minutes != 1 else ''}.", retry_after=math.ceil(seconds),
                  staff_id=staff_id)


def safe_next(target: str) -> str | None:
    """`target` if it is a path on this site; anything that could leave it gives None."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) \
            or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def load_user(user_id: str) -> WebUser | None:
    """Read the staff hash on every request: disabled, reset or removed means signed out."""
    account = current_deps().store.accounts.for_id(user_id)
    if account is None or account.disabled or session.get(EPOCH) != account.epoch:
        return None
    return WebUser(account.id, account.name, account.role, account.username)


def login() -> ResponseReturnValue:
    """The sign-in form; on success to `next` (a local path) or the role's start page."""
    target = safe_next(request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(target or url_for("index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form, next=target)
    deps = current_deps()
    outcome = sign_in(deps.store, form.username.data or "", form.password.data or "",
                      deps.clock())
    if outcome.account is None:
        deps.store.audit.record_sign_in(
            events.SIGN_IN_FAILED, by=outcome.staff_id, via="console", now=deps.clock(),
            username_digest=username_digest(normalise_username(form.username.data or "")))
        response = make_response(render_template("login.html", form=form, next=target,
                                                 refusal=outcome.refusal),
                                 429 if outcome.retry_after else 200)
        if outcome.retry_after:
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    sessions.regenerate(deps.clock())
    login_user(WebUser(outcome.account.id, outcome.account.name, outcome.account.role,
                       outcome.account.username))
    session[EPOCH] = outcome.account.epoch
    deps.store.audit.record_sign_in(events.SIGNED_IN, by=outcome.account.id, via="console",
                                    now=deps.clock())
    logger.info("signed in", extra={"staff_id": outcome.account.id})
    return redirect(target or url_for("index"))


def logout() -> ResponseReturnValue:
    """Sign out (POST with the CSRF token): the session is deleted on the server."""
    if current_user.is_authenticated:
        deps = current_deps()
        deps.store.audit.record_sign_in(events.SIGNED_OUT, by=current_user.id, via="console",
                                        now=deps.clock())
        logger.info("signed out", extra={"staff_id": current_user.id})
    logout_user()
    sessions.destroy()
    flash("You have signed out.", "success")
    return redirect(url_for("login.login"))


def _needs_store() -> None:
    if sessions.store_unavailable() and request.endpoint not in NO_SESSION_NEEDED \
            and request.blueprint != "staff_api":
        abort(503)


def _error_page(error: HTTPException) -> ResponseReturnValue:
    if request.path.startswith("/api/"):  # flask-smorest's JSON errors, as before
        api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        result: ResponseReturnValue = api.handle_http_exception(error)
        return result
    cause = getattr(error, "original_exception", None)  # a 500 wrapping what went wrong
    response = _render_error(503 if isinstance(cause, StoreUnavailable) else error.code or 500)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unavailable(error: StoreUnavailable) -> ResponseReturnValue:
    logger.warning("store unavailable", extra={"error": str(error)})
    return _render_error(503)


def _render_error(code: int) -> Response:
    code = code if code in ERRORS else 500
    title, message = ERRORS[code]
    response = make_response(render_template("error.html", code=code, title=title,
                                             message=message), code)
    if code in RETRY_AFTER:
        response.headers["Retry-After"] = str(RETRY_AFTER[code])
    return response


def register(app: Flask) -> None:
    """Mount sign-in and sign-out, Flask-Login, the login rate limit and the error pages."""
    deps: Deps = app.extensions[EXTENSION]
    manager = LoginManager(app)
    manager.login_view = "login.login"
    manager.login_message = "Sign in to see that page."
    manager.login_message_category = "info"
    # "strong" protection (dropping the session when the address or browser changes) is not
    # needed: the id is random, lives on the server, is replaced at sign-in and deleted at
    # sign-out; and officers move between networks mid-shift.
    manager.session_protection = None
    manager.user_loader(load_user)
    limiter = Limiter(
        get_remote_address, app=app, key_prefix="console",
        storage_uri="redis://",  # the connection comes from the store (settings.redis_url)
        storage_options={"connection_pool": deps.store.redis.connection_pool,
                         "key_prefix": f"{deps.settings.key_prefix}limits"},
        strategy="moving-window", swallow_errors=True, in_memory_fallback_enabled=True)
    bp = Blueprint("login", __name__)
    bp.add_url_rule("/login", view_func=limiter.limit(LOGIN_RATE, methods=["POST"])(login),
                    methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    app.register_blueprint(bp)
    app.before_request(_needs_store)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(StoreUnavailable, _unavailable)
