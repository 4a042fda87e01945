"""What every web service does to every request: a request id, strict security headers,
proxy trust, and one personal-data-free log line (path rule, status, timing — never data).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import Settings

logger = logging.getLogger("shared.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
QUIET = ("/healthz", "/readyz", "/metrics", "/static/")


def harden(app: Flask, settings: Settings, *, csp: Callable[[str], str] = lambda _: CSP,
           cacheable: tuple[str, ...] = (), who: Callable[[], str] = lambda: "") -> None:
    """Install the request id, headers and request log on `app`.

    `csp(path)` picks the policy, `cacheable` are path prefixes that may be cached (static
    assets; everything else is `no-store`), `who()` names the signed-in staff member.
    """
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    @app.before_request
    def start() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = csp(request.path)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = "geolocation=(), camera=(), microphone=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith(cacheable):
            headers["Cache-Control"] = "no-store"
        headers["X-Request-ID"] = g.get("request_id", "")
        if not request.path.startswith(QUIET):
            logger.info("request", extra={
                "request_id": g.get("request_id"), "method": request.method,
                "path": request.url_rule.rule if request.url_rule else "unmatched",
                "status": response.status_code, "staff_id": who(),
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter()))
                            * 1000, 1),
            })
        return response
