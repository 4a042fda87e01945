"""Server-side console sessions: the cookie holds only a random id, the data lives in Redis.

* Cookie `liaison_console_session` in development and test (plain HTTP); outside them
  `__Host-liaison_console_session`, Secure (the `__Host-` prefix makes the browser refuse it
  unless it is Secure, Path=/ and has no Domain, so a sibling subdomain cannot plant or
  shadow it). HttpOnly, SameSite=Lax, Path=/; no expiry, so it goes when the browser closes.
* Idle timeout 30 minutes, absolute timeout 12 hours from sign-in. Only what a person does
  slides the idle timeout: requests a page makes by itself (polls sending
  `X-Liaison-Background: 1`, views that call `mark_background()` such as the dashboard's
  event stream) keep the session's last-seen time, so a forgotten tab is still signed out
  after 30 minutes — and a timed-out session ends on them as on any request.
* An id the server does not know is never adopted (a new one is issued), `regenerate()`
  at sign-in moves the data to a new id and deletes the old one (no fixation), and
  `destroy()` at sign-out deletes it on the server, so a copied cookie is dead too.
* Redis unreachable or refusing writes (out of memory, read-only): a session that cannot be
  read counts as none (pages that need one answer 503, login.py); one the request changed
  (sign-in, sign-out, a new form token) that cannot be saved turns the answer into the
  app's 503 for StoreUnavailable — never a 500, nor a page whose session is missing. Only
  housekeeping (sliding the idle timeout, deleting a timed-out record) may fail quietly.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, g, request, session
from flask.sessions import SessionInterface, SessionMixin, session_json_serializer
from werkzeug.datastructures import CallbackDict

from shared.store import StoreUnavailable
from shared.store.accounts import SessionRepository

logger = logging.getLogger(__name__)

COOKIE = "liaison_console_session"
SECURE_COOKIE = "__Host-" + COOKIE  # outside development and test (TLS only)
BACKGROUND_HEADER = "X-Liaison-Background"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
_SID = re.compile(r"^[A-Za-z0-9_-]{43}\Z")  # secrets.token_urlsafe(32)
_ROTATED_AT_SIGN_IN = ("csrf_token",)        # a token seen before sign-in is not reused


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Session data plus its id; `sid` is None until the first save gives it one."""

    def __init__(self, data: dict[str, Any] | None = None, *, sid: str | None = None,
                 created: float, had_cookie: bool = False, unavailable: bool = False) -> None:
        def changed(_: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(data or {}, changed)
        self.sid = sid
        self.created = created
        self.seen: float | None = None  # when a person last used it (None: new)
        self.had_cookie = had_cookie
        self.unavailable = unavailable  # Redis did not answer: nothing is read or written
        self.dropped: list[str] = []
        self.modified = False

    def regenerate(self, now: float) -> None:
        """Keep the data under a new id from now on; the old id stops working."""
        if self.sid:
            self.dropped.append(self.sid)
        self.sid = None
        self.created = now
        for key in _ROTATED_AT_SIGN_IN:
            self.pop(key, None)
        self.modified = True

    def destroy(self) -> None:
        """Forget everything; the record is deleted on the server."""
        if self.sid:
            self.dropped.append(self.sid)
        self.sid = None
        self.clear()


class RedisSessionInterface(SessionInterface):
    def __init__(self, repo: SessionRepository, *, secure: bool,
                 clock: Callable[[], float] = time.time, idle: int = IDLE_SECONDS,
                 absolute: int = ABSOLUTE_SECONDS) -> None:
        self._repo = repo
        self._secure = secure
        self.cookie = SECURE_COOKIE if secure else COOKIE
        self._clock = clock
        self._idle = idle
        self._absolute = absolute

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        now = self._clock()
        sid = request.cookies.get(self.cookie, "")
        if not _SID.match(sid):
            return ServerSession(created=now, had_cookie=bool(sid))
        try:
            raw = self._repo.get(sid)
        except StoreUnavailable:
            logger.warning("session store unavailable")
            return ServerSession(created=now, unavailable=True)
        record = json.loads(raw) if raw else None
        if record is None or now - record["seen"] > self._idle \
                or now - record["created"] > self._absolute:
            fresh = ServerSession(created=now, had_cookie=True)
            if record is not None:
                fresh.dropped.append(sid)  # timed out: delete it now, not at its TTL
            return fresh
        data = session_json_serializer.loads(record["data"])
        opened = ServerSession(data, sid=sid, created=record["created"], had_cookie=True)
        opened.seen = record["seen"]
        return opened

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.unavailable:
            return
        try:
            self._save(session, response)
        except StoreUnavailable as exc:  # unreachable, or refusing writes (out of memory...)
            session.unavailable = True
            if not session.modified:
                # Housekeeping only (sliding the idle timeout, deleting a timed-out record):
                # the page stands; reading still works while Redis refuses writes.
                logger.warning("session not refreshed: store unavailable",
                               extra={"error": str(exc)})
                return
            # Sign-in, sign-out, a new form token: the page is wrong without the session
            # behind it. Answer as the app answers StoreUnavailable (a 503 with Retry-After),
            # not with a 500 or a page whose form or sign-in will not work.
            logger.warning("session not saved: store unavailable", extra={"error": str(exc)})
            _answer_instead(app, exc, response)

    def _save(self, session: ServerSession, response: Response) -> None:
        now = self._clock()
        # A page's own requests leave the idle clock where the person left it.
        kept = session.seen is not None and session.sid is not None and in_background()
        seen = session.seen if kept and session.seen is not None else now
        ttl = math.ceil(min(seen + self._idle - now, session.created + self._absolute - now))
        if not session or ttl <= 0:
            self._repo.delete(*session.dropped, *([session.sid] if session.sid else []))
            if session.had_cookie:
                response.delete_cookie(self.cookie, path="/", secure=self._secure,
                                       httponly=True, samesite="Lax")
            return
        if kept and not session.modified and not session.dropped:
            return  # nothing changed, and the idle clock is not to move: nothing to write
        new = session.sid is None
        sid = session.sid or secrets.token_urlsafe(32)
        record = {"created": session.created, "seen": seen,
                  "data": session_json_serializer.dumps(dict(session))}
        self._repo.put(sid, json.dumps(record), ttl, replacing=tuple(session.dropped))
        session.sid, session.dropped, session.seen = sid, [], seen
        if new:
            response.set_cookie(self.cookie, sid, path="/", secure=self._secure, httponly=True,
                                samesite="Lax")


# Headers of the page that was rendered which must not survive on the error answer.
_BODY_HEADERS = ("Location", "Content-Disposition", "Content-Encoding", "ETag",
                 "Last-Modified", "Refresh")


def _answer_instead(app: Flask, exc: StoreUnavailable, response: Response) -> None:
    """Make `response` (already through the after_request hooks, so it keeps their security
    headers) the app's answer to `exc`: its error handler's status, body and headers."""
    try:
        answer = app.make_response(app.handle_user_exception(exc))
    except StoreUnavailable:  # no handler registered
        answer = app.response_class("Service unavailable; try again shortly.", 503,
                                    {"Retry-After": "5", "Content-Type": "text/plain"})
    old = response.response
    if not isinstance(old, list | tuple) and hasattr(old, "close"):
        old.close()  # a stream that will never be sent
    for name in _BODY_HEADERS:
        response.headers.pop(name, None)
    response.direct_passthrough = False
    response.set_data(answer.get_data())
    response.status_code = answer.status_code
    for name, value in answer.headers.items():
        response.headers[name] = value


def mark_background() -> None:
    """This request is one a page makes by itself (a poll, an event stream): it does not
    slide the idle timeout."""
    g.liaison_background = True


def in_background() -> bool:
    """Whether this request was made by a page by itself (see `mark_background`)."""
    return request.headers.get(BACKGROUND_HEADER) == "1" or bool(
        g.get("liaison_background"))


def regenerate(now: float) -> None:
    """At sign-in: a new session id for the current data, the old one deleted."""
    _current().regenerate(now)


def destroy() -> None:
    """At sign-out: the session is deleted on the server and its cookie cleared."""
    _current().destroy()


def store_unavailable() -> bool:
    """True when this request's session could not be read (Redis down)."""
    return _current().unavailable


def _current() -> ServerSession:
    current = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(current, ServerSession)
    return current
