"""Delivery against real Redis, a real SMTP server, a real webhook receiver, a real worker."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ops.devredis import free_port
from services.notifier.handlers import deliver
from shared.bootstrap import Deps, bootstrap
from shared.config import Settings
from shared.domain.notifications import Kind, RecipientType
from shared.messaging import CeleryPublisher, make_celery
from shared.sealing import Sealer
from shared.store import Store, redis_client
from tests import payloads
from tests.conftest import CANARY
from tests.fakes import FakePublisher
from tests.fakes_notifier import save_case, save_notification, save_staff
from tests.support.workers import run_worker

pytestmark = pytest.mark.integration

PREFIX = "it:"
SECRET = "webhook-secret-for-tests"


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


class SmtpServer:
    """A real SMTP server on a fixed free port that a test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("RecordingReceiver", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def store(redis_url: str) -> Iterator[Store]:
    client = redis_client(redis_url)
    yield Store(client, prefix=PREFIX)
    client.close()


def make_deps(store: Store, settings: Settings) -> Deps:
    """The notifier's own wiring (real channels) over the test's store."""
    return bootstrap(settings, store=store, publisher=FakePublisher())


# The local SMTP server and webhook receiver are reached through the outbound fence's allow
# list, like any internal destination (no exception for tests in the check itself).
LOCAL_RECEIVERS = "127.0.0.1"


def settings_for(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Settings:
    return Settings.for_tests(var_dir=tmp_path, redis_url=redis_url, key_prefix=PREFIX,
                              smtp_url=smtp.url, mail_from="liaison@force.example",
                              webhook_secret=SECRET, console_url="https://console.example",
                              outbound_allow=LOCAL_RECEIVERS)


def arrange_offer(store: Store, settings: Settings, hook_url: str) -> str:
    sealer = Sealer(settings.sealing_keys)
    save_case(store, sealer, payloads.report(
        what_happened=f"{CANARY} at the bus stop",
        contact=payloads.contact(name=CANARY, email="reporter@example.org")))
    save_staff(store, "o1", email="o1@force.example", channels=[f"webhook+{hook_url}/liaison"])
    return save_notification(store, Kind.OFFER, recipient_type=RecipientType.OFFICER,
                             recipient="o1", now=time.time())


def test_an_offer_arrives_as_an_email_and_a_signed_webhook_without_the_account(
        tmp_path: Path, redis_url: str, store: Store, smtp: SmtpServer, webhook):
    hook_url, received = webhook
    settings = settings_for(tmp_path, redis_url, smtp)
    nid = arrange_offer(store, settings, hook_url)

    assert deliver(nid, make_deps(store, settings)) == "sent"

    [mail] = smtp.mailbox.to("o1@force.example")
    text = f"{mail['Subject']}\n{mail.get_content()}"
    assert "K7XM-4QPA-R" in mail["Subject"]
    assert "https://console.example/cases/case-1" in text
    assert CANARY not in mail.as_string()
    assert mail["From"] == "liaison@force.example"

    [(path, headers, body)] = received
    assert path == "/liaison"
    timestamp = headers["X-Liaison-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 30
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Liaison-Signature"] == f"sha256={expected.hexdigest()}"
    payload = json.loads(body)
    assert payload["reference"] == "K7XM-4QPA-R" and payload["kind"] == "offer"
    assert payload["link"] == "https://console.example/cases/case-1"
    assert set(payload) == {"kind", "reference", "priority", "district", "link", "text",
                            "sent_at"}
    assert CANARY not in body.decode()
    assert store.notifications.inbox("o1")[0]["reference"] == "K7XM-4QPA-R"


def test_an_smtp_outage_delays_the_email_and_nothing_is_sent_twice(
        tmp_path: Path, redis_url: str, store: Store, smtp: SmtpServer, webhook):
    hook_url, received = webhook
    settings = settings_for(tmp_path, redis_url, smtp)
    deps = make_deps(store, settings)
    nid = arrange_offer(store, settings, hook_url)
    smtp.stop()

    before = time.time()
    assert deliver(nid, deps) == "retry"

    due = store.redis.zscore(store.keys.notify_outbox, nid)
    assert due is not None and due > before
    assert store.notifications.get(nid)["attempts"] == "1"  # type: ignore[index]
    assert len(received) == 1  # the webhook went out anyway

    smtp.start()
    assert deliver(nid, deps) == "sent"
    assert deliver(nid, deps) == "noop"

    assert len(smtp.mailbox.to("o1@force.example")) == 1
    assert len(received) == 1
    assert len(store.notifications.inbox("o1")) == 1
    assert store.redis.zscore(store.keys.notify_outbox, nid) is None


@pytest.mark.slow
def test_a_real_notifier_worker_delivers_a_published_notification(
        tmp_path: Path, redis_url: str, store: Store, smtp: SmtpServer, webhook):
    hook_url, received = webhook
    settings = settings_for(tmp_path, redis_url, smtp)
    nid = arrange_offer(store, settings, hook_url)
    env = {
        "LIAISON_ENV": "test", "LIAISON_REDIS_URL": redis_url, "LIAISON_KEY_PREFIX": PREFIX,
        "LIAISON_SECRET_KEY": settings.secret_key,
        "LIAISON_SEALING_KEYS": ",".join(settings.sealing_keys),
        "LIAISON_SMTP_URL": smtp.url, "LIAISON_MAIL_FROM": settings.mail_from,
        "LIAISON_WEBHOOK_SECRET": SECRET, "LIAISON_CONSOLE_URL": "https://console.example",
        "LIAISON_VAR_DIR": str(tmp_path), "LIAISON_LOG_FORMAT": "text",
        "LIAISON_OUTBOUND_ALLOW": LOCAL_RECEIVERS,
    }
    with run_worker("services.notifier.celery_app", "notify", env) as log_path:
        app = make_celery("liaison-test-publisher", settings)
        try:
            assert CeleryPublisher(app).deliver_notification(nid)
            deadline = time.monotonic() + 20
            while not smtp.mailbox.to("o1@force.example") and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            app.close()
        assert smtp.mailbox.to("o1@force.example"), log_path.read_text()[-3000:]
        deadline = time.monotonic() + 5
        while store.notifications.get(nid)["status"] != "sent" \
                and time.monotonic() < deadline:  # type: ignore[index]
            time.sleep(0.1)
    assert store.notifications.get(nid)["status"] == "sent"  # type: ignore[index]
    assert len(received) == 1
    assert CANARY not in log_path.read_text()
    assert "o1@force.example" not in log_path.read_text()
