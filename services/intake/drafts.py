"""A person's draft of a stepped form: answers sealed in Redis under a random id that only
their session cookie holds (never the URL, never the browser's storage), for
LIAISON_DRAFT_TTL seconds after the last step they sent. Each form (`flow`: "report",
"callback") has its own draft, so one in progress never overwrites the other."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import session

from shared.bootstrap import Deps
from shared.sealing import SealingError

FLOWS = ("report", "callback")


def session_key(flow: str) -> str:
    """The session cookie's name for a form's draft id: `report_draft`, `callback_draft`."""
    return f"{flow}_draft"


@dataclass
class Draft:
    answers: dict[str, list[str]] = field(default_factory=dict)
    # the Idempotency-Key of its submission: sending the same draft again is a replay
    submission_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"answers": self.answers, "submission_id": self.submission_id,
                "sent": self.sent}


def load(deps: Deps, flow: str) -> Draft | None:
    """This session's draft, or None (none started, expired, or sealed with a retired key).
    Raises StoreUnavailable."""
    draft_id = session.get(session_key(flow))
    if not isinstance(draft_id, str):
        return None
    sealed = deps.store.drafts.load(draft_id)
    if sealed is None:
        return None
    try:
        raw = deps.sealer.unseal(sealed)
    except SealingError:
        return None
    return Draft(answers={k: [str(v) for v in vs] for k, vs in raw["answers"].items()},
                 submission_id=str(raw["submission_id"]), sent=bool(raw.get("sent")))


def save(deps: Deps, draft: Draft, flow: str) -> None:
    """Seal and keep the draft (a new id in the session the first time); the TTL restarts."""
    draft_id = session.get(session_key(flow))
    if not isinstance(draft_id, str):
        draft_id = secrets.token_urlsafe(24)
        session[session_key(flow)] = draft_id
    deps.store.drafts.save(draft_id, deps.sealer.seal(draft.as_dict()),
                           deps.settings.draft_ttl)


def clear(deps: Deps, *flows: str) -> None:
    """Forget this session's drafts of these forms (all of them when none is named), in
    Redis and in the cookie."""
    for flow in flows or FLOWS:
        draft_id = session.pop(session_key(flow), None)
        if isinstance(draft_id, str):
            deps.store.drafts.delete(draft_id)
