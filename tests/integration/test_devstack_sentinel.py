"""`make run` and the Redis it needs: under Sentinel it starts no embedded Redis and seeds the
master the Sentinels name; with LIAISON_DURABILITY=fsync its embedded Redis fsyncs every
write (`appendfsync always`), as the setting promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from ops import devstack
from ops.devsentinel import SentinelCluster
from shared.config import Settings
from tests.support.sentinel import collect_redis_garbage

pytestmark = pytest.mark.integration


def launch(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
           seen: dict[str, object]) -> int:
    """devstack._run up to the point it would start the services; `seen` gets what the
    services would have been given, and the embedded Redis's fsync policy if there is one."""
    def services(child_env: dict[str, str], settings: Settings) -> int:
        seen["env"] = dict(child_env)
        url = child_env.get("LIAISON_REDIS_URL")
        if url and not child_env.get("LIAISON_REDIS_SENTINELS"):
            client = redis.Redis.from_url(url, decode_responses=True)
            seen["appendfsync"] = client.config_get("appendfsync")["appendfsync"]
            client.close()
        return 0

    monkeypatch.setattr(devstack, "_run_services", services)
    return devstack._run(Settings.from_env(env), dict(env))


def test_make_run_with_fsync_durability_fsyncs_every_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    env = {"LIAISON_VAR_DIR": str(tmp_path), "LIAISON_DURABILITY": "fsync",
           "LIAISON_DEV_REDIS_PORT": str(_free())}
    seen: dict[str, object] = {}
    assert launch(monkeypatch, env, seen) == 0
    assert seen["appendfsync"] == "always"
    assert "embedded, AOF on" in capsys.readouterr().out
    collect_redis_garbage()  # the store devstack made


def test_make_run_under_sentinel_starts_no_redis_and_seeds_the_master(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    with SentinelCluster(tmp_path / "cluster") as cluster:
        env = {"LIAISON_VAR_DIR": str(tmp_path / "var"), **cluster.settings_env()}
        seen: dict[str, object] = {}
        assert launch(monkeypatch, env, seen) == 0
        assert "appendfsync" not in seen  # no embedded Redis was asked
        assert not (tmp_path / "var" / "redis").exists()
        out = capsys.readouterr().out
        assert cluster.sentinels[0] in out and "'liaison'" in out
        master = cluster.client(cluster.master())
        assert master.keys("liaison:officer:*")  # the demo officers are on the master
        master.close()
    collect_redis_garbage()  # the store devstack made


def _free() -> int:
    from ops.devredis import free_port

    return free_port()
