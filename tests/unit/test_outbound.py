"""The outbound fence: allowed schemes only, every resolved address public unless allowed."""

from __future__ import annotations

import pytest

from shared.domain.officer_checks import CHANNEL_URL_SCHEMES, check_channels
from shared.outbound import (
    CHANNEL_SCHEMES,
    SMS_SCHEMES,
    SMTP_SCHEMES,
    Fence,
    OutboundRefused,
    check_channel_urls,
    parse_allow,
)


class FakeDNS:
    """A resolver from a table; remembers what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


DNS = FakeDNS({
    "hooks.example": ["93.184.216.34"],
    "metadata.example": ["169.254.169.254"],
    "both.example": ["93.184.216.34", "10.0.0.7"],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "v6-private.example": ["fd00::5"],
    "relay.internal": ["10.1.2.3"],
    "localhost": ["127.0.0.1", "::1"],
    "api.twilio.com": ["54.1.2.3"],
})


def fence(allow: str = "") -> Fence:
    return Fence(allow, resolver=DNS)


@pytest.mark.parametrize(("host", "reason"), [
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("[::1]", "loopback"),
    ("169.254.169.254", "link-local"),
    ("metadata.example", "link-local"),
    ("[fe80::1]", "link-local"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("[fd00::1]", "private"),
    ("v6-private.example", "private"),
    ("relay.internal", "private"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "non-public"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("localhost", "loopback"),
])
def test_each_internal_address_class_is_refused(host: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=f"{reason} address refused"):
        fence().check(f"webhook+https://{host}/hook")


@pytest.mark.parametrize("url", [
    "webhook+https://hooks.example/liaison",
    "webhook+https://v6.example:8443/x",
    "jsons://hooks.example/in",
    "workflows://hooks.example:443/abc/def",
    "mailto://alex:pw@hooks.example",
    "twilio://AC123:token@15551234567/15557654321",
])
def test_public_destinations_pass(url: str) -> None:
    destination = fence().check(url)
    assert destination.addresses and all(not a.startswith(("10.", "127.")) for a in
                                         destination.addresses)


def test_a_fixed_host_service_is_checked_at_its_own_host() -> None:
    destination = fence().check("twilio://AC123:token@15551234567/15557654321")
    assert (destination.host, destination.port) == ("api.twilio.com", 443)


def test_a_host_resolving_to_a_public_and_a_private_address_is_refused() -> None:
    with pytest.raises(OutboundRefused, match="both.example: private"):
        fence().check("webhook+https://both.example/hook")


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "http://hooks.example/", "https://hooks.example/", "gopher://x/",
    "ftp://hooks.example/", "msteams://team/a/b/c", "smtp://hooks.example",
    "webhook+file:///etc/passwd", "nowhere",
])
def test_schemes_off_the_list_are_refused(url: str) -> None:
    with pytest.raises(OutboundRefused, match="is not allowed"):
        fence().check(url)


@pytest.mark.parametrize("url", ["webhook+http://hooks.example/", "json://hooks.example/in",
                                 "form://hooks.example/in"])
def test_plain_http_goes_only_to_allowed_hosts(url: str) -> None:
    with pytest.raises(OutboundRefused, match="plain http only"):
        fence().check(url)
    assert fence("hooks.example").check(url).host == "hooks.example"


@pytest.mark.parametrize(("allow", "url"), [
    ("127.0.0.1", "webhook+http://127.0.0.1:8025/x"),
    ("127.0.0.0/8", "webhook+http://127.0.0.2/x"),
    ("127.0.0.1:9000", "webhook+http://127.0.0.1:9000/x"),
    ("relay.internal", "jsons://relay.internal/in"),
    ("relay.internal:8443", "jsons://relay.internal:8443/in"),
    ("10.1.0.0/16", "jsons://relay.internal/in"),
    ("169.254.169.254", "webhook+https://169.254.169.254/latest"),
    ("[fd00::/8]:443", "webhook+https://[fd00::1]/x"),
    ("::1,localhost", "webhook+https://localhost/x"),
])
def test_the_allow_list_admits_hosts_ips_and_networks(allow: str, url: str) -> None:
    assert fence(allow).check(url).addresses


@pytest.mark.parametrize(("allow", "url"), [
    ("127.0.0.1:9000", "webhook+http://127.0.0.1:9001/x"),   # another port
    ("relay.internal:25", "jsons://relay.internal/in"),
    ("10.2.0.0/16", "jsons://relay.internal/in"),            # another network
    ("127.0.0.1", "webhook+https://localhost/x"),            # ::1 is not listed
    ("hooks.example", "webhook+https://both.example/x"),
])
def test_the_allow_list_admits_nothing_else(allow: str, url: str) -> None:
    with pytest.raises(OutboundRefused):
        fence(allow).check(url)


@pytest.mark.parametrize("text", ["not a host", "10.0.0.0/33", "host:0", "host:99999",
                                  "a/b", "[::1]:x", "ho$t"])
def test_a_bad_allow_entry_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_allow(text)


def test_a_mailto_relay_parameter_is_checked_too() -> None:
    with pytest.raises(OutboundRefused, match="smtp://10.0.0.9: private"):
        fence().check("mailto://alex:pw@hooks.example?smtp=10.0.0.9")


def test_refusals_name_the_host_never_the_secrets() -> None:
    with pytest.raises(OutboundRefused) as caught:
        fence().check("mailto://alex:hunter2@10.0.0.1/?token=abc")
    assert "hunter2" not in str(caught.value) and "token" not in str(caught.value)
    assert "10.0.0.1" in str(caught.value)


def test_an_operator_set_smtp_server_may_be_private_but_never_link_local() -> None:
    smtp = fence().with_allowed("smtp://relay.internal:25", SMTP_SCHEMES)
    assert smtp.check("smtp://relay.internal:25", SMTP_SCHEMES).addresses == ("10.1.2.3",)
    metadata = fence().with_allowed("smtp://169.254.169.254:25", SMTP_SCHEMES)
    with pytest.raises(OutboundRefused, match="link-local"):
        metadata.check("smtp://169.254.169.254:25", SMTP_SCHEMES)


def test_without_resolving_a_named_host_passes_by_name_and_literals_are_checked() -> None:
    quiet = Fence("", resolver=FakeDNS({}))
    assert quiet.check("jsons://anything.example/x", SMS_SCHEMES, resolve=False).addresses == ()
    with pytest.raises(OutboundRefused):
        quiet.check("jsons://169.254.169.254/x", SMS_SCHEMES, resolve=False)
    with pytest.raises(OutboundRefused, match="plain http"):
        quiet.check("json://anything.example/x", SMS_SCHEMES, resolve=False)


def test_when_set_an_unresolvable_host_is_checked_by_name_and_a_private_one_is_refused() -> None:
    assert check_channel_urls(["jsons://nowhere.example/x"], fence()) == (
        "jsons://nowhere.example/x",)
    with pytest.raises(ValueError, match="private"):
        check_channel_urls(["jsons://hooks.example/x", "jsons://relay.internal/x"], fence())


def test_the_domain_knows_the_same_schemes_and_checks_shape_only() -> None:
    assert set(CHANNEL_URL_SCHEMES) == set(CHANNEL_SCHEMES)
    assert check_channels(["webhook+https://10.0.0.1/x"]) == ("webhook+https://10.0.0.1/x",)
    with pytest.raises(ValueError, match="not allowed"):
        check_channels(["file:///etc/passwd"])
