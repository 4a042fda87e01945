"""SMTP and webhook channels keep one connection open per process and destination, against
a real aiosmtpd server and a real HTTP/1.1 receiver: reuse, recovery from a dropped
connection, the fence at every send, and no message sent twice within one claim."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ops.devredis import free_port
from services.notifier.handlers import deliver
from shared.bootstrap import bootstrap
from shared.channels import ChannelRefused, ChannelUnavailable, SmtpChannel, WebhookChannel
from shared.config import Settings
from shared.domain.notifications import Kind, Message, RecipientType
from shared.outbound import Fence
from shared.store import Store, redis_client
from tests.fakes import FakePublisher
from tests.fakes_notifier import save_notification, save_staff

pytestmark = pytest.mark.integration

MESSAGE = Message(subject="New case", body="A case is offered to you.", kind="offer",
                  reference="K7XM-4QPA-R")


class Mailbox:
    """Counts sessions (by client port) and DATA commands; can drop every open session, or
    drop the connection in the middle of the next DATA."""

    def __init__(self) -> None:
        self.peers: list[Any] = []
        self.accepted: list[bytes] = []
        self.data_seen = 0
        self.drop_during_data = False
        self._servers: list[Any] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_seen += 1
        self._servers.append(server)
        if self.drop_during_data:
            server.transport.close()  # no reply: the client cannot know what happened
            return "250 OK"
        self.peers.append(session.peer)
        self.accepted.append(envelope.content)
        return "250 OK"

    def sessions(self) -> int:
        return len(set(self.peers))

    def drop_sessions(self) -> None:
        """Close every client connection from the server side (an idle timeout, a restart)."""
        for server in self._servers:
            self.controller.loop.call_soon_threadsafe(server.transport.close)
        time.sleep(0.2)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


class Receiver:
    """An HTTP/1.1 (keep-alive) receiver noting each request's client port; `close_after`
    makes it close the connection after answering, without saying so."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.close_after = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                outer.ports.append(self.client_address[1])
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if outer.close_after:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
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


def smtp_channel(url: str, fence: Fence | None = None) -> SmtpChannel:
    return SmtpChannel(url, "liaison@force.example", fence=fence or Fence(""))


def test_many_emails_go_over_one_smtp_session(mailbox: Mailbox):
    channel = smtp_channel(mailbox.url)
    for i in range(10):
        channel.send(f"o{i}@force.example", MESSAGE)

    assert len(mailbox.accepted) == 10
    assert mailbox.sessions() == 1
    channel.close()


def test_a_session_the_server_dropped_is_reopened_and_the_send_succeeds(mailbox: Mailbox):
    channel = smtp_channel(mailbox.url)
    channel.send("o1@force.example", MESSAGE)
    mailbox.drop_sessions()

    channel.send("o2@force.example", MESSAGE)

    assert len(mailbox.accepted) == 2
    assert mailbox.sessions() == 2


def test_a_connection_lost_during_data_fails_the_send_and_is_not_resent(mailbox: Mailbox):
    """After DATA the server may hold the message: the send fails (the notifier retries
    later under a new claim) instead of sending it again at once."""
    channel = smtp_channel(mailbox.url)
    channel.send("o1@force.example", MESSAGE)
    mailbox.drop_during_data = True

    with pytest.raises(ChannelUnavailable):
        channel.send("o2@force.example", MESSAGE)

    assert mailbox.data_seen == 2
    mailbox.drop_during_data = False
    channel.send("o3@force.example", MESSAGE)  # and the next send opens a new session
    assert mailbox.data_seen == 3 and mailbox.sessions() == 2


def test_an_open_session_is_not_used_once_the_host_resolves_to_a_forbidden_address(
        mailbox: Mailbox):
    answers = ["127.0.0.1"]
    fence = Fence("", resolver=lambda host, port: list(answers))
    channel = smtp_channel(f"smtp://mail.fence.test:{mailbox.controller.port}", fence)
    channel.send("o1@force.example", MESSAGE)

    answers[:] = ["169.254.169.254"]
    with pytest.raises(ChannelRefused):
        channel.send("o2@force.example", MESSAGE)

    assert len(mailbox.accepted) == 1


def test_many_webhooks_go_over_one_kept_alive_connection(receiver: Receiver):
    channel = WebhookChannel("s", fence=Fence("127.0.0.1"))
    for _ in range(10):
        channel.send(f"http://127.0.0.1:{receiver.port}/hook", MESSAGE)

    assert len(receiver.ports) == 10 and len(set(receiver.ports)) == 1
    channel.close()


def test_a_connection_the_receiver_closed_is_replaced_and_the_post_succeeds(
        receiver: Receiver):
    channel = WebhookChannel("s", fence=Fence("127.0.0.1"))
    receiver.close_after = True
    channel.send(f"http://127.0.0.1:{receiver.port}/hook", MESSAGE)
    time.sleep(0.1)
    receiver.close_after = False

    channel.send(f"http://127.0.0.1:{receiver.port}/hook", MESSAGE)

    assert len(receiver.ports) == 2 and len(set(receiver.ports)) == 2


def test_a_kept_alive_webhook_connection_is_not_used_for_a_forbidden_address(
        receiver: Receiver):
    answers = ["127.0.0.1"]
    channel = WebhookChannel("s", fence=Fence("127.0.0.1",
                                              resolver=lambda host, port: list(answers)))
    url = f"http://hooks.fence.test:{receiver.port}/hook"
    channel.send(url, MESSAGE)

    answers[:] = ["169.254.169.254"]
    with pytest.raises(ChannelRefused):
        channel.send(url, MESSAGE)

    assert len(receiver.ports) == 1


def test_each_claim_sends_once_over_the_pooled_channels(
        tmp_path: Path, redis_url: str, mailbox: Mailbox, receiver: Receiver):
    store = Store(redis_client(redis_url), prefix="pool:")
    settings = Settings.for_tests(var_dir=tmp_path, redis_url=redis_url, key_prefix="pool:",
                                  smtp_url=mailbox.url, mail_from="liaison@force.example",
                                  webhook_secret="s", console_url="https://console.example",
                                  outbound_allow="127.0.0.1")
    deps = bootstrap(settings, store=store, publisher=FakePublisher())
    save_staff(store, "o1", email="o1@force.example",
               channels=[f"webhook+http://127.0.0.1:{receiver.port}/hook"])
    ids = [save_notification(store, Kind.OFFER, recipient_type=RecipientType.OFFICER,
                             recipient="o1", now=time.time()) for _ in range(3)]

    assert [deliver(nid, deps) for nid in ids] == ["sent"] * 3
    assert [deliver(nid, deps) for nid in ids] == ["noop"] * 3

    assert len(mailbox.accepted) == 3 and mailbox.sessions() == 1
    assert len(receiver.ports) == 3 and len(set(receiver.ports)) == 1
    store.redis.close()
