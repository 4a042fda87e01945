"""What every web service does to every request: a request id, strict security headers,
proxy trust, a whole body or a 413, responses that always encode, and one personal-data-free
log line (path rule, status, timing — never data).
"""

from __future__ import annotations

import io
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider

from shared.config import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("shared.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
QUIET = ("/healthz", "/readyz", "/metrics", "/static/")
_SURROGATES = re.compile("[\ud800-\udfff]")
HSTS = "max-age=31536000; includeSubDomains"
# The direct peer's address, kept in the WSGI environ when a trusted proxy named the client.
PEER_ADDR = "liaison.peer_addr"
# app.extensions key: the settings `harden` was given (read by /metrics).
SETTINGS = "liaison_web_settings"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def showable(text: str) -> str:
    """`text` with each unpaired surrogate (UTF-8 cannot encode one) as U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


def _encode(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        return showable(text).encode()


class SafeResponse(Response):
    """A response whose text always encodes: stored text with an unpaired surrogate (from
    before intake refused them) shows as U+FFFD instead of failing the whole page."""

    def set_data(self, value: bytes | str) -> None:
        super().set_data(_encode(value) if isinstance(value, str) else value)

    def iter_encoded(self) -> Iterator[bytes]:
        items: Iterable[bytes | str] = self.response
        return (_encode(item) if isinstance(item, str) else item for item in items)


class SafeJSONProvider(DefaultJSONProvider):
    """JSON out as UTF-8 text with unpaired surrogates as U+FFFD (not as "\\ud800" escapes,
    which strict clients refuse)."""

    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return showable(super().dumps(obj, **kwargs))


class WholeBody:
    """Read a chunked request body (no Content-Length) up to one byte past the limit before
    the app sees it, and hand it on with its length.

    Werkzeug cuts such a stream at MAX_CONTENT_LENGTH without a word, so an oversized body
    reached the views truncated and read as malformed (400); with a length, it is a 413 like
    any other oversized body. Only for servers that de-chunk (`wsgi.input_terminated`).
    """

    def __init__(self, app: WSGIApplication, limit: Callable[[], int | None]) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        limit = self.limit()
        if limit is not None and environ.get("wsgi.input_terminated") and "chunked" in \
                environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = _read_at_most(environ["wsgi.input"], limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.app(environ, start_response)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """Take the client's address (and scheme) from `X-Forwarded-For` (`-Proto`) only when
    the direct peer is one of the `proxies` (addresses or networks).

    The `X-Forwarded-For` chain is walked from the right (the hop nearest us) while each
    hop is itself a trusted proxy; the first hop that is not is the client. Anything a
    client put further left is never read, and a request straight from an untrusted peer
    keeps its own address whatever headers it sends. Unlike werkzeug's ProxyFix, which
    trusts a count of hops, this cannot be fooled by reaching the app directly.
    """

    def __init__(self, app: WSGIApplication, proxies: Iterable[str]) -> None:
        self.app = app
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in proxies)

    def trusted(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(
            ip in network for network in self.networks if network.version == ip.version)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address: `peer` unless it is a trusted proxy that named another."""
        client = peer
        if not self.trusted(peer):
            return client
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            ip = _ip(hop)
            if ip is None:  # garbage where an address should be: stop at the last proxy
                break
            client = str(ip)
            if not self.trusted(client):
                break
        return client

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        environ[PEER_ADDR] = peer
        if self.networks and self.trusted(peer):
            environ["REMOTE_ADDR"] = self.client(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)


def _read_at_most(stream: IO[bytes], size: int) -> bytes:
    body = bytearray()
    while len(body) < size:
        chunk = stream.read(min(64 * 1024, size - len(body)))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def harden(app: Flask, settings: Settings, *, csp: Callable[[str], str] = lambda _: CSP,
           cacheable: tuple[str, ...] = (), who: Callable[[], str] = lambda: "") -> None:
    """Install the request id, headers, body limit, safe responses and request log on `app`.

    `csp(path)` picks the policy, `cacheable` are path prefixes that may be cached (static
    assets; everything else is `no-store`), `who()` names the signed-in staff member.
    """
    app.extensions[SETTINGS] = settings
    app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
        app.wsgi_app, settings.trusted_proxies)
    app.wsgi_app = WholeBody(  # type: ignore[method-assign]
        app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH"))
    app.response_class = SafeResponse

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
        if settings.production:  # production is served over TLS only (behind the proxy)
            headers["Strict-Transport-Security"] = HSTS
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
