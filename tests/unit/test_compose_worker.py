"""docker-compose.worker.yml: a worker-only machine (router and notifier against a Redis
elsewhere), checked as tests/unit/test_compose.py checks docker-compose.yml: the Compose
Specification schema, then what matters one by one — nothing but workers, no service that
belongs on the first machine, the same image, commands, health checks and hardening as the
main file's workers, every setting passed through as there, and the addresses of Redis and
the mail relay required (compose refuses to start without them) instead of defaulting to
services that are not on this machine.

tests/integration/test_compose_processes.py runs its services' commands as processes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import messaging
from shared.config import FILE_VARIABLES, variables
from tests.unit import test_compose as main_file

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMPOSE = ROOT / "docker-compose.worker.yml"
WORKERS = ("router", "notifier")
# What differs from docker-compose.yml's environment, and why: no redis or mailsink here.
REQUIRED_HERE = ("LIAISON_REDIS_URL", "LIAISON_SMTP_URL")


@cache
def text() -> str:
    return WORKER_COMPOSE.read_text(encoding="utf-8")


def worker_compose() -> dict[str, Any]:
    return json.loads(json.dumps(yaml.safe_load(text())))


def services() -> dict[str, dict[str, Any]]:
    return worker_compose()["services"]


def test_the_worker_file_is_valid_compose() -> None:
    assert main_file.schema_errors(worker_compose()) == []


def test_it_runs_only_the_workers() -> None:
    assert sorted(services()) == sorted(WORKERS)
    assert "volumes" not in worker_compose()  # no Redis data lives on a worker machine
    for name, service in services().items():
        assert "depends_on" not in service, name  # Redis is on another machine
        assert "ports" not in service, name       # workers listen on nothing
    assert not re.search(r"^\s*(- )?celery .*\bbeat\b", text(), re.M)


def test_the_workers_consume_every_queue_the_code_publishes_to() -> None:
    consumed = set().union(*(main_file.queues([str(a) for a in services()[n]["command"]])
                             for n in WORKERS))
    assert set(messaging.TASK_QUEUES.values()) <= consumed


@pytest.mark.parametrize("name", WORKERS)
def test_each_worker_is_the_main_files_worker(name: str) -> None:
    mine, theirs = services()[name], main_file.services()[name]
    theirs.pop("depends_on")
    assert mine.pop("environment").keys() == theirs.pop("environment").keys()
    assert mine == theirs  # image, build, command, health check, grace, hardening


def test_every_setting_passes_through_as_in_the_main_file() -> None:
    mine = worker_compose()["x-liaison-env"]
    theirs = main_file.compose()["x-liaison-env"]
    assert mine.keys() == theirs.keys()
    differs = {key for key in mine if mine[key] != theirs[key]}
    assert differs == set(REQUIRED_HERE)
    known = {*variables(), *(f"{var}_FILE" for var in FILE_VARIABLES)}
    assert [v for v in mine if v.startswith("LIAISON_") and v not in known] == []
    # Sentinel: the Sentinels, the master's name and their password pass through.
    for var in ("LIAISON_REDIS_SENTINELS", "LIAISON_REDIS_MASTER",
                "LIAISON_REDIS_SENTINEL_PASSWORD", "LIAISON_REDIS_SENTINEL_PASSWORD_FILE"):
        assert mine[var] == "${" + var + ":-}", var


def test_the_redis_and_mail_addresses_are_required_not_defaulted() -> None:
    env = worker_compose()["x-liaison-env"]
    for var in REQUIRED_HERE:
        assert re.fullmatch(r"\$\{" + var + r":\?[^}]+\}", env[var]), env[var]
    values = json.dumps(worker_compose()["services"])
    assert "redis:6379" not in values and "mailsink:" not in values


def test_secrets_have_no_defaults_and_are_never_written_down() -> None:
    for secret in (*FILE_VARIABLES, *(f"{v}_FILE" for v in FILE_VARIABLES)):
        uses = re.findall(r"\$\{" + secret + r"\b([^}]*)\}", text())
        assert uses == [":-"], f"{secret}: {uses}"
