"""The development mail sink: an SMTP server that keeps every message as a file.

`python -m services.notifier.devmail [--host 127.0.0.1] [--port 8025]` writes each message
to `<var>/mail/<UTC timestamp>-<short id>.eml` and stops cleanly on SIGTERM or Ctrl-C.
Development only: nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from shared.config import ConfigError, Settings

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


class MailDirHandler:
    """aiosmtpd handler: each accepted message becomes one .eml file in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        content = envelope.content if isinstance(envelope.content, bytes) \
            else str(envelope.content).encode()
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(directory: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Controller:
    """Start the sink in a background thread; call `.stop()` on the result to end it."""
    controller = Controller(MailDirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devmail", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"devmail: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        controller = start_sink(settings.mail_dir, args.host, args.port)
    except OSError as exc:
        print(f"devmail: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"devmail: listening on {args.host}:{args.port}, writing to {settings.mail_dir}",
          flush=True)
    stop.wait()
    controller.stop()
    print("devmail: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
