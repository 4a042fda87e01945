"""What has happened since a given event? The `events` stream, tailed for the live dashboard.

An `EventFeed` may sit on its own Redis client: XREAD BLOCK holds its connection while it
waits, so a dashboard stream must not take one from a shared pool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import redis

from shared.store.base import Keys, translate_errors

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}\Z")


def valid_stream_id(text: str) -> bool:
    """A Redis stream id (`<ms>-<seq>`), as a client may send one back."""
    return bool(_STREAM_ID.match(text))


def event_time(stream_id: str, fields: Mapping[str, str]) -> float:
    """An entry's own `at`, else the time in its stream id (Redis' clock)."""
    try:
        return float(fields["at"])
    except (KeyError, ValueError):
        return int(stream_id.split("-")[0]) / 1000


class EventFeed:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    @translate_errors
    def latest_event_id(self) -> str:
        """The newest id in the events stream ('0-0' when empty): read from here on."""
        newest = self._r.xrevrange(self._keys.events, count=1)
        return str(newest[0][0]) if newest else "0-0"

    @translate_errors
    def events_after(self, last_id: str, *, block_ms: int,
                     count: int = 500) -> list[tuple[str, str]]:
        """(id, type) of events after `last_id`, waiting up to `block_ms` for the first."""
        answer = self._r.xread({self._keys.events: last_id}, count=count,
                               block=max(1, block_ms))
        found: list[tuple[str, str]] = []
        for _, entries in answer or ():
            found.extend((str(i), fields.get("type", "")) for i, fields in entries)
        return found
