"""Sentinel and durability settings (issue 11): every process finds the master through the
Sentinels, the broker goes the same way, and LIAISON_DURABILITY says when a write counts as
acknowledged. Bad values stop the service naming the variable; `fsync` on a Redis that does
not fsync every write stops production and warns in development."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from ops.cli.base import Runtime
from shared.bootstrap import bootstrap, make_store, verify_durability
from shared.config import ConfigError, Settings
from shared.messaging import make_celery
from shared.store import Store
from shared.store.base import SentinelRedis, check_fsync
from tests.fakes import FakePublisher

SENTINELS = "10.0.0.1:26379, sentinel-2:26380,[fd00::3]:26379"


def env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"LIAISON_VAR_DIR": str(tmp_path), **variables}


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return env(tmp_path, LIAISON_ENV="production",
               LIAISON_SECRET_KEY=secrets.token_urlsafe(32),
               LIAISON_SEALING_KEYS=Fernet.generate_key().decode(), **variables)


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    return str(caught.value)


def test_defaults_are_one_redis_and_async_acknowledgements(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, LIAISON_REDIS_URL="redis://r:6379/0"))
    assert settings.redis_sentinels == ()
    assert not settings.sentinel
    assert settings.durability == "async"
    assert settings.durability_replicas == 1
    assert settings.durability_timeout_ms == 500
    assert settings.broker == "redis://r:6379/0"
    assert settings.broker_is_store


def test_sentinels_are_parsed_and_the_master_defaults_to_liaison(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, LIAISON_REDIS_SENTINELS=SENTINELS,
                                     LIAISON_DURABILITY="replicated",
                                     LIAISON_DURABILITY_REPLICAS="2",
                                     LIAISON_DURABILITY_TIMEOUT_MS="250"))
    assert settings.redis_sentinels == ("10.0.0.1:26379", "sentinel-2:26380",
                                        "[fd00::3]:26379")
    assert settings.redis_master == "liaison"
    assert (settings.durability, settings.durability_replicas,
            settings.durability_timeout_ms) == ("replicated", 2, 250)


def test_under_sentinel_the_recorded_development_redis_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "url").write_text("redis://127.0.0.1:6390/0\n")
    plain = Settings.from_env(env(tmp_path))
    assert plain.redis_url == "redis://127.0.0.1:6390/0"
    sentinel = Settings.from_env(env(tmp_path, LIAISON_REDIS_SENTINELS="127.0.0.1:26379"))
    assert sentinel.redis_url == Settings.redis_url  # only its db/password would count


@pytest.mark.parametrize(("variable", "value"), [
    ("LIAISON_REDIS_SENTINELS", "sentinel-1"),
    ("LIAISON_REDIS_SENTINELS", "sentinel-1:0"),
    ("LIAISON_REDIS_SENTINELS", "sentinel-1:26379,:26379"),
    ("LIAISON_REDIS_SENTINELS", "fd00::1:26379"),
    ("LIAISON_REDIS_SENTINELS", ","),
    ("LIAISON_REDIS_MASTER", "my master"),
    ("LIAISON_DURABILITY", "sync"),
    ("LIAISON_DURABILITY_REPLICAS", "0"),
    ("LIAISON_DURABILITY_TIMEOUT_MS", "0"),
    ("LIAISON_DURABILITY_TIMEOUT_MS", "soon"),
    ("LIAISON_DURABILITY_TIMEOUT_MS", "5000"),
    ("LIAISON_BROKER_URL", "sentinel://s1:26379;redis://s2"),
])
def test_a_bad_value_is_refused_naming_its_variable(tmp_path: Path, variable: str,
                                                    value: str) -> None:
    message = config_error(env(tmp_path, **{"LIAISON_REDIS_SENTINELS": "s1:26379",
                                            variable: value}))
    assert f"{variable}:" in message


def test_a_bad_sentinel_list_names_each_bad_entry(tmp_path: Path) -> None:
    message = config_error(env(tmp_path, LIAISON_REDIS_SENTINELS="s1:26379,s2,s3:x"))
    assert "'s2'" in message and "'s3:x'" in message and "s1" not in message.split(":", 1)[1]


def test_under_sentinel_the_redis_url_must_be_plain_redis(tmp_path: Path) -> None:
    message = config_error(env(tmp_path, LIAISON_REDIS_SENTINELS="s1:26379",
                               LIAISON_REDIS_URL="rediss://:pw@r:6380/1"))
    assert "LIAISON_REDIS_URL:" in message and "Sentinel" in message


def test_the_sentinel_password_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "sentinel-password"
    secret.write_text("s3ntinel-pass\n")
    settings = Settings.from_env(env(tmp_path, LIAISON_REDIS_SENTINELS="s1:26379",
                                     LIAISON_REDIS_SENTINEL_PASSWORD_FILE=str(secret)))
    assert settings.redis_sentinel_password == "s3ntinel-pass"
    both = config_error(env(tmp_path, LIAISON_REDIS_SENTINEL_PASSWORD="x",
                            LIAISON_REDIS_SENTINEL_PASSWORD_FILE=str(secret)))
    assert "both set" in both


def test_the_broker_is_the_same_sentinels_with_the_urls_password_and_database(
        tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, LIAISON_REDIS_SENTINELS="s1:26379,s2:26379",
                                     LIAISON_REDIS_URL="redis://:node-pw@ignored:6379/3"))
    assert settings.broker == "sentinel://:node-pw@s1:26379/3;sentinel://:node-pw@s2:26379/3"
    assert settings.broker_is_store


@pytest.mark.parametrize(("broker", "inline"), [
    ("sentinel://s2:26379/0;sentinel://s1:26379/0", True),   # same set, any order
    ("sentinel://s1:26379/1;sentinel://s2:26379/1", False),  # another database
    ("sentinel://s1:26379/0", False),                        # another set
    ("redis://s1:6379/0", False),                            # a Redis of its own
])
def test_inline_publishing_only_when_the_broker_is_the_stores_own_redis(
        tmp_path: Path, broker: str, inline: bool) -> None:
    settings = Settings.for_tests(var_dir=tmp_path, redis_sentinels=("s1:26379", "s2:26379"),
                                  broker_url=broker)
    assert settings.broker_is_store is inline
    deps = bootstrap(settings, store=Store(_StubClient({})), publisher=None)  # type: ignore[arg-type]
    assert deps.publisher._inline is inline  # type: ignore[attr-defined]


def test_the_store_connects_through_the_sentinels(tmp_path: Path) -> None:
    settings = Settings.for_tests(var_dir=tmp_path, redis_sentinels=("s1:26379", "s2:26380"),
                                  redis_master="cases", redis_url="redis://:pw@x:1/4",
                                  redis_sentinel_password="spw", durability="replicated")
    store = make_store(settings)
    pool = store.redis.connection_pool
    assert isinstance(store.redis, SentinelRedis)
    assert pool.service_name == "cases"  # type: ignore[attr-defined]
    assert [(s.connection_pool.connection_kwargs["host"],
             s.connection_pool.connection_kwargs["port"],
             s.connection_pool.connection_kwargs["password"])
            for s in pool.sentinel_manager.sentinels] == [  # type: ignore[attr-defined]
        ("s1", 26379, "spw"), ("s2", 26380, "spw")]
    assert pool.connection_kwargs["db"] == 4 and pool.connection_kwargs["password"] == "pw"
    assert store.durability.waits and store.durability.replicas == 1


def test_celery_uses_the_guarded_sentinel_transport(tmp_path: Path) -> None:
    settings = Settings.for_tests(var_dir=tmp_path, redis_sentinels=("s1:26379",),
                                  redis_master="cases", redis_sentinel_password="spw")
    conf = make_celery("t", settings).conf
    assert conf.broker_transport == "shared.broker:SentinelTransport"
    assert conf.broker_transport_options["master_name"] == "cases"
    assert conf.broker_transport_options["sentinel_kwargs"]["password"] == "spw"
    assert conf.broker_transport_options["visibility_timeout"] == 15 * 60
    assert conf.broker_channel_error_retry is True
    plain = make_celery("t", Settings.for_tests(var_dir=tmp_path)).conf
    assert plain.broker_transport == "shared.broker:Transport"
    assert "master_name" not in plain.broker_transport_options


def test_the_cli_says_where_redis_is_under_sentinel(tmp_path: Path) -> None:
    runtime = Runtime()
    runtime.settings = Settings.for_tests(var_dir=tmp_path, redis_sentinels=("s1:26379",),
                                          redis_url="redis://:secret@x:1/0")
    where = runtime.redis_where()
    assert "s1:26379" in where and "'liaison'" in where and "secret" not in where


# -- fsync: the Redis must fsync every write --------------------------------------------------

class _StubClient:
    """Answers CONFIG GET from a dict (or refuses it, as managed Redis services do)."""

    def __init__(self, config: dict[str, str] | None) -> None:
        self.config = config

    def config_get(self, name: str) -> dict[str, str]:
        import redis

        if self.config is None:
            raise redis.ResponseError("ERR unknown command 'CONFIG'")
        return {name: self.config[name]} if name in self.config else {}

    def register_script(self, source: str) -> Any:
        return None


def _check(settings: Settings, config: dict[str, str] | None) -> None:
    verify_durability(settings, Store(_StubClient(config)))  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [
    {"appendonly": "yes", "appendfsync": "everysec"},
    {"appendonly": "no", "appendfsync": "always"},
    None,
])
def test_production_with_fsync_refuses_a_redis_that_does_not_fsync_every_write(
        tmp_path: Path, config: dict[str, str] | None) -> None:
    settings = Settings.from_env(production_env(tmp_path, LIAISON_DURABILITY="fsync"))
    with pytest.raises(ConfigError) as caught:
        _check(settings, config)
    assert "LIAISON_DURABILITY=fsync" in str(caught.value)
    _check(settings, {"appendonly": "yes", "appendfsync": "always"})  # starts


def test_development_with_fsync_warns_loudly_and_starts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    settings = Settings.for_tests(var_dir=tmp_path, durability="fsync")
    _check(settings, {"appendonly": "yes", "appendfsync": "everysec"})
    assert any("appendfsync is 'everysec', not 'always'" in r.getMessage()
               for r in caplog.records)


def test_other_modes_do_not_look_at_the_redis_configuration(tmp_path: Path) -> None:
    for mode in ("async", "replicated"):
        settings = Settings.from_env(production_env(tmp_path, LIAISON_DURABILITY=mode))
        _check(settings, None)  # CONFIG refused: not asked


def test_check_fsync_names_what_is_wrong() -> None:
    assert check_fsync(_StubClient({"appendonly": "yes", "appendfsync": "always"})) is None  # type: ignore[arg-type]
    problem = check_fsync(_StubClient(None))  # type: ignore[arg-type]
    assert problem is not None and "CONFIG GET refused" in problem


def test_bootstrap_checks_fsync_at_start_up(tmp_path: Path) -> None:
    settings = Settings.from_env(production_env(tmp_path, LIAISON_DURABILITY="fsync"))
    store = Store(_StubClient({"appendonly": "yes", "appendfsync": "no"}))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="appendfsync is 'no'"):
        bootstrap(settings, store=store, publisher=FakePublisher())


def test_a_worker_checks_fsync_when_it_starts_and_exits_on_a_mismatch_in_production(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not on its first task: a worker that would lose acknowledged writes never consumes."""
    from celery.signals import worker_init

    import shared.bootstrap as boot

    settings = Settings.from_env(production_env(tmp_path, LIAISON_DURABILITY="fsync"))
    config = {"appendonly": "yes", "appendfsync": "everysec"}
    monkeypatch.setattr(boot, "make_store",
                        lambda s: Store(_StubClient(config)))  # type: ignore[arg-type]
    before = list(worker_init.receivers)
    try:
        boot.check_before_consuming(settings)
        with pytest.raises(SystemExit, match="appendfsync is 'everysec'"):
            worker_init.send(sender=None)
        config["appendfsync"] = "always"
        worker_init.send(sender=None)       # the right Redis: the worker starts
    finally:
        worker_init.receivers[:] = before
