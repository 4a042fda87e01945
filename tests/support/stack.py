"""The back end as real processes: Celery router, notifier and beat, plus mail and HTTP sinks.

Used by the routing integration tests, the fault tests and the benchmarks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiosmtpd.controller import Controller

from ops.devredis import free_port
from shared.sealing import new_key
from tests.support.processes import ROOT

BIN = Path(sys.executable).parent


def stack_env(redis_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """LIAISON_* settings shared by every process of one test stack."""
    env = {
        "LIAISON_ENV": "test",
        "LIAISON_REDIS_URL": redis_url,
        "LIAISON_SECRET_KEY": "s" * 8 + new_key(),
        "LIAISON_SEALING_KEYS": new_key(),
        "LIAISON_VAR_DIR": str(tmp_path),
        "LIAISON_LOG_FORMAT": "json",
        "LIAISON_SWEEP_INTERVAL_SECONDS": "1",
        "LIAISON_OUTBOX_GRACE_SECONDS": "2",
        "LIAISON_NOTIFY_BACKOFF_SECONDS": "1",
        "LIAISON_RATE_LIMIT": "100000 per minute",
        "LIAISON_API_RATE_LIMIT": "100000 per minute",
    }
    env.update(overrides)
    return env


class CeleryProcess:
    """One `celery worker` or `celery beat` process we can start, stop and kill."""

    def __init__(self, app_module: str, command: list[str], env: Mapping[str, str],
                 log_dir: Path, ready_text: str = " ready.") -> None:
        self.app_module = app_module
        self.command = command
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{command[0]}-{uuid.uuid4().hex[:6]}.log"
        self.ready_text = ready_text
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @classmethod
    def worker(cls, app_module: str, queues: str, env: Mapping[str, str], log_dir: Path, *,
               concurrency: int = 1, name: str = "worker") -> CeleryProcess:
        return cls(app_module, ["worker", "-Q", queues, "--pool", "prefork", "-c",
                                str(concurrency), "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
                                "--loglevel", "INFO", "--without-heartbeat",
                                "--without-gossip", "--without-mingle"], env, log_dir)

    @classmethod
    def beat(cls, app_module: str, env: Mapping[str, str], log_dir: Path) -> CeleryProcess:
        schedule = log_dir / f"beat-{uuid.uuid4().hex[:6]}"
        return cls(app_module, ["beat", "--loglevel", "INFO", "-s", str(schedule)], env,
                   log_dir, ready_text="beat: Starting")

    def start(self, timeout: float = 30.0) -> CeleryProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", self.app_module, *self.command], cwd=ROOT,
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.ready_text not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log()[-3000:]
                self.kill()
                pytest.fail(f"celery {self.command[0]} did not start:\n{tail}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pool_children(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM); kill the process group if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class MailSink:
    """A real SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m.get("To") or "")]


class HttpSink:
    """A real HTTP receiver that records JSON webhook posts."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.requests: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HttpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verified(self) -> list[dict[str, Any]]:
        """Posts whose HMAC signature checks out, with their JSON body decoded."""
        good = []
        for req in self.requests:
            stamp = req["headers"].get("X-Liaison-Timestamp", "")
            sent = req["headers"].get("X-Liaison-Signature", "")
            mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + req["body"],
                           hashlib.sha256).hexdigest()
            if hmac.compare_digest(sent, f"sha256={mac}"):
                good.append(json.loads(req["body"]))
        return good


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll until `condition()` is truthy (bounded); fail the test with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
