"""Who is calling: `Authorization: Bearer <token>` → a staff identity; roles as decorators.

Tokens are issued by the CLI (`store.officers.issue_token`) and stored only as hashes; a
role change or a disabled login revokes it (`store.accounts.end_access`). No, an unknown, a
revoked token or one of a disabled login → 401; the wrong role → 403.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import current_app, g, request
from webargs.flaskparser import abort  # flask_smorest's abort, typed NoReturn

from services.console.handlers import Staff
from shared.bootstrap import Deps
from shared.domain.officers import Officer, Role

EXTENSION = "liaison_console"
MAX_TOKEN_LENGTH = 200
F = TypeVar("F", bound=Callable[..., Any])


def current_deps() -> Deps:
    """The console's dependencies (built once by the app factory)."""
    return cast(Deps, current_app.extensions[EXTENSION])


def current_staff() -> Staff:
    """The caller, as set by `authenticate` for every API request."""
    return cast(Staff, g.staff)


def authenticate() -> None:
    """Resolve the bearer token to a staff member, or answer 401 (before every API view)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        _unauthorised("Send an API token: Authorization: Bearer <token>.")
    store = current_deps().store
    staff_id = store.officers.officer_for_token(token)
    record = store.officers.raw(staff_id) if staff_id else {}
    if not record or record.get("token_digest") != _digest(token) \
            or record.get("login_disabled") == "1":
        _unauthorised("This API token is not valid (it may have been replaced or revoked).")
    officer = Officer.from_fields(record)
    g.staff = Staff(officer.id, officer.name, officer.role, via="api")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # as store.officers keeps it


def _unauthorised(message: str) -> NoReturn:
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="liaison"'})


def roles(*allowed: Role) -> Callable[[F], F]:
    """Only staff with one of these roles may call the view (else 403)."""
    names = ", ".join(sorted(r.value + "s" for r in allowed))

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_staff().role not in allowed:
                abort(403, message=f"Only {names} may do this.")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


officers_only = roles(Role.OFFICER)
supervisors_only = roles(Role.SUPERVISOR)
