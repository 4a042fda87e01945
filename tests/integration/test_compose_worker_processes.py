"""docker-compose.worker.yml, run: a worker-only machine's router and notifier, each from
its own compose `command`, `environment` and `healthcheck`, as local processes (the same
rewrites as tests/integration/test_compose_processes.py), pointed at "the first machine's"
Redis and a mail relay only through the variables an operator exports
(LIAISON_REDIS_URL, LIAISON_SMTP_URL) — the file itself names no Redis and no mailsink.

What it shows: both become healthy; a case announced on the shared Redis is routed by this
machine's router and its officer's alert is sent by this machine's notifier; and without
LIAISON_REDIS_URL compose would refuse to start the file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ops.devredis import EmbeddedRedis
from shared.config import Settings
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.messaging import CeleryPublisher, make_celery
from shared.store import Store, redis_client
from tests.integration.test_compose_processes import START_TIMEOUT, Compose, Service
from tests.support.cases import create_case
from tests.support.stack import MailSink, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMPOSE = ROOT / "docker-compose.worker.yml"
WORKERS = ("router", "notifier")


@pytest.fixture(scope="module")
def machine(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Compose, dict[str, Service], MailSink]]:
    if redis_server.process is None:
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    mail = MailSink().start()
    compose = Compose(tmp_path_factory.mktemp("worker-machine"), redis_server.url, mail.port,
                      path=WORKER_COMPOSE,
                      shell={"LIAISON_REDIS_URL": redis_server.url, "LIAISON_SMTP_URL": mail.url})
    running = {name: Service(compose, name).start() for name in WORKERS}
    try:
        deadline = time.monotonic() + START_TIMEOUT
        for name, service in running.items():
            while not (result := service.check()).passed:
                assert service.running() and time.monotonic() < deadline, (
                    f"{name} never became healthy: {result}\n{service.log()[-3000:]}")
                time.sleep(1)
        yield compose, running, mail
    finally:
        for service in running.values():
            service.stop()
        mail.stop()


def test_a_worker_machine_routes_and_alerts_from_the_shared_redis(machine, redis_server):
    compose, running, mail = machine
    for service in running.values():  # configured only by what the operator exported
        assert service.env["LIAISON_REDIS_URL"] == redis_server.url
    settings = Settings.for_tests(redis_url=redis_server.url,
                                  sealing_keys=(compose.shell["LIAISON_SEALING_KEYS"],))
    store = Store(redis_client(redis_server.url), prefix=settings.key_prefix)
    store.officers.save(Officer(id="wren", name="Wren", districts=("watford",),
                                rota=always_on(), email="wren@liaison.test"),
                        on_shift=True, next_change=None)
    case_id = create_case(store, settings, "watford")
    # Intake on the first machine would announce it; here the test does, on the same Redis.
    assert CeleryPublisher(make_celery("intake-elsewhere", settings)).route_case(case_id)
    wait_for(lambda: (store.cases.get(case_id) or {}).get("officer") == "wren", timeout=30,
             what="this machine's router to offer the case")
    wait_for(lambda: mail.to("wren@liaison.test"), timeout=30,
             what="this machine's notifier to e-mail the officer through the relay")


def test_without_the_redis_address_compose_refuses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LIAISON_REDIS_URL"):
        Compose(tmp_path, "redis://127.0.0.1:1/0", 1, path=WORKER_COMPOSE).environment("router")
