"""Connections the notifier keeps open between sends: one SMTP session per server, one
HTTP keep-alive connection per webhook destination (per process, behind a lock).

Each connection goes to the address the outbound fence checked (`pinned`) and is reused
only for a send whose fence check gives the same address: a host that now resolves
elsewhere gets a new, freshly checked connection. A reused connection found dead before the
message could have been accepted (the server closed an idle SMTP session before DATA, or
an idle HTTP connection before answering) is replaced once; a failure after that point is
the send's failure (never sent twice within one claim). A forked child never uses its
parent's sockets.
"""

from __future__ import annotations

import http.client
import os
import select
import smtplib
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

IDLE_SECONDS = 60.0  # an SMTP session idle this long is closed rather than tried


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to the address the fence checked; the name stays for TLS and greetings. Notes
    whether DATA was begun, the point after which the server may hold the message."""

    data_started = False

    def __init__(self, address: str, host: str, port: int, **kwargs: Any) -> None:
        self._pinned = address
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return super()._get_socket(self._pinned, port, timeout)  # type: ignore[misc]

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class _PinnedSMTPSSL(_PinnedSMTP, smtplib.SMTP_SSL):
    """SMTP over TLS to the checked address; the certificate is checked for the name."""


def _dead_before_data(session: _PinnedSMTP, exc: BaseException) -> bool:
    """The session was gone before the message was handed over: safe to send it again."""
    if session.data_started:
        return False
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return True
    # A 421 ("closing channel") at MAIL or RCPT: smtplib has closed the session.
    return isinstance(exc, smtplib.SMTPException) and session.sock is None


class SmtpSession:
    """One SMTP session to one server, opened on first send and reused for the next."""

    def __init__(self, host: str, port: int, *, tls: bool, user: str, password: str,
                 timeout: float) -> None:
        self._host, self._port, self._tls = host, port, tls
        self._user, self._password, self._timeout = user, password, timeout
        self._lock = threading.Lock()
        self._held: list[_PinnedSMTP] = []  # the open session, if any
        self._pinned = ""
        self._pid = os.getpid()
        self._last_used = 0.0
        self.opened = 0  # sessions opened so far (for tests and benchmarks)
        weakref.finalize(self, _close_all, self._held)  # no socket outlives its owner

    def send(self, pinned: str, email: EmailMessage) -> None:
        """Send over the open session to `pinned`, or a new one; raises smtplib/OS errors."""
        with self._lock:
            session = self._reusable(pinned)
            if session is not None:
                try:
                    self._send_on(session, email)
                    return
                except Exception as exc:
                    if not _dead_before_data(session, exc):
                        raise
                    self._drop()  # gone before the message was handed over: once more
            self._send_on(self._open(pinned), email)

    def close(self) -> None:
        """QUIT the open session, if any (worker shutdown)."""
        with self._lock:
            self._drop(polite=True)

    def _reusable(self, pinned: str) -> _PinnedSMTP | None:
        if self._pid != os.getpid():  # a fork's copy of the parent's socket: never use it
            _close_all(self._held)  # closes this process's copy only (no goodbye sent)
            self._pid = os.getpid()
        if self._held and (self._pinned != pinned or self._held[0].sock is None
                           or time.monotonic() - self._last_used > IDLE_SECONDS):
            self._drop()
        return self._held[0] if self._held else None

    def _open(self, pinned: str) -> _PinnedSMTP:
        session: _PinnedSMTP
        if self._tls:
            session = _PinnedSMTPSSL(pinned, self._host, self._port, timeout=self._timeout,
                                     context=ssl.create_default_context())
        else:
            session = _PinnedSMTP(pinned, self._host, self._port, timeout=self._timeout)
        self.opened += 1
        try:
            if self._user:
                session.login(self._user, self._password)
        except Exception:
            session.close()
            raise
        self._held[:] = [session]
        self._pinned = pinned
        return session

    def _send_on(self, session: _PinnedSMTP, email: EmailMessage) -> None:
        session.data_started = False
        try:
            session.send_message(email)
        except smtplib.SMTPException:
            if session.sock is None:  # a 421 or a disconnect: smtplib closed it
                self._drop()
            raise  # a refusal: smtplib reset the session, which stays
        except Exception:
            self._drop()  # state unknown
            raise
        self._last_used = time.monotonic()

    def _drop(self, *, polite: bool = False) -> None:
        """Forget the session: QUIT at shutdown, else just close (a session being dropped
        may be dead, and QUIT would wait for a reply that never comes)."""
        if not self._held:
            return
        session = self._held.pop()
        if polite:
            try:
                session.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        session.close()


def _close_all(connections: Any) -> None:
    """Close (no goodbye on the wire) what a garbage-collected pool still holds."""
    held = list(connections.values() if isinstance(connections, dict) else connections)
    connections.clear()
    for connection in held:
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._pinned = address

    def connect(self) -> None:
        self.sock = _no_delay(socket.create_connection((self._pinned, self.port),
                                                       self.timeout))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, with SNI and certificate check for the host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._pinned = address

    def connect(self) -> None:
        sock = _no_delay(socket.create_connection((self._pinned, self.port), self.timeout))
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _no_delay(sock: socket.socket) -> socket.socket:
    """http.client writes the headers and the body separately: on a kept-alive connection
    Nagle would hold the body until the server's delayed ACK (40 ms on Linux)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


Key = tuple[bool, str, int, str]  # (https, host, port, pinned address)


class HttpPool:
    """Idle keep-alive connections, at most one per (scheme, host, port, pinned address)."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._idle: dict[Key, http.client.HTTPConnection] = {}
        self._pid = os.getpid()
        self.opened = 0  # connections opened so far (for tests and benchmarks)
        weakref.finalize(self, _close_all, self._idle)

    def post(self, key: Key, path: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and read the answer; the status. Raises OSError/HTTPException."""
        connection = self._take(key)
        if connection is not None:
            try:
                return self._exchange(key, connection, path, body, headers)
            except (ConnectionError, http.client.RemoteDisconnected) as exc:
                # The server closed the idle connection as we sent: it answered nothing
                # (RemoteDisconnected is an empty status line), so one fresh try is safe.
                if not _unanswered(exc):
                    raise
        return self._exchange(key, self._new(key), path, body, headers)

    def close(self) -> None:
        with self._lock:
            _close_all(self._idle)

    def _exchange(self, key: Key, connection: http.client.HTTPConnection, path: str,
                  body: bytes, headers: dict[str, str]) -> int:
        try:  # http.client follows no redirect: a 3xx is the caller's failed delivery
            connection.request("POST", path, body=body, headers=headers)
            with connection.getresponse() as response:
                response.read()
                status, closing = response.status, response.will_close
        except BaseException:
            connection.close()
            raise
        if closing:
            connection.close()
        else:
            self._give_back(key, connection)
        return status

    def _take(self, key: Key) -> http.client.HTTPConnection | None:
        with self._lock:
            if self._pid != os.getpid():  # never a parent's socket after a fork
                _close_all(self._idle)
                self._pid = os.getpid()
            connection = self._idle.pop(key, None)
        if connection is not None and _dropped(connection):
            connection.close()
            return None
        return connection

    def _give_back(self, key: Key, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            extra = self._idle.get(key)
            self._idle[key] = connection
        if extra is not None:
            extra.close()

    def _new(self, key: Key) -> http.client.HTTPConnection:
        https, host, port, pinned = key
        kind: Callable[..., http.client.HTTPConnection] = \
            _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        self.opened += 1
        return kind(pinned, host, port, self._timeout)


def _unanswered(exc: BaseException) -> bool:
    return isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError
                      | ConnectionResetError | ConnectionAbortedError)


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle connection whose socket is readable has been closed by the server (or sent
    something unasked): not reusable."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
