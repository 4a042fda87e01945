"""`make run`'s supervisor, the pure parts: back-off, exit wording, reading the Procfile."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.devsupervisor import Backoff, describe_exit, load_procfile

ROOT = Path(__file__).resolve().parents[2]


def test_the_back_off_doubles_from_one_second_up_to_thirty():
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_restarts_in_a_row_count_up_and_a_stable_run_starts_the_count_again():
    backoff = Backoff(stable_after=60)
    restarts, delays = 0, []
    for uptime in (0.5, 3, 10, 20):  # each run dies before it has been up a minute
        restarts, delay = backoff.after_exit(restarts, uptime)
        delays.append((restarts, delay))
    assert delays == [(1, 1), (2, 2), (3, 4), (4, 8)]
    assert backoff.after_exit(restarts, uptime=60) == (1, 1)  # up a minute: a fresh start
    assert backoff.after_exit(restarts, uptime=59.9) == (5, 16)


@pytest.mark.parametrize(("first", "factor", "cap", "expected"), [
    (0.5, 3, 10, [0.5, 1.5, 4.5, 10, 10]),
    (2, 2, 2, [2, 2, 2, 2, 2]),
])
def test_the_schedule_follows_its_settings(first, factor, cap, expected):
    backoff = Backoff(first=first, factor=factor, cap=cap)
    assert [backoff.delay(n) for n in range(1, 6)] == expected


def test_an_exit_is_described_by_its_signal_or_its_code():
    assert describe_exit(-9) == "signal 9"
    assert describe_exit(1) == "code 1"
    assert describe_exit(0) == "code 0"


def test_the_procfile_is_the_list_of_services_in_its_own_order():
    services = load_procfile(ROOT / "Procfile")
    assert [name for name, _ in services] == \
        ["intake", "console", "mailsink", "router", "notifier", "beat"]
    commands = dict(services)
    assert all(command.count("exec ") == 1 for command in commands.values())  # pid = service
    assert "${LIAISON_DEVMAIL_PORT" in commands["mailsink"]


def test_comments_and_blank_lines_in_a_procfile_are_not_services(tmp_path: Path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# web: not me\n\nweb: exec serve --port 1\nworker:   exec work\n")
    assert load_procfile(procfile) == [("web", "exec serve --port 1"), ("worker", "exec work")]
