"""Routine work stays out of INFO: Celery's per-task lines for the sweep are demoted to DEBUG,
and the sweeper logs at INFO only when it did something (with counts, never ids)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.router.sweeper import SweepReport, log_report, sweep
from shared.messaging import SWEEP
from shared.observability import (
    CELERY_TASK_LOGGERS,
    ROUTINE_TASKS,
    RoutineTaskFilter,
    quiet_routine_tasks,
)
from tests.support.world import Clock, World

RECEIVED = "Task %(name)s[%(id)s] received"          # celery.worker.strategy
SUCCEEDED = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s"  # app.trace
SENDING = "Scheduler: Sending due task %s (%s)"      # celery.beat


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def quiet_logger() -> Iterator[tuple[logging.Logger, Collect]]:
    """A logger of our own (not propagating) with the filter, at INFO."""
    logger = logging.getLogger(f"test.quiet.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = Collect()
    logger.addHandler(handler)
    logger.addFilter(RoutineTaskFilter(logger, ROUTINE_TASKS))
    yield logger, handler
    logger.removeHandler(handler)


def test_the_routine_tasks_are_the_sweep() -> None:
    assert ROUTINE_TASKS == {SWEEP}


def test_celerys_lines_about_the_sweep_are_dropped_at_info(quiet_logger) -> None:
    logger, out = quiet_logger
    sweep_task = {"id": "t1", "name": SWEEP, "runtime": 0.01, "return_value": "{}"}

    logger.info(RECEIVED, sweep_task)
    logger.info(SUCCEEDED, sweep_task)
    logger.info(SENDING, "sweep", SWEEP)

    assert out.records == []


def test_at_debug_they_are_kept_as_debug_lines(quiet_logger) -> None:
    logger, out = quiet_logger
    logger.setLevel(logging.DEBUG)

    logger.info(RECEIVED, {"id": "t1", "name": SWEEP})
    logger.info(SENDING, "sweep", SWEEP)

    assert [(r.levelname, r.getMessage()) for r in out.records] == [
        ("DEBUG", f"Task {SWEEP}[t1] received"),
        ("DEBUG", f"Scheduler: Sending due task sweep ({SWEEP})")]


def test_other_tasks_and_warnings_about_the_sweep_stay(quiet_logger) -> None:
    logger, out = quiet_logger

    logger.info(RECEIVED, {"id": "t2", "name": "router.assign_case"})
    logger.warning("Task %(name)s[%(id)s] failed", {"id": "t3", "name": SWEEP})
    logger.info("plain line")

    assert [r.levelname for r in out.records] == ["INFO", "WARNING", "INFO"]


def test_the_filter_is_installed_once_on_celerys_task_loggers() -> None:
    quiet_routine_tasks()
    quiet_routine_tasks()

    for name in CELERY_TASK_LOGGERS:
        installed = [f for f in logging.getLogger(name).filters
                     if isinstance(f, RoutineTaskFilter)]
        assert len(installed) == 1, name


# -- the sweeper's own line -----------------------------------------------------------------

def sweep_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "services.router.sweeper"]


def test_a_sweep_with_nothing_due_logs_only_at_debug(captured_logs, fake_store) -> None:
    world = World(fake_store, clock=Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC).timestamp()))
    world.officer("idle", "watford")

    sweep(world.deps)

    assert [(r.levelname, r.getMessage()) for r in sweep_lines(captured_logs)] == [
        ("DEBUG", "sweep: nothing due")]


def test_a_sweep_that_expired_an_offer_logs_one_info_line_with_counts(
        captured_logs, fake_store) -> None:
    world = World(fake_store, clock=Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC).timestamp()))
    world.officer("slow", "watford")
    result = world.new_routed_case()
    world.clock.advance(world.settings.offer_timeout(3) + 1)
    captured_logs.clear()

    sweep(world.deps)

    [line] = [r for r in sweep_lines(captured_logs) if r.levelno >= logging.INFO]
    assert line.getMessage().startswith("sweep: expired 1, ")  # (and the alerts now due)
    assert line.expired == 1  # type: ignore[attr-defined]
    assert result.case_id and result.case_id not in line.getMessage()


def test_the_counts_name_every_kind_of_work() -> None:
    report = SweepReport(expired=["c1"], republished_cases=["c2", "c3"], alerts=["x:c4"])

    assert report.counts() == {"expired": 1, "shift_changes": 0, "rings_opened": 0,
                               "republished_cases": 2, "republished_notifications": 0,
                               "alerts": 1}


def test_log_report_lists_only_what_was_done(captured_logs) -> None:
    log_report(SweepReport(shift_changes=["a", "b"], republished_notifications=["n"]))

    [line] = sweep_lines(captured_logs)
    assert (line.levelname, line.getMessage()) == (
        "INFO", "sweep: shift_changes 2, republished_notifications 1")
