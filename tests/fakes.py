"""Fakes that record, for unit tests (STYLE rule 5)."""

from __future__ import annotations

from shared.messaging import ASSIGN_CASE, DELIVER_NOTIFICATION


class FakePublisher:
    """Records what would be published; `fail=True` behaves like a broker that refuses."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def route_message(self, case_id: str) -> tuple[str, str] | None:
        return None  # tests see publishes in `sent`

    def route_case(self, case_id: str) -> bool:
        if self.fail:
            return False
        self.sent.append((ASSIGN_CASE, case_id))
        return True

    def deliver_notification(self, notification_id: str) -> bool:
        if self.fail:
            return False
        self.sent.append((DELIVER_NOTIFICATION, notification_id))
        return True
