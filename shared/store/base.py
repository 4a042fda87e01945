"""Redis connection, key names and script loading."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis
import redis.client
import redis.sentinel
from redis.backoff import NoBackoff
from redis.exceptions import (  # type: ignore[attr-defined]  # (not in types-redis 4.6)
    OutOfMemoryError,
    ReadOnlyError,
)
from redis.retry import Retry

from shared.domain.routing import FORCE_WIDE

P = ParamSpec("P")
T = TypeVar("T")


UNREACHABLE = "unreachable"          # no connection, a timeout, still loading its data
OUT_OF_MEMORY = "out_of_memory"      # OOM: maxmemory reached under `noeviction`
READ_ONLY = "read_only"              # READONLY: a replica (say, a demoted master)
CANNOT_PERSIST = "cannot_persist"    # MISCONF: a failed save stops writes
NOT_REPLICATED = "not_replicated"    # durability `replicated`: WAIT saw too few replicas
_SAYS = {UNREACHABLE: "unavailable", OUT_OF_MEMORY: "out of memory", READ_ONLY: "read-only",
         CANNOT_PERSIST: "cannot persist", NOT_REPLICATED: "not replicated"}


class StoreUnavailable(Exception):
    """Redis could not be reached or answered in time, or refused to write (out of memory,
    read-only, cannot persist): nothing was written and the caller should retry later.

    One exception: `not_replicated` (durability `replicated`) — the write stands on the
    master but too few replicas confirmed it in time, so it is not acknowledged; a retry
    with the same idempotency key finds it.

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


# Commands that only read: safe to send again when the connection broke (a failover
# closed it, or the pool still held a socket to the old master). Writes are never sent
# twice: a write whose connection broke mid-flight may or may not have happened, so it
# surfaces as StoreUnavailable and the caller's retry (idempotency key, outbox, task
# retry) decides.
READ_COMMANDS = frozenset({
    "GET", "MGET", "STRLEN", "EXISTS", "TYPE", "TTL", "PTTL",
    "HGET", "HGETALL", "HMGET", "HLEN", "HEXISTS", "HKEYS", "HVALS", "HSCAN",
    "LRANGE", "LLEN", "LINDEX",
    "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN",
    "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZSCORE", "ZMSCORE",
    "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "ZSCAN",
    "XRANGE", "XREVRANGE", "XLEN", "XINFO",
    "SCAN", "PING", "INFO", "DBSIZE",
})
READ_RETRY_DELAYS = (0.05, 0.25, 0.5)  # then StoreUnavailable (no master yet: a failover)


class SentinelRedis(redis.Redis):
    """The master's client under Sentinel: a read whose connection broke is sent again
    (each attempt asks the Sentinels where the master is now); writes are sent once."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper() if args else ""
        if name not in READ_COMMANDS:
            return super().execute_command(*args, **options)
        for delay in READ_RETRY_DELAYS:
            try:
                return super().execute_command(*args, **options)
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(delay)
        return super().execute_command(*args, **options)


def sentinel_client(sentinels: Sequence[str], master: str, *, db: int = 0,
                    username: str | None = None, password: str | None = None,
                    sentinel_password: str | None = None,
                    timeout: float = 5.0) -> redis.Redis:
    """A client of whichever node the Sentinels name as `master` now (no I/O until used).

    Every new connection asks the Sentinels for the master's address, so after a failover
    the pool reconnects to the promoted replica; a demoted master's READONLY reply closes
    the connection (redis-py turns it into a ConnectionError). Timeouts as `redis_client`.
    """
    hosts = []
    for address in sentinels:
        host, _, port = address.rpartition(":")
        hosts.append((host.strip("[]"), int(port)))
    # A Sentinel that does not answer is skipped for the next one, at once: redis-py's own
    # default (10 retries with backoff per Sentinel) would hold a request for many seconds.
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": min(timeout, 1.0),
                                       "socket_timeout": min(timeout, 1.0),
                                       "retry": no_retry()}
    if sentinel_password:
        sentinel_kwargs["password"] = sentinel_password
    manager = redis.sentinel.Sentinel(hosts, sentinel_kwargs=sentinel_kwargs)
    client: redis.Redis = manager.master_for(
        master, redis_class=SentinelRedis, db=db, username=username, password=password,
        decode_responses=True, socket_connect_timeout=min(timeout, 2.0),
        socket_timeout=timeout, health_check_interval=30, retry_on_timeout=False,
        retry=no_retry())
    return client


def no_retry() -> Retry:
    """redis-py's policy of sending nothing twice (reads retry in SentinelRedis instead)."""
    return Retry(NoBackoff(), 0)


@dataclass(frozen=True)
class Durability:
    """When a write counts as acknowledged (DESIGN §6, LIAISON_DURABILITY).

    `async`: once the master ran it. `fsync`: the same, on a master that appends every
    write to its AOF before answering (`appendfsync always`, checked at start-up by
    `check_fsync`). `replicated`: once `replicas` replicas confirmed it (WAIT, at most
    `timeout_ms`); fewer is StoreUnavailable(`not_replicated`).
    """

    mode: str = "async"
    replicas: int = 1
    timeout_ms: int = 500

    @property
    def waits(self) -> bool:
        return self.mode == "replicated"


ASYNC = Durability()


class WaitingPipeline(redis.client.Pipeline):
    """A pipeline that, after its commands, sends WAIT on the same connection — WAIT counts
    the replicas that have this connection's writes — and raises
    StoreUnavailable(`not_replicated`) when too few confirmed in time. A plain batch carries
    WAIT in its own round trip; a MULTI/EXEC transaction sends it right after EXEC."""

    def __init__(self, client: redis.Redis, durability: Durability, *,
                 transaction: bool) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, transaction, None)
        self.durability = durability
        self.acknowledged: int | None = None

    def _wait(self, connection: Any) -> None:
        connection.send_command("WAIT", self.durability.replicas, self.durability.timeout_ms)
        self.acknowledged = int(connection.read_response())

    def _execute_transaction(self, connection: Any, commands: Any,
                             raise_on_error: bool) -> list[Any]:
        result: list[Any] = super()._execute_transaction(  # type: ignore[misc]
            connection, commands, raise_on_error)
        self._wait(connection)
        return result

    def _execute_pipeline(self, connection: Any, commands: Any,
                          raise_on_error: bool) -> list[Any]:
        # A plain batch: WAIT rides in the same round trip, after the writes.
        wait: tuple[tuple[Any, ...], dict[str, Any]] = (
            ("WAIT", self.durability.replicas, self.durability.timeout_ms), {})
        result: list[Any] = super()._execute_pipeline(  # type: ignore[misc]
            connection, [*commands, wait], raise_on_error)
        self.acknowledged = int(result[-1])
        return result[:-1]

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.acknowledged = None
        result: list[Any] = super().execute(raise_on_error)
        if self.acknowledged is not None and self.acknowledged < self.durability.replicas:
            raise StoreUnavailable(
                f"redis not replicated: {self.acknowledged} of {self.durability.replicas} "
                f"replica(s) confirmed within {self.durability.timeout_ms} ms",
                reason=NOT_REPLICATED)
        return result


def write_pipeline(client: redis.Redis, durability: Durability = ASYNC, *,
                   transaction: bool = True) -> redis.client.Pipeline:
    """A pipeline for a write that is acknowledged to someone: under `replicated` it waits
    for the replicas (WaitingPipeline); otherwise the client's own pipeline."""
    if durability.waits:
        return WaitingPipeline(client, durability, transaction=transaction)
    return client.pipeline(transaction=transaction)


def check_fsync(client: redis.Redis) -> str | None:
    """None when the Redis behind `client` appends every write to its AOF before answering
    (appendonly yes, appendfsync always); otherwise what is wrong, in words naming the
    setting. A Redis that refuses CONFIG (managed services rename it) counts as wrong:
    nothing here can tell."""
    try:
        found = {**client.config_get("appendonly"), **client.config_get("appendfsync")}
    except redis.ResponseError as exc:
        return (f"LIAISON_DURABILITY=fsync: cannot read the Redis configuration (CONFIG GET "
                f"refused: {str(exc).split(' ', 1)[0]}); make sure the server runs with "
                "appendonly yes and appendfsync always, or use LIAISON_DURABILITY=async")
    problems = []
    if found.get("appendonly") != "yes":
        problems.append(f"appendonly is {found.get('appendonly', '?')!r}, not 'yes'")
    if found.get("appendfsync") != "always":
        problems.append(f"appendfsync is {found.get('appendfsync', '?')!r}, not 'always'")
    if not problems:
        return None
    return ("LIAISON_DURABILITY=fsync needs Redis to fsync every write: "
            + " and ".join(problems)
            + " (set them in redis.conf or with CONFIG SET, or use LIAISON_DURABILITY=async)")


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
        self._client = client
        self._script = client.register_script(script_source(name))
        self._prefix = prefix

    def __call__(self, **args: Any) -> Any:
        return self._script(args=self._args(args))

    def durably(self, durability: Durability, **args: Any) -> Any:
        """Call the script; under `replicated`, in one pipeline with WAIT on the same
        connection (StoreUnavailable `not_replicated` if too few replicas confirmed). The
        pipeline loads the script first if the server lacks it (after a failover)."""
        if not durability.waits:
            return self(**args)
        pipe = WaitingPipeline(self._client, durability, transaction=False)
        self._script(args=self._args(args), client=pipe)
        return pipe.execute()[0]

    def _args(self, args: dict[str, Any]) -> list[Any]:
        return [self._prefix, json.dumps(args, ensure_ascii=False, separators=(",", ":"))]


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

    def staffed(self, district: str) -> str:
        """Officers on shift in a district and not off duty, whatever their load or away
        status (a ring with none is skipped)."""
        return f"{self.prefix}staffed:{district}"

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
    def ring_due(self) -> str:
        """Waiting cases by when their next routing ring opens (shared/domain/rings.py)."""
        return f"{self.prefix}ring:due"

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
    def updates_due(self) -> str:
        """Contactable open cases by when their next Victims' Code update is due."""
        return f"{self.prefix}updates:due"

    def person(self, digest: str) -> str:
        """A repeat-victim link: one person's (keyed digest's) case ids by report time."""
        return f"{self.prefix}person:{digest}"

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
