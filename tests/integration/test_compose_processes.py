"""docker-compose.yml, run: every app service's own `command`, `environment` and
`healthcheck`, as local processes against a real redis-server and a real SMTP sink.

No container engine runs here, so each service of the compose file runs as a process with
what compose would give its container. What differs between a container and a process on
this machine is rewritten, and only that (`Compose.rewrite`, `Compose.environment`). The
rewrites 2-4 apply to the text the compose file and the Dockerfile give, before
interpolation, so values the test supplies (files under pytest's /tmp) are left alone:

1. Interpolation, as compose does it: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
   `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}` from `shell_env` (the environment one
   would run `docker compose up` in: the secret key as a file, as a Docker secret would be,
   the sealing key as a variable, tiny offer timeouts), never from os.environ; `$$` -> `$`.
2. Service host names: `redis:6379` -> the test's redis-server, `mailsink:1025` -> an
   aiosmtpd sink (tests/support/stack.MailSink), both on 127.0.0.1.
3. Ports: a published container port (`...:8000:8000`) becomes a free port on 127.0.0.1,
   wherever the service names it: the bind (`0.0.0.0:8000`) and its health check
   (`127.0.0.1:8000`, run inside the container).
4. `/tmp` (each container's own tmpfs) -> a directory per service; WORKDIR /app -> an
   empty directory per service; HOME (/nonexistent in the image) -> a path that does
   not exist.
5. The image's environment first (the Dockerfile's final-stage ENV: LIAISON_ENV,
   GUNICORN_CMD_ARGS, ...), PATH with this venv's bin first (the image's /opt/venv/bin),
   HOSTNAME = this machine's host name (Docker sets it to the container's, so
   `celery -n router@%h` and the health check's `$HOSTNAME` agree as in a container),
   then the service's `environment` (the `x-liaison-env` block merged by YAML).

Redis itself is the session's redis-server (tests/conftest.py): the compose `redis` service
is the stock image with its own flags. `flower` and `mailsink` are skipped, with the
reason: Flower is no project dependency (it lives only in the image), Mailpit is a Go
program in its own image.

What it shows: every app service starts from its compose command and becomes healthy; a
report posted to intake's HTTP API reaches the officer as an e-mail; the sweeper runs
(beat's clock -> the `sweep` queue -> a worker): an offer expires (OfferExpired) and a due
rota change is applied; no sweep message piles up; and every health check passes, then
fails once its own service is stopped (while the others still pass).
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml

from ops.devredis import EmbeddedRedis, die_with_parent, free_port
from shared.domain.officers import Officer
from shared.domain.rota import always_on
from shared.messaging import SWEEP_QUEUE
from shared.sealing import new_key
from shared.store import Store, redis_client
from tests import payloads
from tests.support.stack import MailSink, wait_for
from tests.unit.test_compose import final_stage, seconds

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent
APP_SERVICES = ("intake", "console", "router", "notifier", "beat")
OFFER_SECONDS = 2
START_TIMEOUT = 90.0


def shell_env(root: Path) -> dict[str, str]:
    """The environment `docker compose up` would be run in: one secret from a file (the
    _FILE way, as with Docker secrets), one from a variable, and tiny offer timeouts."""
    secret_file = root / "secrets" / "liaison_secret_key"
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret_file.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
    return {
        "LIAISON_SECRET_KEY_FILE": str(secret_file),
        "LIAISON_SEALING_KEYS": new_key(),
        "FLOWER_BASIC_AUTH": "ops:compose-test",
        "LIAISON_OFFER_TIMEOUTS": ",".join(f"{p}={OFFER_SECONDS}" for p in (1, 2, 3, 4)),
    }


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one string (nested `${...}` is not used in our file)."""
    def value(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg, found = match["op"], match["arg"] or "", env.get(name)
        if op in (":?", "?") and (found is None or (op == ":?" and found == "")):
            raise ValueError(f"compose would refuse: {name}: {arg}")
        if op == ":-":
            return found or arg
        if op == "-":
            return arg if found is None else found
        if op == ":+":
            return arg if found else ""
        if op == "+":
            return "" if found is None else arg
        return found or ""

    return _VARIABLE.sub(value, text)


def image_environment() -> dict[str, str]:
    """The Dockerfile's final-stage ENV (PATH aside: see rewrite 5)."""
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, val = item.partition("=")
                env[key] = val
    env.pop("PATH", None)
    return env


@dataclass
class CheckResult:
    service: str
    returncode: int | None  # None: it ran past the compose `timeout`
    seconds: float
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0


class Compose:
    """The compose file, rewritten and interpolated for processes on this machine."""

    def __init__(self, root: Path, redis_url: str, smtp_port: int, *,
                 path: Path = COMPOSE, shell: dict[str, str] | None = None) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.root = root
        self.shell = {**shell_env(root), **(shell or {})}
        self.services: dict[str, dict[str, Any]] = raw["services"]  # not yet interpolated
        redis_address = redis_url.split("//", 1)[1].split("/", 1)[0]
        self.addresses = {"redis:6379": redis_address, "mailsink:1025": f"127.0.0.1:{smtp_port}"}
        self.ports: dict[str, dict[str, int]] = {
            name: {self.container_port(p): free_port() for p in svc.get("ports", [])}
            for name, svc in self.services.items()}
        self.hostname = socket.gethostname()

    @staticmethod
    def container_port(published: str | int) -> str:
        return str(published).rsplit(":", 1)[-1].split("/")[0]

    def tmp(self, name: str) -> Path:
        path = self.root / name / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def workdir(self, name: str) -> Path:
        path = self.root / name / "app"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def rewrite(self, name: str, text: str) -> str:
        """Rewrites 2-4 (see the module docstring) in one string of service `name`, then
        the interpolation (1)."""
        for address, local in self.addresses.items():
            text = re.sub(r"(?<=[/@])" + re.escape(address) + r"(?!\d)", local, text)
        for port, local_port in self.ports[name].items():
            text = re.sub(r"\b(?:0\.0\.0\.0|127\.0\.0\.1|localhost):" + port + r"(?!\d)",
                          f"127.0.0.1:{local_port}", text)
        text = re.sub(r"(?<![\w./~-])/tmp(?=$|[/\s'\"])", str(self.tmp(name)), text)
        return interpolate(text, self.shell)

    def environment(self, name: str) -> dict[str, str]:
        declared = self.services[name].get("environment", {})
        if isinstance(declared, list):
            declared = dict(item.split("=", 1) for item in declared)
        return {
            **{key: self.rewrite(name, val) for key, val in image_environment().items()},
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root / name / "nonexistent"),
            "HOSTNAME": self.hostname,
            **{key: self.rewrite(name, "" if val is None else str(val))
               for key, val in declared.items()},
        }

    def argv(self, name: str) -> list[str]:
        cmd = self.services[name]["command"]
        parts = shlex.split(cmd) if isinstance(cmd, str) else [str(p) for p in cmd]
        return [self.rewrite(name, part) for part in parts]

    def check_argv(self, name: str) -> list[str]:
        test = self.services[name]["healthcheck"]["test"]
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        kind, *rest = [self.rewrite(name, str(part)) for part in test]
        if kind == "CMD":
            return rest
        assert kind == "CMD-SHELL" and len(rest) == 1, test
        return ["/bin/sh", "-c", rest[0]]

    def url(self, name: str, port: int) -> str:
        return f"http://127.0.0.1:{self.ports[name][str(port)]}"


class Service:
    """One compose service as a process (its own session, so it can be stopped whole)."""

    def __init__(self, compose: Compose, name: str) -> None:
        self.compose = compose
        self.name = name
        self.env = compose.environment(name)
        self.log_path = compose.root / name / "output.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.compose.argv(self.name), cwd=self.compose.workdir(self.name),
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """As `docker compose stop`: SIGTERM to the main process (what init: true forwards
        it to), then SIGKILL to everything left after the grace period (capped at 30 s)."""
        if self.proc is None:
            return
        grace = min(seconds(self.compose.services[self.name].get("stop_grace_period", "10s")),
                    30.0)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # pool children, if any are left
        except ProcessLookupError:
            pass
        self.proc.wait()

    def check(self) -> CheckResult:
        """Run the service's `healthcheck.test` as Docker would, within its `timeout`."""
        timeout = seconds(self.compose.services[self.name]["healthcheck"].get("timeout", "30s"))
        started = time.monotonic()
        proc = subprocess.Popen(self.compose.check_argv(self.name),
                                cwd=self.compose.workdir(self.name), env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            code = None
        return CheckResult(self.name, code, time.monotonic() - started,
                           out.decode(errors="replace")[-2000:])


class Stack:
    def __init__(self, compose: Compose, mail: MailSink, store: Store) -> None:
        self.compose = compose
        self.mail = mail
        self.store = store
        self.services = {name: Service(compose, name) for name in APP_SERVICES}
        self.became_healthy: dict[str, float] = {}

    def checks(self, names: tuple[str, ...] | list[str]) -> dict[str, CheckResult]:
        with ThreadPoolExecutor(len(names)) as pool:
            return dict(zip(names, pool.map(lambda n: self.services[n].check(), names),
                            strict=True))

    def wait_healthy(self) -> dict[str, float]:
        """Start every app service at once (each depends only on Redis) and poll each
        health check until it passes, as `depends_on: service_healthy` would wait."""
        started = time.monotonic()
        became: dict[str, float] = {}

        def wait(name: str) -> None:
            service = self.services[name]
            deadline = started + START_TIMEOUT
            while True:
                result = service.check()
                if result.passed:
                    became[name] = time.monotonic() - started
                    return
                if not service.running() or time.monotonic() > deadline:
                    raise AssertionError(
                        f"{name} never became healthy (exit {service.proc and service.proc.poll()})"
                        f"\ncheck: {result}\nlog:\n{service.log()[-3000:]}")
                time.sleep(1)

        for service in self.services.values():
            service.start()
        with ThreadPoolExecutor(len(self.services)) as pool:
            list(pool.map(wait, self.services))
        return became

    def officer(self, officer_id: str, district: str, *, on_shift: bool = True,
                next_change: float | None = None) -> None:
        officer = Officer(id=officer_id, name=officer_id.title(), districts=(district,),
                          rota=always_on(), email=f"{officer_id}@liaison.test")
        self.store.officers.save(officer, on_shift=on_shift, next_change=next_change)

    def report(self, **overrides: Any) -> str:
        resp = requests.post(f"{self.compose.url('intake', 8000)}/api/v1/reports",
                             json=payloads.report(**overrides), timeout=10)
        assert resp.status_code == 201, resp.text
        case_id = self.store.cases.id_for_reference(resp.json()["reference"])
        assert case_id
        return case_id

    def events(self, kind: str) -> list[dict[str, str]]:
        entries = self.store.redis.xrange(self.store.keys.events)
        return [fields for _, fields in entries if fields.get("type") == kind]

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.services)) as pool:
            list(pool.map(lambda s: s.stop(), self.services.values()))


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if redis_server.process is None:  # a test before us stopped it
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    mail = MailSink().start()
    compose = Compose(tmp_path_factory.mktemp("compose"), redis_server.url, mail.port)
    store = Store(redis_client(redis_server.url), prefix="liaison:")
    running = Stack(compose, mail, store)
    try:
        running.became_healthy = running.wait_healthy()
        yield running
    finally:
        running.stop()
        mail.stop()


def test_every_app_service_starts_from_its_compose_command_and_is_healthy(stack: Stack):
    print("healthy after (s):", {k: round(v, 1) for k, v in stack.became_healthy.items()})
    for service in stack.services.values():  # the secret key came from its file
        assert service.env["LIAISON_SECRET_KEY"] == ""
        assert Path(service.env["LIAISON_SECRET_KEY_FILE"]).is_file()
    results = stack.checks(APP_SERVICES)
    failed = {name: r for name, r in results.items() if not r.passed}
    assert not failed, failed
    print("checks (s):", {name: round(r.seconds, 1) for name, r in results.items()})


def test_a_report_through_intake_reaches_the_officer_by_email(stack: Stack):
    stack.officer("olivia", "watford")
    case_id = stack.report(incident_location={"postcode": "WD17 1AA"})
    wait_for(lambda: (stack.store.cases.get(case_id) or {}).get("officer") == "olivia",
             timeout=30, what="the router to offer the case to the Watford officer")
    mail = wait_for(lambda: stack.mail.to("olivia@liaison.test"), timeout=30,
                    what="the officer's e-mail alert at the SMTP sink")
    reference = stack.store.cases.get(case_id)["reference"]
    assert reference in mail[0].as_string()


def test_the_sweeper_expires_an_offer_nobody_accepts(stack: Stack):
    stack.officer("dana", "dacorum")
    case_id = stack.report(incident_location={"district": "dacorum"})
    wait_for(lambda: (stack.store.cases.get(case_id) or {}).get("officer") == "dana",
             timeout=30, what="an offer to the Dacorum officer")
    # The offer lasts OFFER_SECONDS; beat sends a sweep every 5 s; a worker must take it.
    expired = wait_for(lambda: [e for e in stack.events("OfferExpired")
                                if e.get("case_id") == case_id],
                       timeout=30, what="OfferExpired in the events stream (the sweeper)")
    assert expired[0]["officer_id"] == "dana"


def test_the_sweeper_applies_a_due_rota_change(stack: Stack):
    stack.officer("nightshift", "broxbourne", on_shift=False, next_change=time.time() + 1)
    assert stack.store.officers.raw("nightshift")["on_shift"] == "0"
    wait_for(lambda: stack.store.officers.raw("nightshift").get("on_shift") == "1",
             timeout=30, what="the sweeper to start the officer's shift")


def test_no_sweep_message_piles_up(stack: Stack):
    # Beat sends one every few seconds; with a consumer the queue stays (nearly) empty.
    assert stack.store.redis.llen(SWEEP_QUEUE) <= 2


def test_each_health_check_fails_once_its_own_service_is_stopped(stack: Stack):
    for down in (("intake", "router"), ("console", "notifier", "beat")):
        for name in down:
            stack.services[name].stop()
        results = stack.checks(APP_SERVICES)
        print("with", down, "stopped:",
              {n: (r.returncode, round(r.seconds, 1)) for n, r in results.items()})
        for name, result in results.items():
            stopped = not stack.services[name].running()
            assert result.passed is not stopped, (name, result)


def test_flower_runs_as_compose_says() -> None:
    installed = importlib.util.find_spec("flower") is not None
    pytest.skip("flower is not run here: it is no project dependency (the Dockerfile installs "
                f"it into the image only; installed in this venv: {installed})")


def test_mailsink_health_check() -> None:
    pytest.skip("mailsink is not run here: Mailpit is a Go program in its own image, and its "
                f"health check is the image's `/mailpit readyz` (mailpit on PATH: "
                f"{shutil.which('mailpit') is not None})")
