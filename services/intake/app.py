"""The public intake service: report and callback forms, the partner JSON API, health."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from services.intake import api, views
from shared.bootstrap import bootstrap, redis_connection
from shared.config import Settings
from shared.jsonapi import Api
from shared.messaging import Publisher
from shared.metrics import install_metrics
from shared.observability import configure_logging
from shared.store import Store
from shared.web import CSP, SafeJSONProvider, harden

logger = logging.getLogger(__name__)

# Swagger UI sets a few inline styles; the API docs page has no personal data.
DOCS = "/api/v1/docs"
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               publisher: Publisher | None = None) -> Flask:
    """Build the intake app; nothing connects until the first request."""
    settings = settings or Settings.from_env()
    configure_logging(settings, "intake")
    app = Flask(__name__)
    app.json = SafeJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_NAME="liaison_intake",
        WTF_CSRF_TIME_LIMIT=None,  # a long account must not expire while being written
        # Referrer-Policy: no-referrer means browsers send no Referer, so Flask-WTF's strict
        # HTTPS referrer check would refuse every form; the token + SameSite cookie remain.
        WTF_CSRF_SSL_STRICT=False,
        API_TITLE="Liaison public intake",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        NEUTRAL_EXIT_URL=settings.neutral_exit_url,
        TESTING=settings.env == "test",
        DEBUG=settings.debug,
    )
    deps = bootstrap(settings, name="liaison-intake", store=store, publisher=publisher)
    app.extensions["liaison"] = deps
    app.extensions["liaison_settings"] = settings

    csrf = CSRFProtect(app)
    storage_uri = settings.redis_url
    storage_options: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 2}
    if settings.sentinel:  # the counters live on whichever node is master now
        storage_uri = "redis://"
        storage_options = {
            "connection_pool": redis_connection(settings, timeout=2).connection_pool}
    # Fixed window: one INCR-and-EXPIRE script and one key per limit, the cheapest Redis
    # strategy measured (bench/intake_profile.py `strategy_costs`: about 15% less time and
    # 25% less redis-server CPU per hit than sliding-window-counter; moving-window keeps a
    # list entry per hit). Its window starts at an address's first hit, so across a
    # window's edge an address can get up to twice the limit through in a short time —
    # acceptable for abuse control, which is about sustained volume; the per-hour limit
    # still caps the total.
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=storage_uri,
        storage_options=storage_options,
        key_prefix=f"{settings.key_prefix}limits", strategy="fixed-window",
        swallow_errors=True,  # Redis down: let the request reach the 503 path
        in_memory_fallback_enabled=True,
    )
    views.register(app, limiter, settings.rate_limit, settings.rate_limit_failed)

    api_ext = Api(app, errors=api.ERRORS)
    api.register(app, api_ext, limiter, settings.api_rate_limit)
    csrf.exempt(api.blp)
    # "Exit this page" forgets the draft by a beacon, which carries no token; it can only
    # delete the sender's own draft, and a SameSite=Lax cookie is not sent cross-site.
    csrf.exempt("services.intake.views.exit_page")
    views.register_error_pages(app, api_ext.handle_http_exception)

    install_metrics(app, service="intake")  # the state of the work: the console's /metrics
    harden(app, settings, csp=lambda path: DOCS_CSP if path.startswith(DOCS) else CSP,
           cacheable=("/static/", "/api/v1/docs/assets/"))
    return app
