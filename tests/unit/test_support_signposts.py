"""Where to get support: the force file's `support` list, shown after sending and in the
reporter's acknowledgement, worded discreetly when the person asked for discretion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.notifier.templates import BANNED_WHEN_DISCREET, _reporter_ack
from shared.geography import DEFAULT_FORCE_FILE, GeographyError, load_force


def test_the_bundled_force_lists_local_and_national_support():
    names = [s.name for s in load_force().support]
    assert names == ["Herts Against Hate", "Galop", "Victim Support", "Stop Hate UK"]
    assert all(s.url.startswith("https://") for s in load_force().support)


def test_discreet_signposts_never_say_what_this_is_about():
    shown = load_force().signposts(discreet=True)
    assert shown, "a discreet person should still be told where to get support"
    for service in shown:
        text = f"{service.name} {service.description} {service.url}".lower()
        assert not [w for w in BANNED_WHEN_DISCREET if w in text], service.name


@pytest.mark.parametrize("discreet", [True, False])
def test_the_acknowledgement_signposts_support(discreet):
    subject, body = _reporter_ack("K7XM-4QPA-R", "Sam", discreet, load_force())
    assert "Victim Support" in body and "08 08 16 89 111" in body
    if discreet:
        assert not [w for w in BANNED_WHEN_DISCREET if w in (subject + body).lower()]
        assert "Stop Hate UK" not in body
    else:
        assert "Stop Hate UK" in body and "Galop" in body


def _force_with(tmp_path: Path, support: object) -> Path:
    raw = yaml.safe_load(DEFAULT_FORCE_FILE.read_text(encoding="utf-8"))
    raw["support"] = support
    path = tmp_path / "force.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(("support", "problem"), [
    ([{"name": "X", "description": "Y"}], "phone number or a url"),
    ([{"name": "X", "description": "Y", "url": "http://x.example"}], "https://"),
    ("none", "must be a list"),
])
def test_a_bad_support_entry_is_named(tmp_path, support, problem):
    with pytest.raises(GeographyError, match=problem):
        load_force(_force_with(tmp_path, support))


def test_a_force_without_support_shows_none(tmp_path):
    raw = yaml.safe_load(DEFAULT_FORCE_FILE.read_text(encoding="utf-8"))
    raw.pop("support")
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    force = load_force(path)
    assert force.support == () and "support" not in _reporter_ack("R", "", False, force)[1]
