"""The outbound fence: every URL Liaison calls out to (webhooks, Apprise, SMTP, the SMS
gateway) is checked here when it is set and again right before each use.

A URL passes when its scheme is on the list for its use and every address its host resolves
to is public — not loopback, link-local (169.254/16 with the cloud metadata address,
fe80::/10), private (10/8, 172.16/12, 192.168/16, fc00::/7), shared, unspecified, multicast
or reserved — unless the host, the address or its network is in LIAISON_OUTBOUND_ALLOW
(`host`, `IP` or `CIDR`, each with an optional `:port`). Plain-text schemes (http webhooks,
Apprise json/form) go only to allowed hosts. The resolver is injectable for tests. Messages
name the scheme, host and reason only: never a path, token or password.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

LOCAL_ALLOW = "127.0.0.1,::1,localhost"  # development and test default: local sinks only


@dataclass(frozen=True)
class Scheme:
    port: int
    plaintext: bool = False        # http, unencrypted: only to allowed hosts
    fixed_host: str = ""           # the service's own host (the URL's "host" is not one)


# Officer channel URLs (`liaison officers --channel`, the admin page) and the SMS template.
CHANNEL_SCHEMES: dict[str, Scheme] = {
    "webhook+https": Scheme(443),                    # signed JSON POST (WebhookChannel)
    "webhook+http": Scheme(80, plaintext=True),      # local receivers on the allow list
    "jsons": Scheme(443), "forms": Scheme(443),      # Apprise generic webhooks over TLS
    "json": Scheme(80, plaintext=True), "form": Scheme(80, plaintext=True),
    "workflows": Scheme(443), "workflow": Scheme(443),   # Teams via Power Automate
    "mailto": Scheme(587), "mailtos": Scheme(465),   # Apprise email
    "twilio": Scheme(443, fixed_host="api.twilio.com"),          # SMS gateways
    "clicksend": Scheme(443, fixed_host="rest.clicksend.com"),
}
SMS_SCHEMES = {k: v for k, v in CHANNEL_SCHEMES.items()
               if k in ("twilio", "clicksend", "jsons", "forms", "json", "form")}
SMTP_SCHEMES = {"smtp": Scheme(25), "smtps": Scheme(465)}


class OutboundRefused(ValueError):
    """The URL may not be called; the message names the scheme/host and why, no secrets."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: where to connect (`addresses`: the checked IPs, to pin)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class AllowEntry:
    host: str = ""
    network: IPNetwork | None = None
    port: int | None = None

    def matches_host(self, host: str, port: int) -> bool:
        return bool(self.host) and self.host == host.lower() and self.port in (None, port)

    def matches_address(self, address: IPAddress, port: int) -> bool:
        return self.network is not None and address in self.network \
            and self.port in (None, port)


def parse_allow(text: str) -> tuple[AllowEntry, ...]:
    """'relay.internal,10.0.0.5:25,10.1.0.0/16,[fd00::1]:443' -> entries; ValueError if bad."""
    entries: list[AllowEntry] = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        body, port = raw, None
        if raw.startswith("["):                      # [v6]:port or [v6/len]:port
            body, _, rest = raw[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"), raw)
        elif raw.count(":") == 1:                    # host:port, v4:port, v4/len:port
            body, _, text_port = raw.partition(":")
            port = _port(text_port, raw)
        try:
            network = ipaddress.ip_network(body, strict=False)
        except ValueError:
            if "/" in body or not _is_hostname(body):
                raise ValueError(f"{raw!r} is not a host, IP or CIDR (with an optional "
                                 ":port)") from None
            entries.append(AllowEntry(host=body.lower().rstrip("."), port=port))
        else:
            entries.append(AllowEntry(network=network, port=port))
    return tuple(entries)


def _port(text: str, raw: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{raw!r} has a bad port")
    return int(text)


def _is_hostname(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return bool(text) and all(
        label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
        and label.isascii() for label in labels)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address getaddrinfo gives for host (raises OSError when it cannot)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def address_problem(address: IPAddress) -> str:
    """'' for a public address, else the class that makes it internal."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address_problem(address.ipv4_mapped)
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "" if address.is_global else "non-public"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


class Fence:
    """Checks outbound URLs against the scheme lists, the address classes and the allow list."""

    def __init__(self, allow: str | Iterable[AllowEntry] = "",
                 resolver: Resolver = system_resolver,
                 trusted: tuple[tuple[str, int], ...] = ()) -> None:
        self.allow = parse_allow(allow) if isinstance(allow, str) else tuple(allow)
        self._resolve = resolver
        self._trusted = trusted

    def with_allowed(self, url: str, schemes: dict[str, Scheme]) -> Fence:
        """This fence also letting the host:port of `url` (a server the operator set in the
        environment, like LIAISON_SMTP_URL) reach loopback and private addresses — never
        link-local (metadata), multicast, reserved or unspecified ones unless listed."""
        _, host, port = _split(url, schemes)
        return Fence(self.allow, self._resolve, self._trusted + ((host.lower(), port),))

    def check(self, url: str, schemes: dict[str, Scheme] = CHANNEL_SCHEMES, *,
              resolve: bool = True) -> Destination:
        """The destination of `url`, or OutboundRefused; OSError if the host does not resolve.

        Without `resolve` (start-up), a named host is checked by name only; each use checks
        again with every address."""
        scheme, host, port = _split(url, schemes)
        rule = schemes[scheme]
        shown = f"{scheme}://[{host}]" if ":" in host else f"{scheme}://{host}"
        by_name = any(e.matches_host(host, port) for e in self.allow)
        operator_set = (host.lower(), port) in self._trusted
        literal = _literal(host)
        if literal is not None:
            addresses = [str(literal)]
        elif resolve:
            addresses = self._resolve(host, port)
            if not addresses:
                raise OSError("no address")
        elif host.lower() == "localhost" or host.lower().endswith(".localhost"):
            addresses = ["127.0.0.1"]  # loopback by name, even unresolved
        else:
            addresses = []
        unlisted = not addresses
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if by_name or any(e.matches_address(address, port) for e in self.allow):
                continue
            problem = address_problem(address)
            if problem and not (operator_set and problem in ("loopback", "private")):
                raise OutboundRefused(f"{shown}: {problem} address refused (add it "
                                      "to LIAISON_OUTBOUND_ALLOW to allow it)")
            unlisted = True
        if rule.plaintext and not by_name and unlisted:
            raise OutboundRefused(f"{shown}: plain http only to hosts in "
                                  "LIAISON_OUTBOUND_ALLOW; use https")
        if scheme == "mailto":  # Apprise sends through ?smtp=host when given
            for relay in parse_qs(urlsplit(url).query).get("smtp", []):
                self.check(f"smtp://{relay}", SMTP_SCHEMES, resolve=resolve)
        return Destination(scheme, host, port, tuple(addresses))


def check_channel_urls(urls: Iterable[str], fence: Fence) -> tuple[str, ...]:
    """Officer channel URLs through the fence now (the CLI and admin page, when one is
    set): OutboundRefused (a ValueError) naming the scheme, host and reason of the first
    refused. A host that does not resolve now is checked by name only: it reaches nothing
    today, and each send resolves and checks it again."""
    found = tuple(urls)
    for url in found:
        try:
            fence.check(url)
        except (OSError, UnicodeError):
            fence.check(url, resolve=False)
    return found


def _split(url: str, schemes: dict[str, Scheme]) -> tuple[str, str, int]:
    """(scheme, connect host, port) or OutboundRefused."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in schemes:
        shown = scheme or url.partition(":")[0][:20]
        raise OutboundRefused(f"scheme {shown!r} is not allowed; use "
                              + ", ".join(f"{s}://" for s in schemes))
    if any(c.isspace() for c in url):
        raise OutboundRefused(f"{scheme}:// URL has spaces")
    rule = schemes[scheme]
    if rule.fixed_host:
        return scheme, rule.fixed_host, rule.port
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or rule.port
    except ValueError:
        raise OutboundRefused(f"{scheme}:// URL has a bad host or port") from None
    if not host:
        raise OutboundRefused(f"{scheme}:// URL has no host")
    return scheme, host, port
