"""The embedded Redis keeps its data to its owner: the data directory is 0700 and every file
redis-server writes (AOF, logs) is unreadable by group and others."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis

from ops.devredis import EmbeddedRedis

pytestmark = pytest.mark.integration


def loose(path: Path) -> list[str]:
    """Every path under `path` (and itself) that group or others may use."""
    return [f"{p} {stat.filemode(p.stat().st_mode)}" for p in (path, *path.rglob("*"))
            if p.stat().st_mode & 0o077]


def test_files_the_embedded_redis_writes_are_private(tmp_path: Path):
    data = tmp_path / "redis"
    with EmbeddedRedis(data, appendfsync="always") as server:
        client = redis.Redis.from_url(server.url)
        client.set("liaison:test", "a sealed case")
        client.close()
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any("aof" in p.name for p in files), files
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert loose(data) == []


def test_a_data_dir_left_readable_is_tightened_at_start(tmp_path: Path):
    data = tmp_path / "redis"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = data / "redis.log"
    old.write_text("an old log\n")
    old.chmod(0o644)
    with EmbeddedRedis(data):
        pass
    assert loose(data) == []
