"""Redis connection, key names and script loading."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis
from redis.exceptions import (  # type: ignore[attr-defined]  # (not in types-redis 4.6)
    OutOfMemoryError,
    ReadOnlyError,
)

from shared.domain.routing import FORCE_WIDE

P = ParamSpec("P")
T = TypeVar("T")


UNREACHABLE = "unreachable"          # no connection, a timeout, still loading its data
OUT_OF_MEMORY = "out_of_memory"      # OOM: maxmemory reached under `noeviction`
READ_ONLY = "read_only"              # READONLY: a replica (say, a demoted master)
CANNOT_PERSIST = "cannot_persist"    # MISCONF: a failed save stops writes
_SAYS = {UNREACHABLE: "unavailable", OUT_OF_MEMORY: "out of memory", READ_ONLY: "read-only",
         CANNOT_PERSIST: "cannot persist"}


class StoreUnavailable(Exception):
    """Redis could not be reached or answered in time, or refused to write (out of memory,
    read-only, cannot persist): nothing was written and the caller should retry later.

    `reason` says which (one of the constants above); `translate_errors`'s message names it
    and the redis error's type ("redis out of memory: OutOfMemoryError"), never a key or a
    value.
    """

    def __init__(self, message: str, *, reason: str = UNREACHABLE) -> None:
        super().__init__(message)
        self.reason = reason

    @classmethod
    def because(cls, reason: str, exc: BaseException) -> StoreUnavailable:
        return cls(f"redis {_SAYS[reason]}: {type(exc).__name__}", reason=reason)


def redis_client(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client that decodes to str and fails fast when Redis is down (no I/O until used)."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=min(timeout, 2.0),
        socket_timeout=timeout,
        health_check_interval=30,
        retry_on_timeout=False,
    )


# A refusal raised inside a Lua script comes back as a plain "Error running script (call to
# f_<sha>): @user_script:1: ... -OOM command not allowed ..." (Redis < 7); a pipeline's error
# is prefixed "Command # <n> (<the command and its arguments>) of pipeline caused error: ".
_PIPELINE_PREFIX = re.compile(r"^Command # \d+ \(.*\) of pipeline caused error: ", re.DOTALL)
_SCRIPT_REFUSAL = re.compile(r"^(?:ERR )?Error running script\b.*?: -(OOM|READONLY|MISCONF)\b",
                             re.DOTALL)
_CODES = {"OOM": OUT_OF_MEMORY, "READONLY": READ_ONLY, "MISCONF": CANNOT_PERSIST}


def write_refusal(exc: redis.ResponseError) -> str | None:
    """Why Redis refused a write (OUT_OF_MEMORY, READ_ONLY, CANNOT_PERSIST), or None when
    `exc` is some other error reply (a bug, a wrong type: not something to retry)."""
    if isinstance(exc, OutOfMemoryError):
        return OUT_OF_MEMORY
    if isinstance(exc, ReadOnlyError):
        return READ_ONLY
    text = _PIPELINE_PREFIX.sub("", str(exc), count=1)
    code = text.split(" ", 1)[0].lstrip("-")
    if code in _CODES:
        return _CODES[code]
    found = _SCRIPT_REFUSAL.match(text)
    return _CODES[found.group(1)] if found else None


def translate_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn Redis being unreachable, or refusing writes (out of memory, read-only, cannot
    persist), into StoreUnavailable — no key or value in its message, no chained cause.
    Other error replies pass through unchanged."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            raise StoreUnavailable.because(UNREACHABLE, exc) from None
        except redis.ResponseError as exc:
            reason = write_refusal(exc)
            if reason is None:
                raise
            raise StoreUnavailable.because(reason, exc) from None

    return wrapper


READINESS_TTL_MS = 10_000


@translate_errors
def probe_writes(client: redis.Redis, key: str) -> None:
    """Raise StoreUnavailable unless Redis takes a write now.

    One SET of a 1-byte value with a 10 s TTL: refused like any other write when Redis is
    out of memory (`noeviction`), a read-only replica or unable to persist, which a PING
    does not notice. One key per process, so probes neither pile up nor collide.
    """
    client.set(key, "1", px=READINESS_TTL_MS)


LIB_MARKER = "-- @lib"


def script_source(name: str) -> str:
    """`shared/lua/<name>.lua` with `shared/lua/lib.lua` spliced in at its `-- @lib` line."""
    folder = resources.files("shared.lua")
    return splice(folder.joinpath(f"{name}.lua").read_text(),
                  folder.joinpath("lib.lua").read_text(), name=name)


def splice(script: str, lib: str, *, name: str = "script") -> str:
    """`script` with `lib` in place of its one `-- @lib` line.

    Every script has exactly one such line, on its own: lib.lua's prelude reads the
    arguments every script is called with. ValueError otherwise — a script that names the
    marker twice, or other than as a whole line, would run without the library or with it
    twice, and fail only when called.
    """
    lines = script.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.rstrip() == LIB_MARKER]
    mentions = sum(LIB_MARKER in line for line in lines)
    if len(at) != 1 or mentions != 1:
        raise ValueError(f"{name}.lua must have exactly one {LIB_MARKER!r} line, on its own "
                         f"(found {len(at)} such lines and {mentions} mentions)")
    lines[at[0]] = lib if lib.endswith("\n") else lib + "\n"
    return "".join(lines)


class LuaScript:
    """A script from shared/lua, called the one way every script is (lib.lua's header):
    ARGV[1] the key prefix, ARGV[2] one JSON object of named arguments. EVALSHA, loaded
    again on NOSCRIPT (after a restart or SCRIPT FLUSH)."""

    def __init__(self, client: redis.Redis, name: str, prefix: str) -> None:
        self._script = client.register_script(script_source(name))
        self._prefix = prefix

    def __call__(self, **args: Any) -> Any:
        return self._script(args=[self._prefix, json.dumps(
            args, ensure_ascii=False, separators=(",", ":"))])


def load_script(client: redis.Redis, name: str, keys: Keys) -> LuaScript:
    """A script over the key family `keys` (its prefix is the script's ARGV[1])."""
    return LuaScript(client, name, keys.prefix)


class Keys:
    """Key names, all under one configurable prefix (DESIGN §6)."""

    def __init__(self, prefix: str = "liaison:") -> None:
        self.prefix = prefix

    # cases
    def case(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}"

    def case_log(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}:log"

    def case_excluded(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}:excluded"

    def case_notes(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}:notes"

    def reference(self, reference: str) -> str:
        return f"{self.prefix}ref:{reference}"

    def idempotency(self, key: str) -> str:
        return f"{self.prefix}idem:{key}"

    def readiness(self, holder: str) -> str:
        """The readiness probe's short-lived key (`holder`: host and process id)."""
        return f"{self.prefix}readyz:{holder}"

    # officers and staff
    def officer(self, officer_id: str) -> str:
        return f"{self.prefix}officer:{officer_id}"

    def officer_cases(self, officer_id: str) -> str:
        return f"{self.prefix}officer:{officer_id}:cases"

    def available(self, district: str) -> str:
        """Eligible officers for a district, scored by load then idle time."""
        return f"{self.prefix}avail:{district}"

    @property
    def available_anywhere(self) -> str:
        """Every eligible officer, whatever their districts (the force-wide pool)."""
        return self.available(FORCE_WIDE)

    @property
    def officers(self) -> str:
        return f"{self.prefix}officers"

    @property
    def supervisors(self) -> str:
        return f"{self.prefix}supervisors"

    def token(self, digest: str) -> str:
        return f"{self.prefix}token:{digest}"

    # console sign-in: username index, failure counters, server-side sessions
    def username(self, username: str) -> str:
        return f"{self.prefix}username:{username}"

    def login_failures(self, digest: str) -> str:
        """Failures and lock for a typed username (hashed: people type passwords there)."""
        return f"{self.prefix}loginfail:{digest}"

    def session(self, digest: str) -> str:
        """A console session, by the hash of its id (a Redis dump gives no usable ids)."""
        return f"{self.prefix}session:{digest}"

    # timers (sorted sets scanned by the sweeper)
    @property
    def waiting(self) -> str:
        return f"{self.prefix}waiting"

    @property
    def waiting_since(self) -> str:
        return f"{self.prefix}waiting:since"

    @property
    def offers(self) -> str:
        return f"{self.prefix}offers"

    @property
    def sla_accept(self) -> str:
        return f"{self.prefix}sla:accept"

    @property
    def sla_contact(self) -> str:
        return f"{self.prefix}sla:contact"

    @property
    def sla_review(self) -> str:
        """Review-by times of accepted cases nobody may contact (anonymous and the like)."""
        return f"{self.prefix}sla:review"

    @property
    def rota_changes(self) -> str:
        return f"{self.prefix}rota:changes"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    # notifications
    def notification(self, notification_id: str) -> str:
        return f"{self.prefix}notification:{notification_id}"

    def delivery_claim(self, notification_id: str, recipient: str, channel: str) -> str:
        return f"{self.prefix}notification:{notification_id}:sent:{recipient}:{channel}"

    @property
    def notify_outbox(self) -> str:
        return f"{self.prefix}notify:outbox"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}deadletters"

    def inbox(self, recipient_id: str) -> str:
        return f"{self.prefix}inbox:{recipient_id}"

    # alerts, events, force
    def alert(self, alert_id: str) -> str:
        return f"{self.prefix}alert:{alert_id}"

    @property
    def open_alerts(self) -> str:
        return f"{self.prefix}alerts:open"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    @property
    def audit_head(self) -> str:
        """The newest audit entry's chain hash (tamper evidence for the tail)."""
        return f"{self.prefix}audit:head"

    @property
    def force(self) -> str:
        return f"{self.prefix}force"

    @property
    def districts(self) -> str:
        return f"{self.prefix}force:districts"
