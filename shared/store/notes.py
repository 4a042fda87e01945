"""What have staff noted on a case? Personal data, so sealed at rest; the event has ids only."""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis

from shared.domain import events
from shared.store.base import ASYNC, Durability, Keys, translate_errors, write_pipeline


class NoteRepository:
    """One list per case (`case:{id}:notes`), oldest first; notes are never trimmed."""

    def __init__(self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
                 durability: Durability = ASYNC) -> None:
        self._r = client
        self._durability = durability
        self._keys = keys
        self._events_maxlen = events_maxlen

    @translate_errors
    def add(self, case_id: str, *, by: str, sealed: str, now: float,
            kind: str = "note") -> str:
        """Append a sealed note and its `NoteAdded` event (who, when — never the text)."""
        note_id = uuid.uuid4().hex
        entry = {"id": note_id, "kind": kind, "by": by, "at": f"{now:.6f}", "sealed": sealed}
        event = {"type": events.NOTE_ADDED, "case_id": case_id, "note_id": note_id, "kind": kind,
                 "by": by, "at": f"{now:.6f}"}
        pipe = write_pipeline(self._r, self._durability)
        pipe.rpush(self._keys.case_notes(case_id), json.dumps(entry, separators=(",", ":")))
        pipe.xadd(self._keys.case_log(case_id), event)
        pipe.xadd(self._keys.events, event,
                  maxlen=self._events_maxlen, approximate=True)
        pipe.execute()
        return note_id

    @translate_errors
    def list(self, case_id: str) -> list[dict[str, Any]]:
        """The case's notes, oldest first, each still sealed (`sealed` field)."""
        raw: list[str] = self._r.lrange(self._keys.case_notes(case_id), 0, -1)
        return [json.loads(item) for item in raw]
