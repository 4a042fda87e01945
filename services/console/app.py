"""The staff console: sign-in, the officer inbox and case pages, the live supervisor
dashboard, admin pages, and the same operations as a JSON API (bearer tokens)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from services.console import (
    api,
    display,
    login,
    web_admin,
    web_call,
    web_officer,
    web_supervisor,
)
from services.console.auth import EXTENSION
from services.console.sessions import RedisSessionInterface
from shared.bootstrap import bootstrap
from shared.config import Settings
from shared.domain.officers import Role
from shared.jsonapi import Api
from shared.messaging import Publisher
from shared.metrics import install_metrics, state_collector
from shared.observability import configure_logging
from shared.store import Store, StoreUnavailable
from shared.web import SafeJSONProvider, harden

logger = logging.getLogger(__name__)



class OrderedJSON(SafeJSONProvider):
    """Keep fields in schema order (the contact safety profile comes first in a case)."""

    sort_keys = False


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               publisher: Publisher | None = None,
               clock: Callable[[], float] | None = None) -> Flask:
    """Build the console app; nothing connects until the first request."""
    settings = settings or Settings.from_env()
    configure_logging(settings, "console")
    app = Flask(__name__)
    app.json = OrderedJSON(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.env == "test",
        DEBUG=settings.debug,
        API_TITLE="Liaison staff console",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"security": [{"bearerAuth": []}]},
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as its (timed-out) server session
        # Referrer-Policy no-referrer means browsers send no Referer, which the strict HTTPS
        # check demands; the session-bound token and SameSite=Lax cookie protect instead.
        WTF_CSRF_SSL_STRICT=False,
    )
    deps = bootstrap(settings, name="liaison-console", store=store, publisher=publisher,
                     clock=clock)
    store = deps.store
    app.session_interface = RedisSessionInterface(
        store.accounts.sessions, secure=settings.env not in ("development", "test"),
        clock=deps.clock)
    app.extensions[EXTENSION] = deps

    api_ext = Api(app, errors=api.ERRORS)
    api_ext.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API token issued with the liaison CLI"})
    api_ext.register_blueprint(api.blp)
    CSRFProtect(app).exempt(api.blp)  # bearer tokens, no cookies: nothing for a site to forge
    _register_pages(app, store)
    install_metrics(app, service="console", state=state_collector(deps))
    for part in (display, login, web_officer, web_supervisor, web_admin, web_call):
        part.register(app)
    harden(app, settings, who=lambda: g.staff.id if g.get("staff") else "")
    return app


def _register_pages(app: Flask, store: Store) -> None:
    @app.get("/")
    def index() -> ResponseReturnValue:
        """Each role's start page; the sign-in page for anyone signed out."""
        if not current_user.is_authenticated:
            return redirect(url_for("login.login"))
        endpoint = login.HOME[Role(current_user.role)]
        if endpoint not in app.view_functions:  # that role's pages are not mounted (yet)
            return render_template("index.html")
        return redirect(url_for(endpoint))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, str], int]:
        """Ready when Redis takes a write (a tiny SET with a TTL), not merely answers PING:
        out of memory or read-only, no sign-in or case action could be saved."""
        try:
            store.writable()
        except StoreUnavailable as exc:
            logger.warning("not ready: store unavailable", extra={"error": str(exc)})
            return {"status": "unavailable", "redis": exc.reason}, 503
        return {"status": "ok", "redis": "ok"}, 200
