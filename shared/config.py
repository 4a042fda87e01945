"""Settings from `LIAISON_*` environment variables, validated once at start-up.

This is the only module that reads `os.environ`. A bad value stops the service with a
message that names the variable; production refuses defaults that are unsafe.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cryptography.fernet import Fernet

from shared import outbound
from shared.domain.rings import DEFAULT_RINGS, RingTimes, parse_rings
from shared.domain.updates import DEFAULT_SCHEDULE, parse_schedule

ENVIRONMENTS = ("development", "test", "production")
DURABILITY_MODES = ("async", "fsync", "replicated")
DEV_SECRETS_FILE = "secrets.json"
# Under the var dir: the URL of the embedded Redis that `make run` started last (mode 0600);
# in development, with LIAISON_REDIS_URL unset, settings default to it (the CLI finds it).
DEV_REDIS_URL_FILE = "redis/url"


class ConfigError(ValueError):
    """One or more settings are invalid; the message names every bad variable."""


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with `Settings.from_env()` or `Settings.for_tests()`."""

    env: str = "development"
    debug: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: tuple[str, ...] = ()
    redis_master: str = "liaison"
    redis_sentinel_password: str = ""
    durability: str = "async"
    durability_replicas: int = 1
    durability_timeout_ms: int = 500
    dev_redis_port: int = 6390
    broker_url: str = ""
    key_prefix: str = "liaison:"
    secret_key: str = ""
    sealing_keys: tuple[str, ...] = ()
    var_dir: Path = Path("var")
    force_file: str = ""
    host: str = "127.0.0.1"
    intake_port: int = 8000
    console_port: int = 8001
    console_url: str = ""
    max_body_bytes: int = 64 * 1024
    rate_limit: str = "10 per minute;100 per hour"
    api_rate_limit: str = "120 per minute;2000 per hour"
    rate_limit_failed: str = "30 per minute;300 per hour"
    check_rate_limit: str = "10 per minute;60 per hour"
    check_reference_limit: str = "5 per hour;20 per day"
    partner_rate_limit: str = "300 per minute;5000 per hour"
    trusted_proxies: tuple[str, ...] = ()
    metrics_token: str = ""
    idempotency_ttl: int = 24 * 3600
    draft_ttl: int = 3600  # a stepped public form's sealed answers, from the last step
    outbox_grace_seconds: int = 5
    events_maxlen: int = 100_000
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "liaison@localhost"
    webhook_secret: str = ""
    sms_url: str = ""
    outbound_allow: str = ""
    notify_max_attempts: int = 8
    notify_backoff_seconds: int = 5
    offer_timeouts: str = "1=300,2=1800,3=3600,4=14400"
    sla_accept: str = "1=300,2=3600,3=14400,4=86400"
    sla_contact: str = "1=900,2=14400,3=86400,4=259200"
    sla_review: str = "1=3600,2=14400,3=86400,4=259200"
    rings: str = DEFAULT_RINGS
    wait_alert_seconds: int = 1800
    sweep_interval_seconds: int = 5
    route_max_attempts: int = 10
    retention_days: str = "report=2190,callback=365"
    update_schedule: str = DEFAULT_SCHEDULE  # Victims' Code updates (shared/domain/updates.py)
    log_level: str = "INFO"
    log_format: str = "json"
    neutral_exit_url: str = "https://www.bbc.co.uk/weather"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def sentinel(self) -> bool:
        """True when every process finds the Redis master through Sentinel."""
        return bool(self.redis_sentinels)

    @property
    def redis_db(self) -> int:
        """The database number LIAISON_REDIS_URL names (0 when it names none)."""
        return _url_db(self.redis_url)

    @property
    def broker(self) -> str:
        """The Celery broker URL: the same Redis unless set apart. Under Sentinel (and no
        LIAISON_BROKER_URL) a kombu `sentinel://host:port/db;sentinel://...` list of the
        same Sentinels, with the data nodes' password and database from LIAISON_REDIS_URL
        (the master's name goes in the transport options)."""
        if self.broker_url:
            return self.broker_url
        if self.sentinel:
            parsed = urlparse(self.redis_url)
            auth = ""
            if parsed.password:
                auth = f"{parsed.username or ''}:{parsed.password}@"
            return ";".join(f"sentinel://{auth}{address}/{self.redis_db}"
                            for address in self.redis_sentinels)
        return self.redis_url

    @property
    def broker_is_store(self) -> bool:
        """Whether the broker is the store's own Redis (so the store's scripts may push task
        messages themselves): the same URL, or — under Sentinel — the same set of Sentinels
        (one master name serves both) and the same database."""
        if not self.broker_url:
            return True
        if self.broker_url == self.redis_url and not self.sentinel:
            return True
        if not self.sentinel or urlparse(self.broker_url).scheme != "sentinel":
            return False
        addresses = set()
        dbs = set()
        for part in self.broker_url.split(";"):
            parsed = urlparse(part.strip())
            addresses.add(_sentinel_address(parsed.netloc.rpartition("@")[2]))
            dbs.add(_url_db(part.strip()))
        return addresses == set(self.redis_sentinels) and dbs == {self.redis_db}

    @property
    def public_console_url(self) -> str:
        return self.console_url or f"http://{self.host}:{self.console_port}"

    @property
    def mail_dir(self) -> Path:
        """Where the development mail sink writes each message as a file."""
        return self.var_dir / "mail"

    def offer_timeout(self, priority: int) -> int:
        """Seconds an officer has to accept an offer of this priority."""
        return parse_per_priority(self.offer_timeouts)[priority]

    def sla_accept_seconds(self, priority: int) -> int:
        return parse_per_priority(self.sla_accept)[priority]

    def sla_contact_seconds(self, priority: int) -> int:
        return parse_per_priority(self.sla_contact)[priority]

    def retention_seconds(self, kind: str) -> int:
        """How long a closed case of this kind keeps its personal data (then it is erased)."""
        return parse_retention_days(self.retention_days)[kind] * 86400

    def ring_times(self, priority: int) -> RingTimes:
        """Seconds of case age at which the district, neighbours and force-wide rings open
        for this priority (shared/domain/rings.py)."""
        return parse_rings(self.rings)[priority]

    def update_schedules(self) -> dict[str, tuple[int, ...]]:
        """Victims' Code update steps (seconds) by schedule: standard and enhanced."""
        return parse_schedule(self.update_schedule)

    def sla_review_seconds(self, priority: int) -> int:
        """Time to review and close (or refer) a case nobody may contact, from acceptance."""
        return parse_per_priority(self.sla_review)[priority]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every `LIAISON_*` variable; raise ConfigError naming bad ones."""
        env = dict(os.environ if environ is None else environ)
        errors: list[str] = _read_secret_files(env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = "LIAISON_" + f.name.upper()
            if var not in env or env[var] == "":
                continue
            parser = _PARSERS.get(f.name, str)
            try:
                values[f.name] = parser(env[var])
            except ValueError as exc:
                errors.append(f"{var}: {exc}")
        if "redis_url" not in values and values.get("env", cls.env) == "development" \
                and not values.get("redis_sentinels"):
            recorded = recorded_dev_redis_url(values.get("var_dir", cls.var_dir))
            if recorded:
                values["redis_url"] = recorded
        if "outbound_allow" not in values and values.get("env", cls.env) != "production":
            values["outbound_allow"] = outbound.LOCAL_ALLOW  # local sinks and receivers
        settings = cls(**values)
        errors += settings._problems()
        if errors:  # nothing is written (no dev secrets file) while any value is bad
            raise ConfigError("invalid settings:\n  " + "\n  ".join(errors))
        return settings._with_secrets()._validated()

    @classmethod
    def for_tests(cls, **overrides: Any) -> Settings:
        """Settings for tests: fresh keys, no files written."""
        base: dict[str, Any] = {
            "env": "test",
            "secret_key": secrets.token_urlsafe(32),
            "sealing_keys": (Fernet.generate_key().decode(),),
            "log_format": "text",
            "outbound_allow": outbound.LOCAL_ALLOW,
        }
        base.update(overrides)
        return cls(**base)._validated()

    def _with_secrets(self) -> Settings:
        """Development generates its secret and sealing key into var/ once; production never."""
        if self.production or (self.secret_key and self.sealing_keys):
            return self
        path = self.var_dir / DEV_SECRETS_FILE
        stored: dict[str, Any] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        else:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            stored = {
                "secret_key": secrets.token_urlsafe(32),
                "sealing_keys": [Fernet.generate_key().decode()],
            }
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
        return replace(
            self,
            secret_key=self.secret_key or stored["secret_key"],
            sealing_keys=self.sealing_keys or tuple(stored["sealing_keys"]),
        )

    def _validated(self) -> Settings:
        errors = self._problems()
        if errors:
            raise ConfigError("invalid settings:\n  " + "\n  ".join(errors))
        return self

    def _problems(self) -> list[str]:
        """Every invalid value or combination (production never generates its secrets)."""
        errors: list[str] = []
        if self.env not in ENVIRONMENTS:
            errors.append(f"LIAISON_ENV: must be one of {', '.join(ENVIRONMENTS)}")
        if self.redis_url and urlparse(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            errors.append("LIAISON_REDIS_URL: must be a redis://, rediss:// or unix:// URL")
        if self.broker_url and urlparse(self.broker_url).scheme not in (
                "redis", "rediss", "unix", "sentinel"):
            errors.append("LIAISON_BROKER_URL: must be a redis://, rediss://, unix:// or "
                          "sentinel://host:port;sentinel://host:port URL")
        errors += self._sentinel_problems()
        for key in self.sealing_keys:
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                errors.append("LIAISON_SEALING_KEYS: each key must be a 32-byte url-safe "
                              "base64 Fernet key (generate with `liaison keys`)")
                break
        if self.log_format not in ("json", "text"):
            errors.append("LIAISON_LOG_FORMAT: must be json or text")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            errors.append("LIAISON_LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR")
        if self.production:
            if not self.secret_key or self.secret_key in _KNOWN_DEFAULT_SECRETS \
                    or len(self.secret_key) < 32 or len(set(self.secret_key)) < 10:
                errors.append("LIAISON_SECRET_KEY: production needs a random secret of "
                              "32+ varied characters, not a default (or the file "
                              "LIAISON_SECRET_KEY_FILE names)")
            if not self.sealing_keys:
                errors.append("LIAISON_SEALING_KEYS: production needs at least one sealing key "
                              "(or the file LIAISON_SEALING_KEYS_FILE names)")
        if self.metrics_token and (len(self.metrics_token) < 16
                                   or not self.metrics_token.isprintable()
                                   or " " in self.metrics_token):
            errors.append("LIAISON_METRICS_TOKEN: must be 16+ printable characters without "
                          "spaces (e.g. `openssl rand -hex 24`)")
        if self.production and self.debug:
            errors.append("LIAISON_DEBUG: debug must be off in production")
        errors += self._outbound_problems()
        return errors

    def _sentinel_problems(self) -> list[str]:
        """Sentinel and durability settings: each value parses; the combinations hold."""
        errors: list[str] = []
        if self.durability not in DURABILITY_MODES:
            errors.append("LIAISON_DURABILITY: must be one of " + ", ".join(DURABILITY_MODES))
        if urlparse(self.broker_url).scheme == "sentinel":
            for part in self.broker_url.split(";"):
                parsed = urlparse(part.strip())
                try:
                    if parsed.scheme != "sentinel":
                        raise ValueError(part)
                    _sentinel_address(parsed.netloc.rpartition("@")[2])
                except ValueError:
                    errors.append("LIAISON_BROKER_URL: a Sentinel broker is "
                                  "sentinel://host:port/db;sentinel://host:port/db; one part "
                                  "is not")
                    break
        if not self.sentinel:
            return errors
        if urlparse(self.redis_url).scheme != "redis":
            errors.append("LIAISON_REDIS_URL: with LIAISON_REDIS_SENTINELS it must be a "
                          "redis:// URL (only its password and database number are used; "
                          "the Sentinels name the master's address; TLS is not supported "
                          "through Sentinel)")
        if not _MASTER_NAME.fullmatch(self.redis_master):
            errors.append("LIAISON_REDIS_MASTER: use letters, digits, '.', '_' and '-' "
                          "(the name the Sentinels monitor, e.g. liaison)")
        return errors


    def _outbound_problems(self) -> list[str]:
        """The allow list parses; the SMTP server, the SMS gateway template and the console
        link base pass the outbound fence by scheme and host (by name: no DNS at start-up,
        each send checks every address again)."""
        try:
            fence = outbound.Fence(self.outbound_allow, resolver=_no_dns)
        except ValueError as exc:
            return [f"LIAISON_OUTBOUND_ALLOW: {exc}"]
        checks = [("smtp_url", self.smtp_url, outbound.SMTP_SCHEMES),
                  ("sms_url", self.sms_url.replace("{phone}", "0"), outbound.SMS_SCHEMES),
                  ("console_url", self.console_url, {"http": outbound.Scheme(80),
                                                     "https": outbound.Scheme(443)})]
        errors = []
        for name, url, schemes in checks:
            if not url:
                continue
            try:
                if name == "smtp_url":  # the operator's own server (see SmtpChannel)
                    fence.with_allowed(url, schemes).check(url, schemes, resolve=False)
                else:
                    fence.check(url, schemes, resolve=False)
            except outbound.OutboundRefused as exc:
                errors.append(f"LIAISON_{name.upper()}: {exc}")
        return errors


def _no_dns(host: str, port: int) -> list[str]:
    return []  # start-up checks names and literal addresses only


def _outbound_allow(text: str) -> str:
    outbound.parse_allow(text)
    return text


def recorded_dev_redis_url(var_dir: Path) -> str:
    """The embedded Redis URL `make run` recorded under `var_dir` ('' if none or unusable)."""
    try:
        text = (Path(var_dir) / DEV_REDIS_URL_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if urlparse(text).scheme in ("redis", "rediss", "unix") else ""


_KNOWN_DEFAULT_SECRETS = {"", "dev", "changeme", "change-me", "secret", "development"}

# Secrets that may come from a file instead (Docker and Kubernetes secrets): LIAISON_X_FILE
# names a file whose contents are LIAISON_X's value.
FILE_VARIABLES = ("LIAISON_SECRET_KEY", "LIAISON_SEALING_KEYS", "LIAISON_WEBHOOK_SECRET",
                  "LIAISON_METRICS_TOKEN", "LIAISON_REDIS_SENTINEL_PASSWORD")


def _read_secret_files(env: dict[str, str]) -> list[str]:
    """Set each LIAISON_X from the file LIAISON_X_FILE names (its contents, the trailing
    newline stripped); return the problems: both set, a file unreadable or empty."""
    errors: list[str] = []
    for var in FILE_VARIABLES:
        path = env.get(f"{var}_FILE", "")
        if not path:
            continue
        if env.get(var, ""):
            errors.append(f"{var} and {var}_FILE are both set: set one or the other")
            continue
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            errors.append(f"{var}_FILE: cannot read {path}: {exc.strerror or exc}")
            continue
        except UnicodeDecodeError:
            errors.append(f"{var}_FILE: {path} is not UTF-8 text")
            continue
        if not value.strip():
            errors.append(f"{var}_FILE: {path} is empty")
            continue
        env[var] = value
    return errors


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (use true or false)")


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _keys(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if not keys:
        raise ValueError("give one or more comma-separated Fernet keys")
    return keys


def _prefix(text: str) -> str:
    if not text.replace(":", "").replace("_", "").replace("-", "").isalnum():
        raise ValueError("use letters, digits, '-', '_' and ':' only")
    return text


def _env(text: str) -> str:
    if text not in ENVIRONMENTS:
        raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)}")
    return text


def _rate(text: str) -> str:
    from limits import parse_many

    try:
        parse_many(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a rate limit like '10 per minute;100 per hour'")\
            from None
    return text


def _networks(text: str) -> tuple[str, ...]:
    """'10.0.0.5, 172.18.0.0/16' -> normalised networks; each bad entry is named."""
    import ipaddress

    found: list[str] = []
    bad: list[str] = []
    for entry in text.replace(",", " ").split():
        try:
            if entry.isdigit():  # a hop count (the old meaning) is not an address
                raise ValueError(entry)
            found.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            bad.append(repr(entry))
    if bad:
        raise ValueError(f"{', '.join(bad)} not an IP address or CIDR network (give the "
                         "reverse proxies' addresses, e.g. '10.0.0.5,172.18.0.0/16'; "
                         "a hop count is no longer accepted)")
    return tuple(found)


def _smtp_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError("must be smtp://host:port or smtps://user:password@host:port")
    return text


def _rings(text: str) -> str:
    parse_rings(text)
    return text


def _update_schedule(text: str) -> str:
    parse_schedule(text)
    return text


def _per_priority(text: str) -> str:
    parse_per_priority(text)
    return text


def parse_per_priority(text: str) -> dict[int, int]:
    """'1=300,2=1800,3=3600,4=14400' -> {priority: seconds}; every priority 1-4 needed."""
    result: dict[int, int] = {}
    try:
        for part in text.split(","):
            key, _, value = part.partition("=")
            result[int(key)] = int(value)
    except ValueError:
        raise ValueError(f"{text!r} is not like '1=300,2=1800,3=3600,4=14400' (seconds "
                         "per priority)") from None
    if sorted(result) != [1, 2, 3, 4] or min(result.values()) < 1:
        raise ValueError("give positive seconds for each priority 1 (emergency) to 4 (advice)")
    return result


RETENTION_KINDS = ("report", "callback")  # shared/domain/model.py CaseKind (a test checks)


def _retention(text: str) -> str:
    parse_retention_days(text)
    return text


def parse_retention_days(text: str) -> dict[str, int]:
    """'report=2190,callback=365' -> {kind: days}; every case kind needed, 1..36500 days."""
    result: dict[str, int] = {}
    try:
        for part in text.split(","):
            key, _, value = part.partition("=")
            result[key.strip()] = int(value)
    except ValueError:
        raise ValueError(f"{text!r} is not like 'report=2190,callback=365' (days per "
                         "case kind)") from None
    if sorted(result) != sorted(RETENTION_KINDS) \
            or not all(1 <= d <= 36500 for d in result.values()):
        raise ValueError("give days (1 to 36500) for each case kind: "
                         + ", ".join(RETENTION_KINDS))
    return result


_MASTER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _sentinel_address(text: str) -> str:
    """'host:port' or '[v6]:port' -> the same, normalised; ValueError if it is neither."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"{text!r} is not host:port")
        ipaddress.ip_address(host[1:-1])  # ValueError names the address
    elif ":" in host or not _HOSTNAME.fullmatch(host):
        raise ValueError(f"{text!r} is not host:port (write an IPv6 address as [addr]:port)")
    return f"{host.lower()}:{int(port)}"


_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?")


def _sentinels(text: str) -> tuple[str, ...]:
    """'10.0.0.1:26379, sentinel-2:26379' -> each address normalised; bad ones named."""
    found: list[str] = []
    bad: list[str] = []
    for entry in text.split(","):
        if not entry.strip():
            continue
        try:
            address = _sentinel_address(entry)
        except ValueError:
            bad.append(repr(entry.strip()))
            continue
        if address not in found:
            found.append(address)
    if bad:
        raise ValueError(f"{', '.join(bad)} not host:port (give the Sentinels as a comma "
                         "list, e.g. 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379')")
    if not found:
        raise ValueError("give one or more Sentinels as host:port, comma-separated")
    return tuple(found)


def _durability(text: str) -> str:
    if text not in DURABILITY_MODES:
        raise ValueError(f"must be one of {', '.join(DURABILITY_MODES)}")
    return text


def _master_name(text: str) -> str:
    if not _MASTER_NAME.fullmatch(text):
        raise ValueError("use letters, digits, '.', '_' and '-' (the name the Sentinels "
                         "monitor, e.g. liaison)")
    return text


def _url_db(url: str) -> int:
    """The database number of a redis:// (or sentinel://) URL: its path, or ?db=; else 0."""
    parsed = urlparse(url)
    path = parsed.path.strip("/")
    if path.isdigit():
        return int(path)
    for pair in parsed.query.split("&"):
        name, _, value = pair.partition("=")
        if name == "db" and value.isdigit():
            return int(value)
    return 0


def _url(text: str) -> str:
    if urlparse(text).scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    return text.rstrip("/")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "env": _env,
    "debug": _bool,
    "key_prefix": _prefix,
    "sealing_keys": _keys,
    "var_dir": Path,
    "dev_redis_port": _int_range(1, 65535),
    "intake_port": _int_range(1, 65535),
    "console_port": _int_range(1, 65535),
    "console_url": _url,
    "neutral_exit_url": _url,
    "max_body_bytes": _int_range(1024, 10 * 1024 * 1024),
    "rate_limit": _rate,
    "api_rate_limit": _rate,
    "rate_limit_failed": _rate,
    "check_rate_limit": _rate,
    "check_reference_limit": _rate,
    "partner_rate_limit": _rate,
    "trusted_proxies": _networks,
    "idempotency_ttl": _int_range(60, 30 * 24 * 3600),
    "draft_ttl": _int_range(300, 24 * 3600),
    "smtp_url": _smtp_url,
    "notify_max_attempts": _int_range(1, 100),
    "notify_backoff_seconds": _int_range(1, 3600),
    "offer_timeouts": _per_priority,
    "sla_accept": _per_priority,
    "sla_contact": _per_priority,
    "sla_review": _per_priority,
    "rings": _rings,
    "wait_alert_seconds": _int_range(10, 7 * 24 * 3600),
    "sweep_interval_seconds": _int_range(1, 300),
    "route_max_attempts": _int_range(1, 1000),
    "retention_days": _retention,
    "update_schedule": _update_schedule,
    "outbox_grace_seconds": _int_range(1, 3600),
    "events_maxlen": _int_range(1000, 10_000_000),
    "outbound_allow": _outbound_allow,
    "redis_sentinels": _sentinels,
    "redis_master": _master_name,
    "durability": _durability,
    "durability_replicas": _int_range(1, 16),
    # WAIT blocks the connection: stay well inside the store's 5 s socket timeout.
    "durability_timeout_ms": _int_range(10, 4000),
}


def variables() -> list[str]:
    """Every `LIAISON_*` variable, in declaration order (the README table lists them all)."""
    return [f"LIAISON_{f.name.upper()}" for f in fields(Settings)]


def child_environment() -> dict[str, str]:
    """A copy of this process's environment, for launching the services (`make run`)."""
    return dict(os.environ)
