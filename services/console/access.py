"""Who may see a staff page: a signed-in session (Flask-Login) with one of the given roles.

Not signed in → the login page (the original URL kept in `next`); the wrong role → 403.
Pages get the caller as `current_web_staff()` — the same `Staff` the JSON API uses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g
from flask_login import current_user

from services.console.handlers import Staff
from shared.domain.officers import Role

F = TypeVar("F", bound=Callable[..., Any])


def current_web_staff() -> Staff:
    """The signed-in staff member (only inside a view protected by `page_for`)."""
    return cast(Staff, g.staff)


def page_for(*roles: Role) -> Callable[[F], F]:
    """Protect a page: signed in, and with one of `roles`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            staff = Staff(current_user.id, current_user.name, Role(current_user.role))
            if staff.role not in roles:
                abort(403)
            g.staff = staff
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


OFFICER = (Role.OFFICER,)
SUPERVISOR = (Role.SUPERVISOR,)
ADMIN = (Role.ADMIN,)
CALL_HANDLER = (Role.CALL_HANDLER,)
CALL_TAKERS = (Role.CALL_HANDLER, Role.SUPERVISOR)  # the 101 call pages (web_call)
