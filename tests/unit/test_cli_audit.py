"""DPA 2018 s.62 for the CLI: every `liaison` command that changes staff, accounts, tokens,
keys or personal data, or reads the audit out, writes exactly the audit entries expected —
who (`cli:<os user>`), from where (`cli`), what, when.

The commands are read from the click group itself: a new command that is neither in
`EXPECTED` nor in `NO_AUDIT` (with its reason) fails here.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner

import ops.backup
from ops.cli import Runtime, main
from shared.config import Settings
from shared.domain import events
from shared.domain.officers import Role
from shared.store import Store
from tests.support.cases import add_staff
from tests.support.console import hashed, use_cheap_hashing

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple 42"
ACTOR = "cli:" + getpass.getuser()

# command -> (arguments, standard input, the audit entries it writes: type and some fields)
EXPECTED: dict[str, tuple[list[str], str, list[tuple[str, dict[str, str]]]]] = {
    "officers add": (["--name", "Kit Vale", "--district", "watford", "--id", "kit"], "",
                     [(events.OFFICER_UPDATED, {"officer_id": "kit", "created": "1"})]),
    "officers update": (["robin", "--capacity", "5"], "",
                        [(events.OFFICER_UPDATED, {"officer_id": "robin",
                                                   "fields": "capacity", "created": "0"})]),
    "officers remove": (["robin"], "", [(events.OFFICER_REMOVED, {"officer_id": "robin"})]),
    "officers rota": (["robin", "--shift", "mon-fri 08:00-16:00", "--clear"], "",
                      [(events.OFFICER_UPDATED, {"officer_id": "robin", "fields": "rota"})]),
    "officers leave": (["robin", "--from", "2026-07-01", "--to", "2026-07-03"], "",
                       [(events.OFFICER_UPDATED, {"officer_id": "robin", "fields": "rota"})]),
    "officers import": (["{roster}"], "",
                        [(events.OFFICER_UPDATED, {"officer_id": "robin", "created": "0"}),
                         (events.OFFICER_UPDATED, {"officer_id": "jo", "created": "1"})]),
    "accounts create": (["--id", "robin", "--username", "robin", "--password-stdin"],
                        PASSWORD + "\n",
                        [(events.ACCOUNT_CHANGED, {"officer_id": "robin",
                                                   "change": "created"})]),
    "accounts reset-password": (["sam", "--password-stdin"], PASSWORD + "\n",
                                [(events.ACCOUNT_CHANGED, {"officer_id": "sam",
                                                           "change": "password_reset"})]),
    "accounts disable": (["sam"], "",
                         [(events.ACCOUNT_CHANGED, {"officer_id": "sam", "change": "disabled"}),
                          (events.ACCESS_ENDED, {"officer_id": "sam", "reason": "disabled"})]),
    "accounts enable": (["sam"], "",
                        [(events.ACCOUNT_CHANGED, {"officer_id": "sam", "change": "enabled"})]),
    "token": (["robin"], "", [(events.TOKEN_ISSUED, {"officer_id": "robin",
                                                     "replaced": "1"})]),
    "keys reseal": ([], "", [(events.RECORDS_RESEALED, {"complete": "1"})]),
    "retention run": ([], "", [(events.RETENTION_RUN, {"dry_run": "0"})]),
    "audit verify": ([], "", [(events.AUDIT_VERIFIED, {"ok": "1"})]),
    "audit export": (["--since", "2026-01-01"], "", [(events.AUDIT_EXPORTED,
                                                      {"since": "2026-01-01"})]),
    "partners add": (["galop"], "", [(events.PARTNER_KEY_ISSUED, {"partner": "galop"})]),
    "partners list": ([], "", [(events.PARTNERS_LISTED, {"count": "1"})]),
    "partners revoke": (["herts-pride"], "", [(events.PARTNER_KEY_REVOKED,
                                               {"partner": "herts-pride"})]),
    "backup create": (["--to", "{tmp}/backup"], "",
                      [(events.BACKUP_CREATED, {"method": "sync", "keys": "{keys}"})]),
    "backup verify": (["{backup}"], "", [(events.BACKUP_VERIFIED, {"ok": "1", "cases": "0"})]),
}
# An empty dataset as Redis writes it (RDB 9; a zero checksum is not checked): what the
# backup commands get instead of a live SYNC, which fakeredis cannot do. The real snapshot
# is tests/integration/test_backup_restore.py's.
EMPTY_RDB = b"REDIS0009\xff" + bytes(8)
# Commands that write no audit entry, each with its reason.
NO_AUDIT = {
    "officers list": "the staff directory: no case or reporter data, nothing changed",
    "officers eligible": "who could take a case in a district: staff routing data only",
    "officers status": "availability is routing state: the events stream has it, as from "
                       "the console (AvailabilityChanged)",
    "accounts list": "the logins and whether each is locked: no case or reporter data",
    "keys": "prints a new random key; nothing is read or changed",
}


def command_paths(group: click.Group = main, prefix: str = "") -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                yield path
            yield from command_paths(command, path + " ")
        else:
            yield path


def test_every_command_is_in_the_table() -> None:
    paths = set(command_paths())
    assert len(paths) >= 19
    missing = paths - set(EXPECTED) - set(NO_AUDIT)
    assert missing == set(), f"say what these write to the audit trail: {sorted(missing)}"
    assert set(EXPECTED) | set(NO_AUDIT) <= paths   # no stale rows


@pytest.fixture
def world(fake_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    use_cheap_hashing(monkeypatch)
    add_staff(fake_store, "robin", "watford")
    add_staff(fake_store, "sam", "watford", role=Role.SUPERVISOR)
    fake_store.accounts.create("sam", "sam", hashed(PASSWORD))
    fake_store.partners.issue("herts-pride", now=NOW.timestamp())
    return fake_store


def audit_types(store: Store) -> list[dict[str, str]]:
    return [fields for _, fields in store.redis.xrange(store.keys.audit)]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_each_command_writes_exactly_its_audit_entries(world: Store, settings: Settings,
                                                       tmp_path, path: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    args, stdin, expected = EXPECTED[path]
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,role,districts,skills,capacity,email,shifts,status\n"
                      "robin,Robin,officer,watford,,3,,,available\n"
                      "jo,Jo Lane,officer,hertsmere,,2,,,available\n")
    backup = tmp_path / "taken"
    backup.mkdir()
    (backup / "dump.rdb").write_bytes(EMPTY_RDB)
    (backup / "manifest.json").write_text(json.dumps({
        "created_at": "2026-06-10T08:00:00+00:00", "method": "sync", "source": "test",
        "keys": 0, "bytes": len(EMPTY_RDB), "sha256": hashlib.sha256(EMPTY_RDB).hexdigest()}))
    monkeypatch.setattr(ops.backup, "dump_rdb", lambda _, target: target.write_bytes(EMPTY_RDB))
    args = [a.replace("{roster}", str(roster)).replace("{tmp}", str(tmp_path))
            .replace("{backup}", str(backup)) for a in args]
    expected = [(kind, {k: v.replace("{keys}", str(world.redis.dbsize()))
                        for k, v in fields.items()}) for kind, fields in expected]
    runtime = Runtime(settings=settings, store=world, clock=lambda: NOW)
    before = len(audit_types(world))

    result = CliRunner().invoke(main, [*path.split(), *args], obj=runtime, input=stdin)

    assert result.exit_code == 0, result.output
    added = audit_types(world)[before:]
    assert [e["type"] for e in added] == [kind for kind, _ in expected], added
    for entry, (_, fields) in zip(added, expected, strict=True):
        assert {k: entry.get(k) for k in fields} == fields, entry
        assert entry["by"] == ACTOR and entry["via"] == "cli", entry
        assert float(entry["at"]) == NOW.timestamp()
    text = str(added)
    assert PASSWORD not in text and "lt_" not in text   # never a password or a token
    assert "lp_" not in text                            # nor a partner key


def test_a_role_change_from_the_cli_audits_the_ended_access(world: Store,
                                                            settings: Settings) -> None:
    runtime = Runtime(settings=settings, store=world, clock=lambda: NOW)
    result = CliRunner().invoke(main, ["officers", "update", "robin", "--role", "supervisor"],
                                obj=runtime)
    assert result.exit_code == 0, result.output
    added = [(e["type"], e.get("officer_id"), e.get("reason"), e.get("fields"))
             for e in audit_types(world)]
    assert added == [(events.OFFICER_UPDATED, "robin", None, "role"),
                     (events.ACCESS_ENDED, "robin", "role_changed", None)]
