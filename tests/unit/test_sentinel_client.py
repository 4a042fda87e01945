"""The store's client under Sentinel sends a read again when its connection broke (a
failover closed it), and never sends a write twice: a write whose connection broke may
have happened, so it surfaces as StoreUnavailable and the caller's retry decides."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from shared.store.base import (
    UNREACHABLE,
    SentinelRedis,
    StoreUnavailable,
    sentinel_client,
    translate_errors,
)


class Flaky(SentinelRedis):
    """Fails the first `failures` commands with a broken connection; records every send."""

    def __init__(self, failures: int) -> None:
        super().__init__(connection_pool=redis.ConnectionPool())
        self.failures = failures
        self.sent: list[str] = []

    def _send(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        if self.failures:
            self.failures -= 1
            raise redis.ConnectionError("Connection closed by server.")
        return "ok"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis.Redis, "execute_command",
                        lambda self, *a, **o: self._send(*a, **o))
    monkeypatch.setattr("shared.store.base.READ_RETRY_DELAYS", (0, 0, 0))


def test_a_read_is_sent_again_on_the_new_connection() -> None:
    client = Flaky(failures=2)
    assert client.execute_command("HGETALL", "liaison:case:1") == "ok"
    assert client.sent == ["HGETALL"] * 3


def test_a_read_gives_up_after_a_few_tries_as_store_unavailable() -> None:
    client = Flaky(failures=10)
    with pytest.raises(StoreUnavailable):
        translate_errors(client.execute_command)("GET", "k")
    assert client.sent == ["GET"] * 4


@pytest.mark.parametrize("command", ["SET", "EVALSHA", "HINCRBY", "XADD", "MULTI"])
def test_a_write_is_sent_once(command: str) -> None:
    client = Flaky(failures=1)
    with pytest.raises(StoreUnavailable):
        translate_errors(client.execute_command)(command, "k")
    assert client.sent == [command]


def test_sentinel_client_reaches_the_master_by_name_with_the_stores_timeouts() -> None:
    client = sentinel_client(["10.0.0.1:26379", "[fd00::2]:26380"], "liaison", db=2,
                             password="pw", sentinel_password="spw", timeout=3.0)
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    assert kwargs["socket_timeout"] == 3.0 and kwargs["socket_connect_timeout"] == 2.0
    assert kwargs["decode_responses"] is True and kwargs["db"] == 2
    hosts = [(s.connection_pool.connection_kwargs["host"],
              s.connection_pool.connection_kwargs["port"])
             for s in pool.sentinel_manager.sentinels]  # type: ignore[attr-defined]
    assert hosts == [("10.0.0.1", 26379), ("fd00::2", 26380)]


def test_no_sentinel_knowing_the_master_is_store_unavailable() -> None:
    from redis.sentinel import MasterNotFoundError

    def ask() -> None:
        raise MasterNotFoundError("No master found for 'liaison'")

    with pytest.raises(StoreUnavailable) as caught:
        translate_errors(ask)()
    assert caught.value.reason == UNREACHABLE
    assert "MasterNotFoundError" in str(caught.value)
