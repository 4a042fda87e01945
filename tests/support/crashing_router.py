"""The router worker with crash points, for the fault tests (never used outside tests).

`LIAISON_TEST_CRASH_POINT` is before_script, after_script or before_ack; the pool process
SIGKILLs itself there once (the marker file `LIAISON_TEST_CRASH_MARKER` records that it did).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from celery.signals import task_postrun

import services.router.tasks  # noqa: F401  (registers the tasks)
from services.router.celery_app import celery_app
from shared.store.routing import RoutingRepository

POINT = os.environ.get("LIAISON_TEST_CRASH_POINT", "")
MARKER = os.environ.get("LIAISON_TEST_CRASH_MARKER", "")


def _crash(point: str) -> None:
    if POINT == point and MARKER and not os.path.exists(MARKER):
        with open(MARKER, "w") as fh:
            fh.write(point)
        os.kill(os.getpid(), signal.SIGKILL)


_assign = RoutingRepository.assign


def _crashing_assign(self: RoutingRepository, *args: Any, **kwargs: Any) -> Any:
    _crash("before_script")
    result = _assign(self, *args, **kwargs)
    _crash("after_script")
    return result


RoutingRepository.assign = _crashing_assign  # type: ignore[method-assign]


@task_postrun.connect
def _before_ack(**_: Any) -> None:
    _crash("before_ack")


__all__ = ["celery_app"]
