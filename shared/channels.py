"""Channels: the ways a message leaves the notifier (in-app inbox, SMTP, webhooks, Apprise).

A channel raises a `ChannelError` subclass when a send fails. Their messages name the
channel and the error type only: an SMTP or HTTP error text can echo an address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlparse

from shared.domain.notifications import Message
from shared.store.notifications import NotificationRepository

TIMEOUT = 10.0


class ChannelError(Exception):
    """A send failed; the message is safe to log (channel and error type, nothing else)."""

    def __init__(self, channel: str, cause: BaseException | str) -> None:
        self.cause = cause if isinstance(cause, str) else type(cause).__name__
        super().__init__(f"{channel}: {self.cause}")


class ChannelUnavailable(ChannelError):
    """The other side could not be reached or timed out; worth retrying."""


class ChannelRejected(ChannelError):
    """The other side answered with a refusal (bad address, HTTP error status)."""


class Channel(Protocol):
    """Sends one message to one address, or raises ChannelError."""

    name: str

    def send(self, address: str, message: Message) -> None: ...


class InAppChannel:
    """The staff console's inbox; the address is the staff id."""

    name = "inapp"

    def __init__(self, notifications: NotificationRepository) -> None:
        self._notifications = notifications

    def send(self, address: str, message: Message) -> None:
        self._notifications.push_inbox(address, {
            "id": uuid.uuid4().hex, "kind": message.kind, "reference": message.reference,
            "priority": message.priority, "district": message.district,
            "link": message.link, "subject": message.subject, "text": message.body,
            "at": time.time(),
        })


class SmtpChannel:
    """Email over SMTP: smtp://host:port (plain) or smtps://user:password@host:port (TLS)."""

    name = "email"

    def __init__(self, smtp_url: str, mail_from: str, *, timeout: float = TIMEOUT) -> None:
        parsed = urlparse(smtp_url)
        self._tls = parsed.scheme == "smtps"
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or (465 if self._tls else 25)
        self._user = unquote(parsed.username or "")
        self._password = unquote(parsed.password or "")
        self._from = mail_from
        self._timeout = timeout

    def send(self, address: str, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self._from
        email["To"] = address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self._from.rpartition("@")[2] or None)
        email.set_content(message.body)
        try:
            smtp: smtplib.SMTP
            if self._tls:
                smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with smtp:
                if self._user:
                    smtp.login(self._user, self._password)
                smtp.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            raise ChannelRejected(self.name, exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelUnavailable(self.name, exc) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Liaison-Signature value: sha256=<hex HMAC of "<timestamp>.<body>">."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookChannel:
    """A signed JSON POST; the address is the http(s) URL (`webhook+` already removed)."""

    name = "webhook"

    def __init__(self, secret: str, *, timeout: float = TIMEOUT) -> None:
        self._secret = secret
        self._timeout = timeout

    def send(self, address: str, message: Message) -> None:
        now = time.time()
        body = json.dumps({
            "kind": message.kind, "reference": message.reference,
            "priority": message.priority, "district": message.district,
            "link": message.link, "text": message.body,
            "sent_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        }, separators=(",", ":")).encode()
        timestamp = str(int(now))
        request = urllib.request.Request(address, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "liaison-notifier",
            "X-Liaison-Timestamp": timestamp,
            "X-Liaison-Signature": sign(self._secret, timestamp, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ChannelRejected(self.name, f"HTTP{exc.code}") from None
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused; bad URL
            raise ChannelUnavailable(self.name, exc) from None
        if not 200 <= status < 300:
            raise ChannelRejected(self.name, f"HTTP{status}")


class AppriseChannel:
    """Everything Apprise speaks (Teams, SMS gateways, JSON webhooks); the address is its URL."""

    name = "apprise"

    def __init__(self) -> None:
        # Apprise logs target URLs and gateway replies, which may hold numbers or tokens.
        logging.getLogger("apprise").setLevel(logging.CRITICAL)

    def send(self, address: str, message: Message) -> None:
        import apprise  # heavy import, only in processes that use it

        sender = apprise.Apprise()
        if not sender.add(address):
            raise ChannelRejected(self.name, "UnsupportedURL")
        try:
            ok = sender.notify(body=message.body, title=message.subject)
        except Exception as exc:  # a plugin's own error: keep the type only
            raise ChannelUnavailable(self.name, exc) from None
        if not ok:
            raise ChannelUnavailable(self.name, "NotifyFailed")
