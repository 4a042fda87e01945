"""Channels: the ways a message leaves the notifier (in-app inbox, SMTP, webhooks, Apprise).

A channel raises a `ChannelError` subclass when a send fails. Their messages name the
channel and the error type only: an SMTP or HTTP error text can echo an address.

Every destination goes through the outbound fence (`shared.outbound`) right before it is
used: a refused one raises `ChannelRefused` (permanent: no retry). Webhooks and SMTP connect
to the very address the fence checked (no second DNS lookup), and webhooks follow no
redirect. SMTP and webhooks keep their connection open between sends, one per process and
destination address (`shared.pooled`); Apprise opens its own for each send.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import unquote, urlparse, urlsplit

from shared.domain.notifications import Message
from shared.outbound import CHANNEL_SCHEMES, SMTP_SCHEMES, Destination, Fence, OutboundRefused
from shared.pooled import HttpPool, SmtpSession
from shared.store.notifications import NotificationRepository

logger = logging.getLogger(__name__)

TIMEOUT = 10.0
REFUSED = "outbound_refused"


class ChannelError(Exception):
    """A send failed; the message is safe to log (channel and error type, nothing else)."""

    def __init__(self, channel: str, cause: BaseException | str) -> None:
        self.cause = cause if isinstance(cause, str) else type(cause).__name__
        super().__init__(f"{channel}: {self.cause}")


class ChannelUnavailable(ChannelError):
    """The other side could not be reached or timed out; worth retrying."""


class ChannelRejected(ChannelError):
    """The other side answered with a refusal (bad address, HTTP error status)."""


class ChannelRefused(ChannelError):
    """The outbound fence refused the destination (scheme, internal address): permanent, the
    notifier dead-letters the notification without retrying (services/notifier/handlers)."""


def fenced(fence: Fence, channel: str, url: str, schemes: Any = CHANNEL_SCHEMES) -> Destination:
    """Check `url` right before use: ChannelRefused (logged with the host only) if the fence
    refuses it, ChannelUnavailable if its host does not resolve now."""
    try:
        return fence.check(url, schemes)
    except OutboundRefused as exc:
        logger.warning("outbound destination refused", extra={
            "channel": channel, "reason": REFUSED, "detail": str(exc)})
        raise ChannelRefused(channel, REFUSED) from None
    except (OSError, UnicodeError) as exc:
        raise ChannelUnavailable(channel, exc) from None


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

    def __init__(self, smtp_url: str, mail_from: str, *, fence: Fence | None = None,
                 timeout: float = TIMEOUT) -> None:
        # The server LIAISON_SMTP_URL names is the operator's own choice: its host:port may
        # be a private or loopback relay; link-local (metadata), multicast, reserved and
        # unspecified addresses still need LIAISON_OUTBOUND_ALLOW.
        self._url = smtp_url
        self._fence = (fence or Fence()).with_allowed(smtp_url, SMTP_SCHEMES)
        parsed = urlparse(smtp_url)
        self._tls = parsed.scheme == "smtps"
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or (465 if self._tls else 25)
        self._user = unquote(parsed.username or "")
        self._password = unquote(parsed.password or "")
        self._from = mail_from
        # One session per process, reused message after message (shared.pooled).
        self._session = SmtpSession(self._host, self._port, tls=self._tls, user=self._user,
                                    password=self._password, timeout=timeout)

    def send(self, address: str, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self._from
        email["To"] = address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self._from.rpartition("@")[2] or None)
        email.set_content(message.body)
        destination = fenced(self._fence, self.name, self._url, SMTP_SCHEMES)
        try:
            self._session.send(destination.addresses[0], email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError) as exc:
            raise ChannelRejected(self.name, exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelUnavailable(self.name, exc) from None

    def close(self) -> None:
        """End the open session (worker shutdown)."""
        self._session.close()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Liaison-Signature value: sha256=<hex HMAC of "<timestamp>.<body>">."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookChannel:
    """A signed JSON POST; the address is the http(s) URL (`webhook+` already removed)."""

    name = "webhook"

    def __init__(self, secret: str, *, fence: Fence | None = None,
                 timeout: float = TIMEOUT) -> None:
        self._secret = secret
        self._fence = fence or Fence()
        self._pool = HttpPool(timeout)  # keep-alive, per checked destination address

    def send(self, address: str, message: Message) -> None:
        destination = fenced(self._fence, self.name, f"webhook+{address}")
        now = time.time()
        body = json.dumps({
            "kind": message.kind, "reference": message.reference,
            "priority": message.priority, "district": message.district,
            "link": message.link, "text": message.body,
            "sent_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        }, separators=(",", ":")).encode()
        timestamp = str(int(now))
        headers = {
            "Content-Type": "application/json", "User-Agent": "liaison-notifier",
            "X-Liaison-Timestamp": timestamp,
            "X-Liaison-Signature": sign(self._secret, timestamp, body),
        }
        parts = urlsplit(address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (destination.scheme == "webhook+https", destination.host, destination.port,
               destination.addresses[0])
        try:  # http.client follows no redirect: a 3xx is a failed delivery
            status = self._pool.post(key, path, body, headers)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ChannelUnavailable(self.name, exc) from None
        if not 200 <= status < 300:
            raise ChannelRejected(self.name, f"HTTP{status}")

    def close(self) -> None:
        """Close the idle keep-alive connections (worker shutdown)."""
        self._pool.close()


class AppriseChannel:
    """Everything Apprise speaks (Teams, SMS gateways, JSON webhooks); the address is its URL."""

    name = "apprise"

    def __init__(self, *, fence: Fence | None = None) -> None:
        self._fence = fence or Fence()
        # Apprise logs target URLs and gateway replies, which may hold numbers or tokens.
        logging.getLogger("apprise").setLevel(logging.CRITICAL)

    def send(self, address: str, message: Message) -> None:
        import apprise  # heavy import, only in processes that use it

        # Checked right before Apprise connects (Apprise resolves again itself: the gap is
        # this call's length); Apprise follows no redirect.
        fenced(self._fence, self.name, address)
        sender = apprise.Apprise(asset=apprise.AppriseAsset(http_redirects=False))
        if not sender.add(address):
            raise ChannelRejected(self.name, "UnsupportedURL")
        try:
            ok = sender.notify(body=message.body, title=message.subject)
        except Exception as exc:  # a plugin's own error: keep the type only
            raise ChannelUnavailable(self.name, exc) from None
        if not ok:
            raise ChannelUnavailable(self.name, "NotifyFailed")
