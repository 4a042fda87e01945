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

from shared.devredis import free_port
from shared.sealing import new_key

ROOT = Path(__file__).resolve().parents[2]


def run_intake(redis_url: str, tmp_path: Path, rate: str) -> Iterator[str]:
    """Run intake under gunicorn (2 workers) until the generator is closed."""
    port = free_port()
    env = {
        **os.environ,
        "LIAISON_ENV": "test",
        "LIAISON_REDIS_URL": redis_url,
        "LIAISON_SECRET_KEY": "k" * 8 + new_key(),
        "LIAISON_SEALING_KEYS": new_key(),
        "LIAISON_VAR_DIR": str(tmp_path),
        "LIAISON_RATE_LIMIT": rate,
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log_path = tmp_path / f"intake-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "services.intake.app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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
