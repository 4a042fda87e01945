"""The staff console. This first version serves health checks and a holding page; the
officer inbox, supervisor dashboard and login come with the routing and console issues."""

from __future__ import annotations

from flask import Flask, Response, render_template

from shared.config import Settings
from shared.observability import configure_logging
from shared.store import Store, StoreUnavailable, redis_client

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """Build the console app; nothing connects until the first request."""
    settings = settings or Settings.from_env()
    configure_logging(settings, "console")
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, TESTING=settings.env == "test")
    store = store or Store(redis_client(settings.redis_url), prefix=settings.key_prefix)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, str], int]:
        try:
            store.ping()
        except StoreUnavailable:
            return {"status": "unavailable", "redis": "unreachable"}, 503
        return {"status": "ok", "redis": "ok"}, 200

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return app
