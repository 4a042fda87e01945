"""Redis connection, key names and script loading."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis

P = ParamSpec("P")
T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis could not be reached or answered in time; the caller should retry later."""


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


def translate_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn connection-level Redis errors into StoreUnavailable (no payload in the message)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from None

    return wrapper


def load_script(client: redis.Redis, name: str) -> Any:
    """Register `shared/lua/<name>.lua`; calls use EVALSHA and reload on NOSCRIPT."""
    source = resources.files("shared.lua").joinpath(f"{name}.lua").read_text()
    return client.register_script(source)


class Keys:
    """Key names, all under one configurable prefix."""

    def __init__(self, prefix: str = "liaison:") -> None:
        self.prefix = prefix

    def case(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}"

    def case_log(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}:log"

    def reference(self, reference: str) -> str:
        return f"{self.prefix}ref:{reference}"

    def idempotency(self, key: str) -> str:
        return f"{self.prefix}idem:{key}"

    def alert(self, alert_id: str) -> str:
        return f"{self.prefix}alert:{alert_id}"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    @property
    def force(self) -> str:
        return f"{self.prefix}force"

    @property
    def districts(self) -> str:
        return f"{self.prefix}force:districts"

    @property
    def open_alerts(self) -> str:
        return f"{self.prefix}alerts:open"
