"""Proxy trust and HSTS: `X-Forwarded-For` names the client only when the direct peer is one of
`LIAISON_TRUSTED_PROXIES`, walked from the right while the hops are trusted proxies; a
forged header from anyone else changes neither the rate-limit bucket nor the address."""

from __future__ import annotations

import json

import pytest
from flask import Flask, request

from ops.devredis import free_port
from services.intake.app import create_app as create_intake
from shared.config import Settings
from shared.store import Store
from shared.web import TrustedProxies, harden
from tests import payloads
from tests.fakes import FakePublisher

PROXIES = ("10.0.0.5", "172.18.0.0/16", "fd00::/8")


@pytest.mark.parametrize("peer, forwarded, client", [
    ("203.0.113.9", "", "203.0.113.9"),
    ("203.0.113.9", "127.0.0.1", "203.0.113.9"),              # untrusted peer: ignored
    ("203.0.113.9", "10.0.0.5", "203.0.113.9"),
    ("10.0.0.5", "198.51.100.7", "198.51.100.7"),              # one trusted proxy
    ("10.0.0.5", "127.0.0.1, 198.51.100.7", "198.51.100.7"),   # client's own prefix unread
    ("10.0.0.5", "198.51.100.7, 172.18.3.4", "198.51.100.7"),  # two proxies in a row
    ("172.18.0.9", "1.2.3.4, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
    ("10.0.0.5", "", "10.0.0.5"),                              # the proxy's own request
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),                     # garbage: stop at the proxy
    ("10.0.0.5", "198.51.100.7, garbage", "10.0.0.5"),
    ("10.0.0.5", "10.0.0.5, 172.18.0.1", "10.0.0.5"),          # all trusted: the leftmost
    ("fd00::1", "2001:db8::7", "2001:db8::7"),
    ("::ffff:10.0.0.5", "198.51.100.7", "198.51.100.7"),
    ("10.0.0.6", "198.51.100.7", "10.0.0.6"),
])
def test_the_client_is_the_first_untrusted_hop_from_the_right(
        peer: str, forwarded: str, client: str):
    assert TrustedProxies(lambda e, s: [], PROXIES).client(peer, forwarded) == client


def seen(proxies: tuple[str, ...], peer: str, headers: dict[str, str]) -> tuple[str, str]:
    app = Flask(__name__)
    app.add_url_rule("/", "who", lambda: f"{request.remote_addr} {request.scheme}")
    harden(app, Settings.for_tests(trusted_proxies=proxies))
    resp = app.test_client().get("/", environ_base={"REMOTE_ADDR": peer}, headers=headers)
    address, scheme = resp.text.split()
    return address, scheme


def test_with_no_trusted_proxies_the_headers_are_ignored():
    assert seen((), "127.0.0.1", {"X-Forwarded-For": "198.51.100.7",
                                  "X-Forwarded-Proto": "https"}) == ("127.0.0.1", "http")


def test_a_trusted_proxy_sets_the_client_and_the_scheme():
    assert seen(PROXIES, "10.0.0.5", {"X-Forwarded-For": "198.51.100.7",
                                      "X-Forwarded-Proto": "https"}) == ("198.51.100.7", "https")
    assert seen(PROXIES, "203.0.113.9", {"X-Forwarded-For": "198.51.100.7",
                                         "X-Forwarded-Proto": "https"}) == ("203.0.113.9", "http")


def limited_intake(fake_store: Store, publisher: FakePublisher,
                   proxies: tuple[str, ...]) -> Flask:
    """Intake whose limiter counts in memory (its Redis port is closed): 2 API posts a minute."""
    settings = Settings.for_tests(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                  api_rate_limit="2 per minute", rate_limit="2 per minute",
                                  trusted_proxies=proxies)
    return create_intake(settings, store=fake_store, publisher=publisher)


def post(app: Flask, peer: str, forwarded: str) -> int:
    with app.test_client() as c:
        return c.post("/api/v1/reports", data=json.dumps(payloads.report()),
                      content_type="application/json",
                      environ_base={"REMOTE_ADDR": peer},
                      headers={"X-Forwarded-For": forwarded}).status_code


def test_a_forged_forwarded_for_from_an_untrusted_peer_does_not_change_the_bucket(
        fake_store: Store, publisher: FakePublisher):
    app = limited_intake(fake_store, publisher, PROXIES)
    codes = [post(app, "203.0.113.9", f"198.51.100.{n}") for n in range(3)]
    assert codes == [201, 201, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
        fake_store: Store, publisher: FakePublisher):
    app = limited_intake(fake_store, publisher, PROXIES)
    codes = [post(app, "10.0.0.5", f"198.51.100.{n}") for n in range(3)]
    assert codes == [201, 201, 201]
    same = [post(app, "10.0.0.5", "203.0.113.50") for _ in range(3)]
    assert same == [201, 201, 429]


def test_intake_sends_hsts_in_production_only(fake_store: Store, publisher: FakePublisher):
    production = create_intake(Settings.for_tests(env="production"), store=fake_store,
                               publisher=publisher)
    test = create_intake(Settings.for_tests(), store=fake_store, publisher=publisher)
    for path in ("/", "/healthz", "/no-such-page"):
        answer = production.test_client().get(path, base_url="https://report.example")
        assert answer.headers["Strict-Transport-Security"] == \
            "max-age=31536000; includeSubDomains"
        assert "Strict-Transport-Security" not in test.test_client().get(path).headers
