"""The development mail sink keeps each message as a file and stops cleanly."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from ops.devredis import free_port
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


def _wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_mail_sink_writes_each_message_to_var_mail_and_exits_on_sigterm(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "LIAISON_ENV": "test", "LIAISON_VAR_DIR": str(tmp_path)}
    log_path = tmp_path / "devmail.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.notifier.devmail", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert _wait_for(lambda: "listening" in log_path.read_text()), \
                log_path.read_text()
            message = EmailMessage()
            message["From"] = "liaison@localhost"
            message["To"] = "officer@force.example"
            message["Subject"] = "Case K7XM-4QPA-R offered to you"
            message.set_content("Open it in the console.")
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.send_message(message)

            mail_dir = tmp_path / "mail"
            assert _wait_for(lambda: list(mail_dir.glob("*.eml")))
            [saved] = list(mail_dir.glob("*.eml"))
            assert "Case K7XM-4QPA-R offered to you" in saved.read_text()
            assert saved.name.endswith(".eml") and "-" in saved.stem

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "stopped" in log_path.read_text()
