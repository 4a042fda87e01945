"""Notifier fakes: a channel that records and can fail; records arranged as others write them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.channels import ChannelUnavailable
from shared.domain.notifications import (
    Kind,
    Message,
    Notification,
    RecipientType,
    new_notification_id,
)
from shared.sealing import Sealer
from shared.store import Store


class FakeChannel:
    """Records (address, message) pairs in `.delivered`; `fail=True` raises like an outage."""

    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.delivered: list[tuple[str, Message]] = []
        self.attempts = 0

    def send(self, address: str, message: Message) -> None:
        self.attempts += 1
        if self.fail:
            raise ChannelUnavailable(self.name, "ConnectionRefusedError")
        self.delivered.append((address, message))

    def addresses(self) -> list[str]:
        return [address for address, _ in self.delivered]


# Arranging records as the router and intake would have written them.

def save_staff(store: Store, staff_id: str, *, role: str = "officer", email: str = "",
               channels: Sequence[str] = (), supervisor: bool = False) -> None:
    store.redis.hset(store.keys.officer(staff_id), mapping={
        "id": staff_id, "name": f"Staff {staff_id}", "role": role, "email": email,
        "channels": json.dumps(list(channels))})
    if supervisor:
        store.redis.sadd(store.keys.supervisors, staff_id)


def save_notification(store: Store, kind: Kind, *, recipient_type: RecipientType,
                      recipient: str = "", case_id: str = "case-1",
                      reference: str = "K7XM-4QPA-R", priority: int = 2,
                      district: str = "st_albans", now: float = 0.0) -> str:
    note = Notification(id=new_notification_id(), kind=kind, recipient_type=recipient_type,
                        recipient=recipient, case_id=case_id, reference=reference,
                        priority=priority, district=district, created_at=now)
    store.redis.hset(store.keys.notification(note.id), mapping=note.fields())
    store.redis.zadd(store.keys.notify_outbox, {note.id: now + 5})
    return note.id


def save_case(store: Store, sealer: Sealer, submission: dict[str, Any], *,
              case_id: str = "case-1", kind: str = "report") -> None:
    store.redis.hset(store.keys.case(case_id), mapping={
        "id": case_id, "reference": "K7XM-4QPA-R",
        "sealed": sealer.seal({"kind": kind, "submission": submission})})
