"""HTML form <-> API payload: the forms post flat dotted names; the schemas see JSON.

The same marshmallow schemas validate both, so the page and the API never disagree. Used by
the public pages (intake) and the 101 call handler's page (console), which differ only in
which names are ticks and which are yes/no questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from shared.domain.model import TIME_PRESETS

CHECKBOXES = {
    "happening_now", "in_danger", "injuries", "threats", "repeat_incident", "anonymous",
    "consent_to_contact", "incident_location.online", "when.approximate",
    "needs.bsl_interpreter",
}
RADIOS = {"contact.voicemail_ok", "contact.shared_device", "contact.discreet"}
MULTI = {"hate_strands", "contact.channels"}
PRESETS = {"contact.safe_times", "preferred_times"}
ANY_TIME = "any_time"
# Fields that are part of a form but not of the payload.
CONTROL = {"csrf_token", "submission_id"}
NOT_A_FIELD = "This is not a field of this form."


def form_to_payload(form: MultiDict[str, str], *, drop_contact: bool = False,
                    checkboxes: Set[str] = CHECKBOXES,
                    radios: Set[str] = RADIOS,
                    control: Set[str] = CONTROL,
                    into: dict[str, Any] | None = None,
                    empty_lists: bool = True) -> dict[str, Any]:
    """Nest dotted names, turn ticks (`checkboxes`) and yes/no answers (`radios`) into
    booleans, presets into time windows; drop blanks (and, unless `empty_lists`, a multiple
    choice with nothing chosen). `into`: answers already nested, added to.

    Raises ValidationError for names that do not nest (see `put`)."""
    payload: dict[str, Any] = {} if into is None else into
    for name in form.keys():
        if name in control or name.startswith("_"):
            continue
        if name in MULTI:
            value: Any = [v for v in form.getlist(name) if v]
            if not value and not empty_lists:
                continue
        elif name in PRESETS:
            chosen = [v for v in form.getlist(name) if v]
            if name == "contact.safe_times" and ANY_TIME in chosen:
                put(payload, "contact.any_time", True)
            value = [TIME_PRESETS[v] for v in chosen if v in TIME_PRESETS]
            if not value:
                continue
        elif name in checkboxes:
            value = form.get(name) in ("on", "yes", "true", "1")
        elif name in radios:
            raw = form.get(name, "")
            if raw not in ("yes", "no"):
                continue
            value = raw == "yes"
        else:
            value = (form.get(name) or "").strip()
            if not value:
                continue
        put(payload, name, value)
    prune(payload)
    if drop_contact:
        payload.pop("contact", None)
    return payload


def flatten_errors(messages: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """{'contact': {'phone': ['..']}} -> {'contact.phone': ['..']} (list items fold up)."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = prefix if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, Mapping):
            for sub, msgs in flatten_errors(value, name).items():
                flat.setdefault(sub, []).extend(msgs)
        else:
            flat.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    # A nested group's own message ("_schema") belongs to the group.
    return {k.replace("._schema", ""): v for k, v in flat.items()}


def put(payload: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c`; a name that treats a field as a group, or a group as a field, was not
    made by our form (a hand-made or tampered post): a field error, never a crash."""
    *parents, leaf = dotted.split(".")
    node = payload
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):  # a field posted as if it were a group
            raise ValidationError({dotted: [NOT_A_FIELD]})
    if isinstance(node.get(leaf), dict):  # a group posted as if it were a field
        raise ValidationError({dotted: [NOT_A_FIELD]})
    node[leaf] = value


def prune(node: dict[str, Any]) -> None:
    for key in list(node):
        if isinstance(node[key], dict):
            prune(node[key])
            if not node[key] or all(v is False for v in node[key].values()):
                del node[key]
