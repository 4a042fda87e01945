"""Structured, personal-data-free logging shared by every service.

Log lines carry ids (request id, case id) and outcomes, never form contents. Values are
passed with `extra=` and rendered as JSON (or text in development and tests).

Routine work stays out of INFO: Celery's own per-task lines for the sweep (beat's "Sending
due task", the worker's "received" and "succeeded") are demoted to DEBUG; the sweeper logs
at INFO only when it did something.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping

from pythonjsonlogger.json import JsonFormatter

from shared.config import Settings

_CONFIGURED: set[str] = set()

# Tasks that run every few seconds whatever happens (shared.messaging.SWEEP; a test checks).
ROUTINE_TASKS = frozenset({"router.sweep"})
# Where Celery logs a task being sent by beat, received by a worker and finished.
CELERY_TASK_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class RoutineTaskFilter(logging.Filter):
    """Demotes Celery's INFO lines about routine tasks to DEBUG (kept only at DEBUG level).

    Celery passes the task's name as a format argument: `{"name": ...}` for the worker's
    "Task %(name)s[%(id)s] received" and "... succeeded in ...", and `(entry, task name)`
    for beat's "Scheduler: Sending due task %s (%s)". Warnings and errors are untouched.
    """

    def __init__(self, logger: logging.Logger, tasks: Iterable[str]) -> None:
        super().__init__()
        self.logger = logger
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self._routine(record.args):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return self.logger.isEnabledFor(logging.DEBUG)

    def _routine(self, args: object) -> bool:
        if isinstance(args, Mapping):
            return args.get("name") in self.tasks
        if isinstance(args, tuple):
            return any(isinstance(a, str) and a in self.tasks for a in args)
        return False


def quiet_routine_tasks(tasks: Iterable[str] = ROUTINE_TASKS) -> None:
    """Install `RoutineTaskFilter` on Celery's task loggers (once per logger)."""
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, RoutineTaskFilter)]
        logger.addFilter(RoutineTaskFilter(logger, tasks))


def configure_logging(settings: Settings, service: str) -> None:
    """Root logger to stderr as JSON (or text), once per process and service."""
    if service in _CONFIGURED:
        return
    _CONFIGURED.add(service)
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        ))
    else:
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_liaison", False)] + [handler]
    handler._liaison = True  # type: ignore[attr-defined]
    root.setLevel(settings.log_level.upper())
    # Werkzeug's request log repeats query strings; ours (without them) replaces it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    quiet_routine_tasks()  # Celery workers and beat: no INFO line per sweep
