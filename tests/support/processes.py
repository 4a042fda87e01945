"""Run the services as real processes for integration and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ops.devredis import free_port
from shared.sealing import new_key

ROOT = Path(__file__).resolve().parents[2]


def run_intake(redis_url: str, tmp_path: Path, rate: str,
               api_rate: str | None = None) -> Iterator[str]:
    """Run intake under gunicorn (2 workers) until the generator is closed; `rate` limits
    the forms and (unless `api_rate` says otherwise) the partner API."""
    env = {
        "LIAISON_ENV": "test",
        "LIAISON_REDIS_URL": redis_url,
        "LIAISON_SECRET_KEY": "k" * 8 + new_key(),
        "LIAISON_SEALING_KEYS": new_key(),
        "LIAISON_VAR_DIR": str(tmp_path),
        "LIAISON_RATE_LIMIT": rate,
        "LIAISON_API_RATE_LIMIT": api_rate or rate,
    }
    yield from run_web("services.intake.app:create_app()", env, tmp_path)


def run_web(app: str, env: dict[str, str], tmp_path: Path, *,
            workers: int = 2, threads: int = 1) -> Iterator[str]:
    """Run a Flask app factory under gunicorn with `env` until the generator is closed."""
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log_path = tmp_path / f"web-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--no-control-socket", app],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_until_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path,
                       timeout: float = 30) -> None:
    """Poll /healthz until it answers; fail the test with the process's log if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{url} did not become healthy:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
