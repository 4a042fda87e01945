"""The outbound fence at use time, with real local HTTP receivers and real Redis: a webhook to
127.0.0.1 is refused without the allow list (dead-lettered at once as `outbound_refused`, the
URL's secrets never logged) and delivered with it; a redirect is never followed; the webhook
connects to the very address the fence checked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ops.devredis import free_port
from services.notifier.handlers import deliver
from shared.bootstrap import Deps, bootstrap
from shared.channels import (
    AppriseChannel,
    ChannelRefused,
    ChannelRejected,
    ChannelUnavailable,
    SmtpChannel,
    WebhookChannel,
)
from shared.config import Settings
from shared.domain.notifications import Kind, Message, RecipientType
from shared.outbound import Fence
from shared.store import Store, redis_client
from tests.fakes import FakePublisher
from tests.fakes_notifier import save_notification, save_staff

pytestmark = pytest.mark.integration

PREFIX = "fence:"
TOKEN = "s3cr3t-hook-token"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request (any method) and answers
    `status`, with a Location header when `location` is set."""

    def __init__(self, status: int = 204, location: str = "") -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                self.rfile.read(length)
                outer.requests.append((self.command, self.path, dict(self.headers.items())))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def store(redis_url: str) -> Iterator[Store]:
    client = redis_client(redis_url)
    yield Store(client, prefix=PREFIX)
    client.close()


def deps_for(tmp_path: Path, redis_url: str, store: Store, allow: str) -> Deps:
    settings = Settings.for_tests(var_dir=tmp_path, redis_url=redis_url, key_prefix=PREFIX,
                                  webhook_secret="fence-secret",
                                  console_url="https://console.example", outbound_allow=allow)
    return bootstrap(settings, store=store, publisher=FakePublisher())


def offer_to(store: Store, channel: str) -> str:
    save_staff(store, "o1", channels=[channel])
    return save_notification(store, Kind.OFFER, recipient_type=RecipientType.OFFICER,
                             recipient="o1", now=time.time())


MESSAGE = Message(subject="New case", body="A case is offered to you.", kind="offer",
                  reference="K7XM-4QPA-R")


def test_a_webhook_to_loopback_is_refused_without_the_allow_list_and_dead_lettered_at_once(
        tmp_path: Path, redis_url: str, store: Store, receiver: Receiver,
        caplog: pytest.LogCaptureFixture):
    deps = deps_for(tmp_path, redis_url, store, allow="")
    nid = offer_to(store, f"webhook+{receiver.url}/hooks/{TOKEN}")

    with caplog.at_level(logging.DEBUG):
        outcome = deliver(nid, deps)

    assert outcome == "dead"                                   # no retries
    record = store.notifications.get(nid)
    assert record is not None and record["attempts"] == "1"
    assert "outbound_refused" in record["last_error"]
    assert nid in store.notifications.dead_letters()
    assert receiver.requests == []
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "outbound_refused" in logged and "127.0.0.1" in logged
    assert TOKEN not in logged and "/hooks/" not in logged


def test_the_same_webhook_is_delivered_when_the_allow_list_names_the_receiver(
        tmp_path: Path, redis_url: str, store: Store, receiver: Receiver):
    deps = deps_for(tmp_path, redis_url, store, allow=f"127.0.0.1:{receiver.port}")
    nid = offer_to(store, f"webhook+{receiver.url}/hooks/{TOKEN}")

    assert deliver(nid, deps) == "sent"

    [(method, path, headers)] = receiver.requests
    assert (method, path) == ("POST", f"/hooks/{TOKEN}")
    assert headers["X-Liaison-Signature"].startswith("sha256=")


def test_a_redirect_is_not_followed(tmp_path: Path, redis_url: str, store: Store,
                                    receiver: Receiver):
    redirecting = Receiver(status=302, location=f"{receiver.url}/stolen")
    try:
        deps = deps_for(tmp_path, redis_url, store, allow="127.0.0.1")
        nid = offer_to(store, f"webhook+{redirecting.url}/hook")

        assert deliver(nid, deps) == "retry"                  # a failed delivery
        record = store.notifications.get(nid)
        assert record is not None and record["last_error"] == "ChannelRejected:HTTP302"
        assert [m for m, _, _ in redirecting.requests] == ["POST"]
        assert receiver.requests == []                         # the second URL got nothing
    finally:
        redirecting.close()


def test_the_webhook_connects_to_the_address_the_fence_checked(receiver: Receiver):
    """`hooks.fence.test` exists only in the fence's resolver: the POST reaches the receiver
    because the connection is pinned to the checked address (no second DNS lookup)."""
    fence = Fence("hooks.fence.test", resolver=lambda host, port: ["127.0.0.1"])
    channel = WebhookChannel("fence-secret", fence=fence)

    channel.send(f"http://hooks.fence.test:{receiver.port}/x", MESSAGE)

    [(_, path, headers)] = receiver.requests
    assert path == "/x" and headers["Host"] == f"hooks.fence.test:{receiver.port}"


def test_a_webhook_answering_an_error_is_rejected(receiver: Receiver):
    failing = Receiver(status=500)
    try:
        channel = WebhookChannel("s", fence=Fence("127.0.0.1"))
        with pytest.raises(ChannelRejected, match="HTTP500"):
            channel.send(f"{failing.url}/x", MESSAGE)
    finally:
        failing.close()


@pytest.mark.filterwarnings("ignore:.imghdr. is deprecated:DeprecationWarning")  # apprise
def test_apprise_urls_pass_the_fence_before_apprise_sees_them(receiver: Receiver):
    url = f"json://127.0.0.1:{receiver.port}/in"
    with pytest.raises(ChannelRefused):
        AppriseChannel(fence=Fence("")).send(url, MESSAGE)
    with pytest.raises(ChannelRefused):
        AppriseChannel(fence=Fence("127.0.0.1")).send("file:///etc/passwd", MESSAGE)
    assert receiver.requests == []

    AppriseChannel(fence=Fence("127.0.0.1")).send(url, MESSAGE)

    assert [(m, p) for m, p, _ in receiver.requests] == [("POST", "/in")]


@pytest.mark.filterwarnings("ignore:.imghdr. is deprecated:DeprecationWarning")  # apprise
def test_apprise_follows_no_redirect(receiver: Receiver):
    redirecting = Receiver(status=307, location=f"{receiver.url}/stolen")
    try:
        channel = AppriseChannel(fence=Fence("127.0.0.1"))
        with pytest.raises(ChannelUnavailable, match="NotifyFailed"):
            channel.send(f"json://127.0.0.1:{redirecting.port}/in", MESSAGE)
        assert len(redirecting.requests) == 1
        assert receiver.requests == []
    finally:
        redirecting.close()


def test_a_refused_url_beside_a_transient_failure_is_retried_with_the_refusal_named(
        tmp_path: Path, redis_url: str, store: Store):
    """Only when every failure of an attempt is a refusal is the notification dead at once;
    a transient failure beside it keeps the retries (the refused URL sends nothing)."""
    deps = deps_for(tmp_path, redis_url, store, allow="127.0.0.1")
    save_staff(store, "o1", channels=["webhook+https://169.254.169.254/latest",
                                      f"webhook+http://127.0.0.1:{free_port()}/down"])
    nid = save_notification(store, Kind.OFFER, recipient_type=RecipientType.OFFICER,
                            recipient="o1", now=time.time())

    assert deliver(nid, deps) == "retry"
    record = store.notifications.get(nid)
    assert record is not None and "outbound_refused" in record["last_error"]


def test_the_smtp_server_is_fenced_at_each_send_too():
    channel = SmtpChannel("smtp://169.254.169.254:25", "liaison@force.example",
                          fence=Fence(""))
    with pytest.raises(ChannelRefused, match="outbound_refused"):
        channel.send("o1@force.example", MESSAGE)
