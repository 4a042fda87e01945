"""Settings from LIAISON_* variables: safe development defaults, loud errors, strict production.

Every test passes an explicit `environ`; os.environ is never read or changed.
"""

from __future__ import annotations

import json
import secrets
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shared.config import DEV_SECRETS_FILE, ConfigError, Settings
from shared.sealing import Sealer


def dev_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"LIAISON_VAR_DIR": str(tmp_path), **variables}


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {
        "LIAISON_ENV": "production",
        "LIAISON_VAR_DIR": str(tmp_path),
        "LIAISON_SECRET_KEY": secrets.token_urlsafe(32),
        "LIAISON_SEALING_KEYS": Fernet.generate_key().decode(),
        **variables,
    }


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    return str(caught.value)


def assert_round_trips(settings: Settings) -> None:
    sealer = Sealer(settings.sealing_keys)
    assert sealer.unseal(sealer.seal({"name": "Sam"})) == {"name": "Sam"}


# -- development ------------------------------------------------------------------------------

def test_development_generates_its_secrets_into_the_var_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(dev_env(tmp_path))

    stored = json.loads((tmp_path / DEV_SECRETS_FILE).read_text())
    assert settings.env == "development" and not settings.production
    assert settings.secret_key == stored["secret_key"]
    assert len(settings.secret_key) >= 32
    assert settings.sealing_keys == tuple(stored["sealing_keys"])
    assert_round_trips(settings)


def test_the_generated_secrets_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    Settings.from_env(dev_env(tmp_path))

    mode = stat.S_IMODE((tmp_path / DEV_SECRETS_FILE).stat().st_mode)
    assert mode == 0o600


def test_development_reuses_its_secrets_on_the_next_start(tmp_path: Path) -> None:
    first = Settings.from_env(dev_env(tmp_path))
    written = (tmp_path / DEV_SECRETS_FILE).read_text()

    second = Settings.from_env(dev_env(tmp_path))

    assert (second.secret_key, second.sealing_keys) == (first.secret_key, first.sealing_keys)
    assert (tmp_path / DEV_SECRETS_FILE).read_text() == written


def test_development_creates_a_missing_var_dir(tmp_path: Path) -> None:
    var_dir = tmp_path / "nested" / "var"

    Settings.from_env({"LIAISON_VAR_DIR": str(var_dir)})

    assert (var_dir / DEV_SECRETS_FILE).exists()


def test_development_with_its_own_secrets_writes_no_file(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()

    settings = Settings.from_env(dev_env(
        tmp_path, LIAISON_SECRET_KEY="s" * 40, LIAISON_SEALING_KEYS=key))

    assert (settings.secret_key, settings.sealing_keys) == ("s" * 40, (key,))
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    settings = Settings.from_env(dev_env(tmp_path, LIAISON_INTAKE_PORT="", LIAISON_DEBUG=""))

    assert settings.intake_port == Settings().intake_port
    assert settings.debug is False


def test_good_values_are_parsed(tmp_path: Path) -> None:
    keys = [Fernet.generate_key().decode() for _ in range(2)]

    settings = Settings.from_env(dev_env(
        tmp_path, LIAISON_INTAKE_PORT="8080", LIAISON_DEBUG="yes",
        LIAISON_SEALING_KEYS=f" {keys[0]} , {keys[1]} ", LIAISON_REDIS_URL="rediss://r:6380/1",
        LIAISON_RATE_LIMIT="5 per minute", LIAISON_MAX_BODY_BYTES="1024"))

    assert settings.intake_port == 8080
    assert settings.debug is True
    assert settings.sealing_keys == tuple(keys)
    assert settings.redis_url == "rediss://r:6380/1"
    assert settings.rate_limit == "5 per minute"
    assert settings.max_body_bytes == 1024


# -- bad values name their variable -----------------------------------------------------------

@pytest.mark.parametrize(("variable", "value"), [
    ("LIAISON_ENV", "staging"),
    ("LIAISON_INTAKE_PORT", "0"),
    ("LIAISON_INTAKE_PORT", "65536"),
    ("LIAISON_INTAKE_PORT", "abc"),
    ("LIAISON_CONSOLE_PORT", "-1"),
    ("LIAISON_DEBUG", "maybe"),
    ("LIAISON_REDIS_URL", "http://x"),
    ("LIAISON_BROKER_URL", "amqp://x"),
    ("LIAISON_SEALING_KEYS", "notakey"),
    ("LIAISON_SEALING_KEYS", ","),
    ("LIAISON_RATE_LIMIT", "lots"),
    ("LIAISON_API_RATE_LIMIT", "many"),
    ("LIAISON_MAX_BODY_BYTES", "10"),
    ("LIAISON_KEY_PREFIX", "liaison prod"),
    ("LIAISON_CONSOLE_URL", "ftp://console"),
    ("LIAISON_LOG_LEVEL", "LOUD"),
    ("LIAISON_LOG_FORMAT", "xml"),
])
def test_a_bad_value_is_refused_naming_its_variable(
        tmp_path: Path, variable: str, value: str) -> None:
    message = config_error(dev_env(tmp_path, **{variable: value}))

    assert f"{variable}:" in message


def test_a_bad_number_says_what_was_wrong(tmp_path: Path) -> None:
    assert "'abc' is not a whole number" in config_error(
        dev_env(tmp_path, LIAISON_INTAKE_PORT="abc"))
    assert "0 is outside 1..65535" in config_error(dev_env(tmp_path, LIAISON_INTAKE_PORT="0"))


def test_several_bad_values_are_all_named(tmp_path: Path) -> None:
    message = config_error(dev_env(
        tmp_path, LIAISON_ENV="staging", LIAISON_INTAKE_PORT="abc", LIAISON_DEBUG="maybe",
        LIAISON_RATE_LIMIT="lots", LIAISON_MAX_BODY_BYTES="10"))

    for variable in ("LIAISON_ENV", "LIAISON_INTAKE_PORT", "LIAISON_DEBUG",
                     "LIAISON_RATE_LIMIT", "LIAISON_MAX_BODY_BYTES"):
        assert f"{variable}:" in message


def test_several_bad_urls_and_keys_are_all_named(tmp_path: Path) -> None:
    message = config_error(dev_env(
        tmp_path, LIAISON_REDIS_URL="http://x", LIAISON_SEALING_KEYS="notakey",
        LIAISON_LOG_FORMAT="xml"))

    for variable in ("LIAISON_REDIS_URL", "LIAISON_SEALING_KEYS", "LIAISON_LOG_FORMAT"):
        assert f"{variable}:" in message


def test_bad_values_of_every_kind_are_named_together(tmp_path: Path) -> None:
    message = config_error(dev_env(
        tmp_path, LIAISON_INTAKE_PORT="0", LIAISON_REDIS_URL="http://x"))

    assert "LIAISON_INTAKE_PORT:" in message
    assert "LIAISON_REDIS_URL:" in message


def test_a_sealing_key_error_does_not_echo_the_key(tmp_path: Path) -> None:
    message = config_error(dev_env(tmp_path, LIAISON_SEALING_KEYS="notakey-but-secret"))

    assert "notakey-but-secret" not in message


# -- production -------------------------------------------------------------------------------

def test_production_starts_with_good_values(tmp_path: Path) -> None:
    environ = production_env(tmp_path)

    settings = Settings.from_env(environ)

    assert settings.production
    assert settings.secret_key == environ["LIAISON_SECRET_KEY"]
    assert settings.sealing_keys == (environ["LIAISON_SEALING_KEYS"],)
    assert_round_trips(settings)


@pytest.mark.parametrize(("variable", "value", "named"), [
    pytest.param("LIAISON_SECRET_KEY", "", "LIAISON_SECRET_KEY", id="no-secret"),
    pytest.param("LIAISON_SECRET_KEY", "changeme", "LIAISON_SECRET_KEY", id="default-secret"),
    pytest.param("LIAISON_SECRET_KEY", "dev", "LIAISON_SECRET_KEY", id="dev-secret"),
    pytest.param("LIAISON_SECRET_KEY", "x" * 31, "LIAISON_SECRET_KEY", id="short-secret"),
    pytest.param("LIAISON_SEALING_KEYS", "", "LIAISON_SEALING_KEYS", id="no-sealing-keys"),
    pytest.param("LIAISON_DEBUG", "true", "LIAISON_DEBUG", id="debug-on"),
])
def test_production_refuses_unsafe_settings(
        tmp_path: Path, variable: str, value: str, named: str) -> None:
    message = config_error(production_env(tmp_path, **{variable: value}))

    assert f"{named}:" in message
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


def test_production_names_every_unsafe_setting_at_once(tmp_path: Path) -> None:
    message = config_error({"LIAISON_ENV": "production", "LIAISON_VAR_DIR": str(tmp_path),
                            "LIAISON_DEBUG": "on"})

    for variable in ("LIAISON_SECRET_KEY", "LIAISON_SEALING_KEYS", "LIAISON_DEBUG"):
        assert f"{variable}:" in message


def test_production_never_writes_a_secrets_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default var dir is ./var

    with pytest.raises(ConfigError):
        Settings.from_env({"LIAISON_ENV": "production"})
    environ = production_env(tmp_path)
    del environ["LIAISON_VAR_DIR"]
    Settings.from_env(environ)

    assert not (tmp_path / "var").exists()


def test_production_does_not_use_an_existing_development_secrets_file(tmp_path: Path) -> None:
    Settings.from_env(dev_env(tmp_path))

    message = config_error({"LIAISON_ENV": "production", "LIAISON_VAR_DIR": str(tmp_path)})

    assert "LIAISON_SECRET_KEY:" in message
    assert "LIAISON_SEALING_KEYS:" in message


# -- tests ------------------------------------------------------------------------------------

def test_settings_for_tests_have_working_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = Settings.for_tests()

    assert settings.env == "test" and not settings.production
    assert len(settings.secret_key) >= 32
    assert_round_trips(settings)
    assert list(tmp_path.iterdir()) == []


def test_settings_for_tests_are_fresh_each_time() -> None:
    first, second = Settings.for_tests(), Settings.for_tests()

    assert first.secret_key != second.secret_key
    assert first.sealing_keys != second.sealing_keys


def test_settings_for_tests_take_overrides_and_still_validate() -> None:
    assert Settings.for_tests(intake_port=9000).intake_port == 9000
    with pytest.raises(ConfigError, match="LIAISON_REDIS_URL"):
        Settings.for_tests(redis_url="http://x")


# -- the review clock (anonymous and other non-contactable cases) -----------------------------

def test_the_review_target_has_a_default_per_priority_and_can_be_set(tmp_path: Path) -> None:
    default = Settings.from_env(dev_env(tmp_path))
    assert [default.sla_review_seconds(p) for p in (1, 2, 3, 4)] == [3600, 14400, 86400,
                                                                      259200]
    settings = Settings.from_env(dev_env(tmp_path, LIAISON_SLA_REVIEW="1=60,2=120,3=180,4=240"))
    assert settings.sla_review_seconds(3) == 180


@pytest.mark.parametrize("value", ["1=60,2=120", "1=60,2=120,3=180,4=0", "soon"])
def test_a_bad_review_target_is_refused_naming_its_variable(tmp_path: Path, value: str) -> None:
    assert "LIAISON_SLA_REVIEW:" in config_error(dev_env(tmp_path, LIAISON_SLA_REVIEW=value))


# -- the embedded Redis that `make run` recorded (var/redis/url) ------------------------------

def record(var_dir: Path, url: str) -> None:
    from shared.config import DEV_REDIS_URL_FILE

    path = var_dir / DEV_REDIS_URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url + "\n")


def test_development_finds_the_redis_make_run_recorded(tmp_path: Path) -> None:
    record(tmp_path, "redis://127.0.0.1:6391/0")

    assert Settings.from_env(dev_env(tmp_path)).redis_url == "redis://127.0.0.1:6391/0"


def test_without_a_recorded_redis_development_uses_the_default(tmp_path: Path) -> None:
    assert Settings.from_env(dev_env(tmp_path)).redis_url == Settings().redis_url


def test_liaison_redis_url_wins_over_the_recorded_one(tmp_path: Path) -> None:
    record(tmp_path, "redis://127.0.0.1:6391/0")

    settings = Settings.from_env(dev_env(tmp_path, LIAISON_REDIS_URL="redis://elsewhere:6379/2"))

    assert settings.redis_url == "redis://elsewhere:6379/2"


@pytest.mark.parametrize("environment", ["test", "production"])
def test_only_development_reads_the_recorded_redis(tmp_path: Path, environment: str) -> None:
    record(tmp_path, "redis://127.0.0.1:6391/0")
    environ = production_env(tmp_path) if environment == "production" else \
        dev_env(tmp_path, LIAISON_ENV="test")

    assert Settings.from_env(environ).redis_url == Settings().redis_url


def test_a_recorded_value_that_is_not_a_redis_url_is_ignored(tmp_path: Path) -> None:
    record(tmp_path, "http://not-redis")

    assert Settings.from_env(dev_env(tmp_path)).redis_url == Settings().redis_url


# -- secrets from files (LIAISON_*_FILE: Docker and Kubernetes secrets) -----------------------

def secret_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / "run-secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_production_reads_its_secrets_from_files(tmp_path: Path) -> None:
    secret, key = secrets.token_urlsafe(32), Fernet.generate_key().decode()
    environ = production_env(tmp_path)
    del environ["LIAISON_SECRET_KEY"], environ["LIAISON_SEALING_KEYS"]
    environ |= {
        "LIAISON_SECRET_KEY_FILE": secret_file(tmp_path, "secret_key", secret + "\n"),
        "LIAISON_SEALING_KEYS_FILE": secret_file(tmp_path, "sealing_keys", key + "\r\n"),
        "LIAISON_WEBHOOK_SECRET_FILE": secret_file(tmp_path, "webhook", "hook secret\n\n"),
    }

    settings = Settings.from_env(environ)

    assert settings.secret_key == secret  # the trailing newline is not part of it
    assert settings.sealing_keys == (key,)
    assert settings.webhook_secret == "hook secret"
    assert_round_trips(settings)


def test_a_secret_file_keeps_everything_but_the_trailing_newline(tmp_path: Path) -> None:
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    environ = dev_env(tmp_path, LIAISON_SEALING_KEYS_FILE=secret_file(
        tmp_path, "keys", f"{keys[0]},\n{keys[1]}\n"))

    assert Settings.from_env(environ).sealing_keys == tuple(keys)


def test_an_empty_variable_beside_its_file_counts_as_unset(tmp_path: Path) -> None:
    environ = production_env(tmp_path)
    secret, key = environ["LIAISON_SECRET_KEY"], environ["LIAISON_SEALING_KEYS"]
    environ |= {"LIAISON_SECRET_KEY": "", "LIAISON_SEALING_KEYS": "",
                "LIAISON_SECRET_KEY_FILE": secret_file(tmp_path, "s", secret),
                "LIAISON_SEALING_KEYS_FILE": secret_file(tmp_path, "k", key)}

    settings = Settings.from_env(environ)

    assert (settings.secret_key, settings.sealing_keys) == (secret, (key,))


@pytest.mark.parametrize("variable", ["LIAISON_SECRET_KEY", "LIAISON_SEALING_KEYS",
                                      "LIAISON_WEBHOOK_SECRET"])
def test_a_variable_and_its_file_together_are_refused_naming_both(
        tmp_path: Path, variable: str) -> None:
    environ = production_env(tmp_path, LIAISON_WEBHOOK_SECRET="hook")
    environ[f"{variable}_FILE"] = secret_file(tmp_path, "x", environ[variable])

    message = config_error(environ)

    assert f"{variable} and {variable}_FILE are both set" in message
    assert environ[variable] not in message  # the secret is not echoed


def test_an_unreadable_secret_file_is_refused_naming_its_variable(tmp_path: Path) -> None:
    missing = str(tmp_path / "run-secrets" / "nothing-here")
    environ = production_env(tmp_path)
    del environ["LIAISON_SECRET_KEY"]
    environ["LIAISON_SECRET_KEY_FILE"] = missing

    message = config_error(environ)

    assert f"LIAISON_SECRET_KEY_FILE: cannot read {missing}: No such file or directory" \
        in message


def test_a_secret_file_that_is_a_directory_or_empty_is_refused(tmp_path: Path) -> None:
    environ = dev_env(tmp_path, LIAISON_SECRET_KEY_FILE=str(tmp_path),
                      LIAISON_SEALING_KEYS_FILE=secret_file(tmp_path, "empty", "\n"))

    message = config_error(environ)

    assert f"LIAISON_SECRET_KEY_FILE: cannot read {tmp_path}:" in message
    assert "LIAISON_SEALING_KEYS_FILE:" in message and "is empty" in message
    assert not (tmp_path / DEV_SECRETS_FILE).exists()  # nothing generated meanwhile


def test_a_bad_key_from_a_file_is_refused_like_one_from_the_variable(tmp_path: Path) -> None:
    environ = production_env(tmp_path)
    del environ["LIAISON_SEALING_KEYS"]
    environ["LIAISON_SEALING_KEYS_FILE"] = secret_file(tmp_path, "k", "notakey-but-secret\n")

    message = config_error(environ)

    assert "LIAISON_SEALING_KEYS:" in message and "notakey-but-secret" not in message


def test_production_without_a_secret_mentions_the_file_variant(tmp_path: Path) -> None:
    message = config_error({"LIAISON_ENV": "production", "LIAISON_VAR_DIR": str(tmp_path)})

    assert "LIAISON_SECRET_KEY_FILE" in message and "LIAISON_SEALING_KEYS_FILE" in message


# Proxies, the metrics token and the failed-submission limit (issue 10)

def test_trusted_proxies_are_a_list_of_addresses_and_networks(tmp_path: Path) -> None:
    settings = Settings.from_env(dev_env(
        tmp_path, LIAISON_TRUSTED_PROXIES="10.0.0.5, 172.18.0.0/16 fd00::/8,192.168.1.7/24"))
    assert settings.trusted_proxies == ("10.0.0.5/32", "172.18.0.0/16", "fd00::/8",
                                        "192.168.1.0/24")
    assert Settings.from_env(dev_env(tmp_path)).trusted_proxies == ()


@pytest.mark.parametrize("value", ["1", "10.0.0.5,proxy.local", "300.1.1.1", "10.0.0.0/33"])
def test_a_bad_trusted_proxy_is_refused_naming_the_entry(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dev_env(tmp_path, LIAISON_TRUSTED_PROXIES=value))
    message = str(caught.value)
    assert "LIAISON_TRUSTED_PROXIES" in message
    bad = value.split(",")[-1]
    assert repr(bad) in message


def test_the_metrics_token_is_read_and_must_be_long_enough(tmp_path: Path) -> None:
    token = secrets.token_hex(24)
    assert Settings.from_env(dev_env(tmp_path, LIAISON_METRICS_TOKEN=token)).metrics_token \
        == token
    with pytest.raises(ConfigError, match="LIAISON_METRICS_TOKEN"):
        Settings.from_env(dev_env(tmp_path, LIAISON_METRICS_TOKEN="short"))
    path = tmp_path / "metrics-token"
    path.write_text(token + "\n")
    assert Settings.from_env(production_env(
        tmp_path, LIAISON_METRICS_TOKEN_FILE=str(path))).metrics_token == token


def test_the_failed_submission_limit_has_a_default_and_is_validated(tmp_path: Path) -> None:
    assert Settings.from_env(dev_env(tmp_path)).rate_limit_failed == "30 per minute;300 per hour"
    assert Settings.from_env(dev_env(tmp_path, LIAISON_RATE_LIMIT_FAILED="5 per minute")) \
        .rate_limit_failed == "5 per minute"
    with pytest.raises(ConfigError, match="LIAISON_RATE_LIMIT_FAILED"):
        Settings.from_env(dev_env(tmp_path, LIAISON_RATE_LIMIT_FAILED="lots"))


def test_the_retention_periods_have_defaults_per_kind_and_are_validated(tmp_path: Path) -> None:
    settings = Settings.from_env(dev_env(tmp_path))
    assert settings.retention_days == "report=2190,callback=365"
    assert settings.retention_seconds("report") == 2190 * 86400
    chosen = Settings.from_env(dev_env(tmp_path, LIAISON_RETENTION_DAYS="callback=30,report=3650"))
    assert chosen.retention_seconds("callback") == 30 * 86400
    for bad in ("report=2190", "report=0,callback=1", "everything=1", "report=1;callback=1"):
        with pytest.raises(ConfigError, match="LIAISON_RETENTION_DAYS"):
            Settings.from_env(dev_env(tmp_path, LIAISON_RETENTION_DAYS=bad))


# -- outbound fence (LIAISON_OUTBOUND_ALLOW) ---------------------------------------------------

def test_local_sinks_are_allowed_by_default_outside_production_only(tmp_path: Path) -> None:
    assert Settings.from_env(dev_env(tmp_path)).outbound_allow == "127.0.0.1,::1,localhost"
    assert Settings.for_tests().outbound_allow == "127.0.0.1,::1,localhost"
    assert Settings.from_env(production_env(tmp_path)).outbound_allow == ""


def test_the_allow_list_takes_hosts_ips_and_networks_with_ports(tmp_path: Path) -> None:
    value = "relay.internal,10.0.0.5:25,10.1.0.0/16,[fd00::1]:443"
    settings = Settings.from_env(production_env(tmp_path, LIAISON_OUTBOUND_ALLOW=value))
    assert settings.outbound_allow == value


@pytest.mark.parametrize("value", ["not a host", "10.0.0.0/33", "relay:0", "a/b"])
def test_a_bad_allow_list_is_refused(tmp_path: Path, value: str) -> None:
    message = config_error(dev_env(tmp_path, LIAISON_OUTBOUND_ALLOW=value))
    assert "LIAISON_OUTBOUND_ALLOW:" in message


@pytest.mark.parametrize(("variable", "value"), [
    ("LIAISON_SMTP_URL", "smtp://169.254.169.254:25"),
    ("LIAISON_SMTP_URL", "smtp://0.0.0.0:25"),
    ("LIAISON_SMS_URL", "file:///etc/passwd?{phone}"),
    ("LIAISON_SMS_URL", "jsons://169.254.169.254/sms/{phone}"),
    ("LIAISON_SMS_URL", "jsons://10.0.0.8/sms/{phone}"),
    ("LIAISON_SMS_URL", "json://gateway.example/sms/{phone}"),
    ("LIAISON_CONSOLE_URL", "https://169.254.169.254"),
    ("LIAISON_CONSOLE_URL", "https://[::]:8001"),
])
def test_outbound_settings_are_fenced_at_start_up(tmp_path: Path, variable: str,
                                                  value: str) -> None:
    message = config_error(production_env(tmp_path, **{variable: value}))
    assert f"{variable}:" in message
    assert "169.254.169.254" not in message or "link-local" in message


def test_listed_internal_destinations_start(tmp_path: Path) -> None:
    settings = Settings.from_env(production_env(
        tmp_path, LIAISON_OUTBOUND_ALLOW="10.0.0.8,gateway.example",
        LIAISON_SMS_URL="json://gateway.example/sms/{phone}",
        LIAISON_SMTP_URL="smtps://u:p@mail.example:465",
        LIAISON_CONSOLE_URL="https://console.force.example"))
    assert settings.sms_url.startswith("json://")
    Settings.from_env(production_env(tmp_path, LIAISON_OUTBOUND_ALLOW="10.0.0.8",
                                     LIAISON_SMS_URL="jsons://10.0.0.8/sms/{phone}"))
    # the operator's own SMTP relay may be private or loopback (not link-local)
    Settings.from_env(production_env(tmp_path, LIAISON_SMTP_URL="smtp://10.0.0.25:25"))
