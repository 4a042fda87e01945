"""`liaison`: officers are added, changed, listed and removed, and mistakes name the option."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from ops.cli import Runtime, main
from ops.seed import DEMO_OFFICERS
from shared.config import Settings
from shared.domain.officers import Availability
from shared.store import Store
from tests.support.world import Clock, World

# Wednesday 10 June 2026, 10:00 in London (BST).
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
Invoke = Callable[..., Result]
HEADER = "id,name,role,districts,skills,capacity,email,shifts,status\n"


@pytest.fixture
def cli(fake_store: Store, settings: Settings) -> Invoke:
    def invoke(*args: str) -> Result:
        runtime = Runtime(settings=settings, store=fake_store, clock=lambda: NOW)
        return CliRunner().invoke(main, list(args), obj=runtime)
    return invoke


def add(cli: Invoke, *extra: str, name: str = "Robin Hale", district: str = "watford") -> str:
    result = cli("officers", "add", "--name", name, "--district", district, *extra)
    assert result.exit_code == 0, result.output
    return str(result.stdout.strip())


def test_an_added_officer_gets_an_id_and_is_listed(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--cover", "hertsmere", "--skill", "lang:polish", "--capacity", "4",
                     "--shift", "mon-fri 08:00-16:00", "--email", "robin.hale@liaison.test")

    listing = cli("officers", "list").output
    line = next(row for row in listing.splitlines() if row.startswith(officer_id))
    assert "Robin Hale" in line and "watford (+hertsmere)" in line
    assert "lang:polish" in line and "0/4" in line and "available" in line
    assert "yes, until Wed 10 Jun 16:00" in line
    officer = fake_store.officers.get(officer_id)
    assert officer is not None and officer.districts == ("watford", "hertsmere")


def test_an_officer_on_shift_is_offered_cases_at_once_and_one_off_shift_is_not(
        cli: Invoke, fake_store: Store) -> None:
    on = add(cli, "--shift", "mon-fri 08:00-16:00", name="On Shift")
    off = add(cli, "--shift", "sat-sun 08:00-16:00", name="Off Shift")

    assert fake_store.officers.available_in("watford") == [on]
    assert fake_store.officers.raw(off)["on_shift"] == "0"
    # the sweeper will look at the off-shift officer when their Saturday shift starts
    assert off in fake_store.officers.rota_due(datetime(2026, 6, 13, 7, 0, tzinfo=UTC)
                                              .timestamp())
    assert off not in fake_store.officers.rota_due(NOW.timestamp())


@pytest.mark.parametrize(("option", "value"), [
    ("--district", "narnia"),
    ("--cover", "narnia"),
    ("--capacity", "-1"),
    ("--shift", "mon-fry 08:00-16:00"),
    ("--shift", "mon-fri 8am-4pm"),
    ("--role", "chief"),
    ("--skill", "sign language"),
    ("--email", "not-an-address"),
    ("--status", "asleep"),
    ("--channel", "nowhere"),
])
def test_a_bad_value_is_refused_naming_its_option(cli: Invoke, fake_store: Store, option: str,
                                                  value: str) -> None:
    args = ["officers", "add", "--name", "Robin Hale", "--district", "watford", option, value]
    result = cli(*args)

    assert result.exit_code == 2
    assert f"'{option}'" in result.output
    assert fake_store.officers.all() == []


def test_an_officer_needs_a_home_district_but_an_admin_does_not(cli: Invoke) -> None:
    refused = cli("officers", "add", "--name", "No Home")
    admin = cli("officers", "add", "--name", "Ada Admin", "--role", "admin")

    assert refused.exit_code == 2 and "'--district'" in refused.output
    assert admin.exit_code == 0


def test_update_changes_only_what_it_is_given(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--cover", "hertsmere", "--skill", "youth", "--skill", "bsl",
                     "--shift", "mon-fri 08:00-16:00", "--email", "robin.hale@liaison.test")

    result = cli("officers", "update", officer_id, "--add-skill", "lang:urdu",
                 "--remove-skill", "bsl", "--cover", "three_rivers", "--capacity", "5")

    assert result.exit_code == 0, result.output
    officer = fake_store.officers.get(officer_id)
    assert officer is not None
    assert officer.skills == {"youth", "lang:urdu"}
    assert officer.districts == ("watford", "three_rivers")
    assert officer.capacity == 5
    assert officer.name == "Robin Hale" and officer.email == "robin.hale@liaison.test"
    assert len(officer.rota.shifts) == 1


def test_update_names_a_bad_option_and_an_unknown_id(cli: Invoke) -> None:
    officer_id = add(cli)

    bad = cli("officers", "update", officer_id, "--district", "narnia")
    unknown = cli("officers", "update", "nobody", "--capacity", "2")

    assert bad.exit_code == 2 and "'--district'" in bad.output
    assert unknown.exit_code == 1 and "no officer with id 'nobody'" in unknown.output


def test_remove_deletes_an_officer(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli)

    result = cli("officers", "remove", officer_id)

    assert result.exit_code == 0
    assert fake_store.officers.get(officer_id) is None
    assert officer_id not in cli("officers", "list").output


def test_remove_refuses_an_officer_holding_a_case(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--shift", "mon-sun 00:00-00:00")
    routed = World(fake_store, clock=Clock(NOW.timestamp())).new_routed_case("watford")
    assert routed.officer_id == officer_id

    result = cli("officers", "remove", officer_id)

    assert result.exit_code == 1
    assert "still holds 1 open case" in result.output and "reassign" in result.output
    assert fake_store.officers.get(officer_id) is not None


def test_rota_adds_shifts_and_clear_starts_again(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--shift", "sat-sun 08:00-16:00")

    added = cli("officers", "rota", officer_id, "--shift", "mon-fri 07:00-15:00")
    assert "shift  sat-sun 08:00-16:00" in added.output
    assert "shift  mon-fri 07:00-15:00" in added.output
    assert fake_store.officers.available_in("watford") == [officer_id]

    cleared = cli("officers", "rota", officer_id, "--clear")
    assert "no shifts" in cleared.output
    assert fake_store.officers.available_in("watford") == []


def test_leave_takes_whole_days_off_in_the_force_time_zone(
        cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--shift", "mon-sun 00:00-00:00")

    result = cli("officers", "leave", officer_id, "--from", "2026-06-10", "--to", "2026-06-11")

    assert result.exit_code == 0, result.output
    assert "leave  Wed 10 Jun 00:00 to Fri 12 Jun 00:00" in result.output
    assert fake_store.officers.available_in("watford") == []
    back = datetime(2026, 6, 11, 23, 0, tzinfo=UTC).timestamp()  # Fri 00:00 BST
    assert officer_id in fake_store.officers.rota_due(back)
    assert officer_id not in fake_store.officers.rota_due(back - 1)

    past = cli("officers", "leave", officer_id, "--from", "2026-01-05", "--to", "2026-01-06")
    assert "Mon 05 Jan" in past.output  # in the past: shown once, dropped on the next change
    later = cli("officers", "leave", officer_id, "--from", "2026-08-03", "--to", "2026-08-04")
    assert "Mon 05 Jan" not in later.output and "Mon 03 Aug" in later.output

    cleared = cli("officers", "leave", officer_id, "--clear")
    assert "leave " not in cleared.output
    assert fake_store.officers.available_in("watford") == [officer_id]


def test_leave_needs_a_real_range(cli: Invoke) -> None:
    officer_id = add(cli)

    backwards = cli("officers", "leave", officer_id, "--from", "2026-12-27",
                    "--to", "2026-12-24")
    garbled = cli("officers", "leave", officer_id, "--from", "Christmas", "--to", "2026-12-24")

    assert backwards.exit_code == 2 and "'--to'" in backwards.output
    assert garbled.exit_code == 2 and "'--from'" in garbled.output


def test_status_changes_availability(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--shift", "mon-sun 00:00-00:00")

    result = cli("officers", "status", officer_id, "away")

    assert result.exit_code == 0 and "now away" in result.output
    officer = fake_store.officers.get(officer_id)
    assert officer is not None and officer.status is Availability.AWAY
    assert fake_store.officers.available_in("watford") == []


def test_import_adds_new_officers_and_updates_one_named_by_id(
        cli: Invoke, fake_store: Store, tmp_path: Path) -> None:
    existing = add(cli, "--shift", "mon-fri 08:00-16:00")
    cli("officers", "leave", existing, "--from", "2026-12-24", "--to", "2026-12-27")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + f"{existing},Robin Hale,officer,dacorum;watford,bsl,2,,mon-fri 07:00-15:00,\n"
        + ",Kit Moss,officer,stevenage;north_hertfordshire,youth;lang:polish,3,"
          "kit.moss@liaison.test,mon-fri 07:00-15:00;sat 22:00-06:00,available\n"
        + ",Pat Lowe,supervisor,,,0,pat.lowe@liaison.test,,\n")

    result = cli("officers", "import", str(roster))

    assert result.exit_code == 0, result.output
    assert "imported 3 (2 added, 1 updated)" in result.output
    by_name = {o.name: o for o in fake_store.officers.all()}
    assert set(by_name) == {"Robin Hale", "Kit Moss", "Pat Lowe"}
    robin = by_name["Robin Hale"]
    assert robin.districts == ("dacorum", "watford") and robin.skills == {"bsl"}
    assert len(robin.rota.leave) == 1  # leave is not in the CSV, so it is kept
    assert len(by_name["Kit Moss"].rota.shifts) == 2


def test_import_reports_every_bad_row_and_writes_nothing(
        cli: Invoke, fake_store: Store, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + ",Good Row,officer,watford,,3,,mon-fri 07:00-15:00,\n"
        + ",Bad District,officer,narnia,,3,,mon-fri 07:00-15:00,\n"
        + ",Good Row Two,officer,dacorum,,3,,,\n"
        + ",Bad Capacity,officer,watford,,lots,,mon-fri 07:00-15:00,\n"
        + ",Bad Shift,officer,watford,,3,,mon-fri 7-3,\n")

    result = cli("officers", "import", str(roster))

    assert result.exit_code == 1
    assert "line 3, column districts: 'narnia' is not a district" in result.output
    assert "line 5, column capacity: 'lots' is not a whole number" in result.output
    assert "line 6, column shifts: shift 'mon-fri 7-3'" in result.output
    assert "nothing imported: 3 problem(s) in 3 row(s)" in result.output
    assert fake_store.officers.all() == []


def test_importing_the_demo_roster_twice_updates_rather_than_doubles(
        cli: Invoke, fake_store: Store) -> None:
    first = cli("officers", "import", str(DEMO_OFFICERS))
    count = len(fake_store.officers.all())
    again = cli("officers", "import", str(DEMO_OFFICERS))

    assert first.exit_code == 0 and f"imported {count} ({count} added, 0 updated)" in first.output
    assert again.exit_code == 0 and f"(0 added, {count} updated)" in again.output
    assert len(fake_store.officers.all()) == count


def test_a_row_without_an_id_for_someone_already_here_is_refused(
        cli: Invoke, fake_store: Store, tmp_path: Path) -> None:
    officer_id = add(cli)
    roster = tmp_path / "roster.csv"
    roster.write_text("name,districts\nRobin Hale,dacorum\n")

    result = cli("officers", "import", str(roster))

    assert result.exit_code == 1
    assert f"line 2, column id: Robin Hale is already {officer_id}" in result.output
    assert len(fake_store.officers.all()) == 1


def test_import_refuses_an_unknown_column(
        cli: Invoke, fake_store: Store, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,districts,rank\nRobin Hale,watford,PC\n")

    result = cli("officers", "import", str(roster))

    assert result.exit_code == 1
    assert "line 1, column rank: unknown column" in result.output
    assert fake_store.officers.all() == []


def test_eligible_says_who_can_take_a_case_and_why_the_others_cannot(cli: Invoke) -> None:
    add(cli, "--shift", "mon-fri 08:00-16:00", "--skill", "bsl", name="Ready Now")
    add(cli, "--shift", "sat-sun 08:00-16:00", name="Weekend Only")
    add(cli, "--shift", "mon-fri 08:00-16:00", "--status", "away", "--skill", "bsl",
        name="Away Today", district="hertsmere")
    add(cli, "--shift", "mon-fri 08:00-16:00", "--capacity", "0", "--skill", "bsl",
        name="No Room", district="dacorum")

    result = cli("officers", "eligible", "--district", "watford", "--skill", "bsl")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = {name: next(line for line in lines if name in line)
            for name in ("Ready Now", "Weekend Only", "Away Today", "No Room")}
    assert "district" in rows["Ready Now"] and rows["Ready Now"].endswith("yes")
    assert "not on shift now" in rows["Weekend Only"] and "lacks bsl" in rows["Weekend Only"]
    assert "neighbour" in rows["Away Today"] and "status is away" in rows["Away Today"]
    assert "force-wide" in rows["No Room"] and "at capacity (0/0)" in rows["No Room"]
    assert "1 of 4 officers eligible now for a case in Watford" in result.output


def test_a_token_is_shown_once_and_resolves_to_the_officer(
        cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli)

    result = cli("token", officer_id)

    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("lt_")
    assert fake_store.officers.officer_for_token(token) == officer_id
    assert "only its hash is stored" in result.stderr
    assert token not in str(fake_store.officers.raw(officer_id))


def test_a_role_change_ends_the_sessions_and_revokes_the_api_token(
        cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli)
    token = cli("token", officer_id).stdout.strip()
    epoch = int(fake_store.officers.raw(officer_id).get("auth_epoch") or 0)

    result = cli("officers", "update", officer_id, "--role", "supervisor")

    assert result.exit_code == 0, result.output
    assert (f"Robin Hale ({officer_id}) is now supervisor (was officer): their console "
            "sessions have ended and their API token is revoked") in result.stdout
    assert fake_store.officers.officer_for_token(token) is None
    record = fake_store.officers.raw(officer_id)
    assert record["role"] == "supervisor" and "token_digest" not in record
    assert int(record["auth_epoch"]) > epoch  # sessions begun before no longer count


def test_an_import_that_changes_a_role_ends_access_too(
        cli: Invoke, fake_store: Store, tmp_path: Path) -> None:
    officer_id = add(cli)
    token = cli("token", officer_id).stdout.strip()
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + f"{officer_id},Robin Hale,admin,,,0,,,\n")

    result = cli("officers", "import", str(roster))

    assert result.exit_code == 0, result.output
    assert "is now admin (was officer)" in result.stdout
    assert fake_store.officers.officer_for_token(token) is None


def test_other_changes_keep_the_api_token(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli)
    token = cli("token", officer_id).stdout.strip()

    result = cli("officers", "update", officer_id, "--capacity", "5", "--role", "officer")

    assert result.exit_code == 0 and "revoked" not in result.stdout
    assert fake_store.officers.officer_for_token(token) == officer_id


def test_removing_someone_revokes_their_api_token(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli)
    token = cli("token", officer_id).stdout.strip()

    assert cli("officers", "remove", officer_id).exit_code == 0
    add(cli, "--id", officer_id)  # the same id again: the old token does not come back

    assert fake_store.officers.officer_for_token(token) is None


def test_an_admin_gets_no_api_token(cli: Invoke) -> None:
    admin = cli("officers", "add", "--name", "Ada Admin", "--role", "admin").stdout.strip()

    result = cli("token", admin)

    assert result.exit_code == 1 and "not admins" in result.output


def test_keys_prints_a_fernet_key() -> None:
    result = CliRunner().invoke(main, ["keys"])

    assert result.exit_code == 0
    Fernet(result.stdout.strip().encode())


def test_a_bad_setting_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("LIAISON_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LIAISON_REDIS_URL", "http://localhost")

    result = CliRunner().invoke(main, ["officers", "list"])

    assert result.exit_code == 2
    assert "LIAISON_REDIS_URL" in result.stderr


def test_redis_down_is_one_clear_line_and_exit_1(settings: Settings) -> None:
    down = Settings.for_tests(var_dir=settings.var_dir,
                              redis_url="redis://:hunter2@127.0.0.1:1/0")

    result = CliRunner().invoke(main, ["officers", "list"], obj=Runtime(settings=down))

    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot reach Redis at redis://127.0.0.1:1" in result.stderr
    assert "hunter2" not in result.stderr


def test_in_development_the_cli_uses_the_redis_make_run_recorded(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ops.devredis import free_port
    from ops.devstack import record_redis_url

    for variable in ("LIAISON_REDIS_URL", "LIAISON_ENV"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LIAISON_VAR_DIR", str(tmp_path))
    port = free_port()  # nothing listens there: the error names the Redis it tried
    record_redis_url(tmp_path, f"redis://127.0.0.1:{port}/0")

    result = CliRunner().invoke(main, ["officers", "list"])

    assert result.exit_code == 1
    assert f"cannot reach Redis at redis://127.0.0.1:{port}" in result.stderr


def test_make_run_records_its_redis_for_the_owner_only_and_forgets_it_for_an_external_one(
        tmp_path: Path) -> None:
    import stat

    from ops.devstack import record_redis_url
    from shared.config import DEV_REDIS_URL_FILE

    record_redis_url(tmp_path, "redis://127.0.0.1:6390/0")
    record_redis_url(tmp_path, "redis://127.0.0.1:6391/0")  # the next run, another port
    path = tmp_path / DEV_REDIS_URL_FILE
    assert path.read_text() == "redis://127.0.0.1:6391/0\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings.from_env({"LIAISON_VAR_DIR": str(tmp_path)}).redis_url == \
        "redis://127.0.0.1:6391/0"

    record_redis_url(tmp_path, None)  # LIAISON_REDIS_URL given: the services use that

    assert not path.exists()


# -- outbound fence: channel URLs are checked when they are set ---------------------------------

@pytest.mark.parametrize(("value", "reason"), [
    ("file:///etc/passwd", "not allowed"),
    ("http://hooks.example/x", "not allowed"),
    ("webhook+https://169.254.169.254/latest/meta-data", "link-local"),
    ("jsons://10.0.0.7/in", "private"),
    ("webhook+https://[::1]/x", "loopback"),
    ("mailto://alex:pw@192.168.1.10", "private"),
    ("webhook+http://hooks.example/x", "plain http"),
])
def test_a_channel_to_a_refused_destination_is_refused_naming_the_option(
        fake_store: Store, settings: Settings, value: str, reason: str) -> None:
    strict = Runtime(settings=replace(settings, outbound_allow=""), store=fake_store,
                     clock=lambda: NOW)
    added = CliRunner().invoke(main, ["officers", "add", "--name", "Robin Hale", "--district",
                                      "watford", "--channel", value], obj=strict)
    assert added.exit_code == 2, added.output
    assert "'--channel'" in added.output and reason in added.output
    assert "pw@" not in added.output.replace(value, "")
    assert fake_store.officers.all() == []


def test_an_update_to_a_refused_channel_changes_nothing(cli: Invoke, fake_store: Store) -> None:
    officer_id = add(cli, "--channel", "webhook+https://93.184.216.34/hook")

    result = cli("officers", "update", officer_id, "--channel",
                 "webhook+https://169.254.169.254/latest")

    assert result.exit_code == 2 and "'--channel'" in result.output
    assert "link-local" in result.output
    officer = fake_store.officers.get(officer_id)
    assert officer is not None and officer.channels == ("webhook+https://93.184.216.34/hook",)


def test_an_internal_channel_on_the_allow_list_is_accepted(
        fake_store: Store, settings: Settings) -> None:
    listed = Runtime(settings=replace(settings, outbound_allow="10.0.0.0/8"), store=fake_store,
                     clock=lambda: NOW)
    added = CliRunner().invoke(main, ["officers", "add", "--name", "Robin Hale", "--district",
                                      "watford", "--channel", "json://10.0.0.7/in"],
                               obj=listed)
    assert added.exit_code == 0, added.output
    [officer] = fake_store.officers.all()
    assert officer.channels == ("json://10.0.0.7/in",)
