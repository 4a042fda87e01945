"""Mail and webhook sinks that note when each officer alert arrives, keyed by reference."""

from __future__ import annotations

import json
import re
import threading
import time
from email.message import Message
from typing import Any

from tests.support.stack import HttpSink, MailSink

REFERENCE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]\b")


class Arrivals:
    """First arrival time (time.time()) of an offer alert per (channel, reference)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.first: dict[str, dict[str, float]] = {"email": {}, "webhook": {}}
        self.total = {"email": 0, "webhook": 0}

    def note(self, channel: str, reference: str, at: float) -> None:
        with self._lock:
            self.total[channel] += 1
            self.first[channel].setdefault(reference, at)

    def clear(self) -> None:
        with self._lock:
            for seen in self.first.values():
                seen.clear()
            self.total = {"email": 0, "webhook": 0}

    def delivered(self, reference: str) -> bool:
        """On every channel."""
        return all(reference in seen for seen in self.first.values())


class TimedMailSink(MailSink):
    """The test MailSink, noting each offer email's arrival time."""

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__()
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        at = time.time()
        result = await super().handle_DATA(server, session, envelope)
        message: Message = self.messages.pop()  # keep memory flat over a long run
        found = REFERENCE.search(message.get("Subject") or "")
        if found and "offered to you" in (message.get("Subject") or ""):
            self.arrivals.note("email", found.group(0), at)
        return result


class _TimedRequests(list[dict[str, Any]]):
    """HttpSink's request list, noting each offer webhook's arrival time instead of keeping it."""

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__()
        self.arrivals = arrivals

    def append(self, item: dict[str, Any]) -> None:
        at = time.time()
        try:
            body = json.loads(item["body"])
        except ValueError:
            return
        if body.get("kind") == "offer" and body.get("reference"):
            self.arrivals.note("webhook", body["reference"], at)


def timed_http_sink(arrivals: Arrivals, secret: str) -> HttpSink:
    """The test HttpSink whose receiver notes arrival times, speaking HTTP/1.1 (keep-alive)
    as a real webhook receiver does."""
    sink = HttpSink(secret)
    sink.server.RequestHandlerClass.protocol_version = "HTTP/1.1"  # type: ignore[attr-defined]
    sink.requests = _TimedRequests(arrivals)
    return sink
