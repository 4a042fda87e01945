"""Fixtures shared by every test group: settings, stores (fake and real Redis), apps."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

from ops.devredis import EmbeddedRedis
from shared.config import Settings
from shared.store import Store
from tests.fakes import FakePublisher

CANARY = "CANARY-Zq7x-9d41-Kestrel"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_tests(var_dir=tmp_path)


@pytest.fixture
def fake_store() -> Store:
    """A Store over fakeredis (with Lua) — for fast unit tests only."""
    client = fakeredis.FakeRedis(decode_responses=True)
    return Store(client, prefix="test:")


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server on a free port for the whole session (AOF on)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    """The real server's URL, emptied before each test."""
    if redis_server.process is None:  # a test stopped it; bring it back
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
