"""`make run`'s process supervisor: every Procfile service, restarted when it dies.

One crashed service no longer stops the stack (as `honcho start` does): its exit is
printed, it is started again after a back-off (1 s, 2 s, 4 s ... at most 30 s; the count
starts again once a run has stayed up for a minute) and the rest keep running:

    12:00:01 liaison  | router exited (signal 9); restarting in 1 s (restart 1)

SIGINT (Ctrl-C), SIGTERM and SIGHUP stop everything: SIGTERM to each service's main process
(gunicorn and Celery stop their own workers gracefully), then, once the main process has
exited or the grace period is over, the service's whole process group. A second Ctrl-C
kills at once. Each service runs in its own session, so a terminal's Ctrl-C reaches only
us and the order stays ours; PR_SET_PDEATHSIG stops a service if we are killed outright.

Honcho still reads the Procfile and prints the prefixed, coloured lines; the loop is ours.
"""

from __future__ import annotations

import datetime
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from honcho.colour import get_colours
from honcho.environ import parse_procfile
from honcho.printer import Message, Printer

from ops.devredis import die_with_parent
from shared.config import child_environment

NAME = "liaison"  # the prefix of the supervisor's own lines
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def load_procfile(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The (name, command) pairs of a Procfile, in file order (honcho's parser)."""
    return list(parse_procfile(Path(path).read_text()).processes.items())


@dataclass(frozen=True)
class Backoff:
    """Delay before each restart: `first` doubling up to `cap`; reset after a stable run."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    stable_after: float = 60.0

    def delay(self, restart: int) -> float:
        """Seconds to wait before restart number `restart` (1, 2, ...) in a row."""
        return min(self.cap, self.first * self.factor ** max(0, restart - 1))

    def after_exit(self, restarts: int, uptime: float) -> tuple[int, float]:
        """(restart number, delay) for a service that ran `uptime` s after `restarts` in a row."""
        number = 1 if uptime >= self.stable_after else restarts + 1
        return number, self.delay(number)


def describe_exit(returncode: int) -> str:
    """'signal 9' or 'code 1', as a person reads a process's end."""
    return f"signal {-returncode}" if returncode < 0 else f"code {returncode}"


def _seconds(value: float) -> str:
    return f"{value:g}"


def live_groups() -> set[int] | None:
    """Process groups that have a live (not zombie) member, from /proc; None without /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    groups: set[int] = set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # state ppid pgrp ...
        if len(fields) > 2 and fields[0] not in (b"Z", b"X"):
            groups.add(int(fields[2]))
    return groups


def group_alive(pgid: int, groups: set[int] | None = None) -> bool:
    """Whether any live process is left in the process group `pgid`."""
    if groups is None:
        groups = live_groups()
    if groups is not None:
        return pgid in groups
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, signum: int) -> None:
    """Send `signum` to every process in the group, if any is left."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Service:
    """One Procfile line and the state of its current run."""

    name: str
    command: str
    colour: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    pgid: int | None = None            # group of the current (or last) run
    started_at: float = 0.0
    restarts: int = 0                  # restarts in a row, reset after a stable run
    restart_at: float | None = None    # when the pending restart is due (monotonic)


class Supervisor:
    """Run services until SIGINT/SIGTERM/SIGHUP, restarting any that exits; `run()` blocks."""

    def __init__(self, services: Iterable[tuple[str, str]], *,
                 env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
                 backoff: Backoff = Backoff(), grace: float = 15.0,
                 output: TextIO | None = None, tick: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        colours = get_colours()
        self.services = [Service(name, command, next(colours)) for name, command in services]
        if not self.services:
            raise ValueError("no services to run")
        self.env = dict(child_environment() if env is None else env)
        self.cwd = cwd
        self.backoff = backoff
        self.grace = grace
        self.tick = tick
        self.clock = clock
        width = max(len(NAME), *(len(s.name) for s in self.services))
        self._printer = Printer(sys.stdout if output is None else output, width=width)
        self._lines: queue.Queue[tuple[Service, bytes]] = queue.Queue()
        self._stop_signal: int | None = None
        self._signals = 0

    def run(self) -> int:
        """Start every service and supervise until asked to stop; 0 if all stopped in time."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            for service in self.services:
                self._start(service)
            while self._stop_signal is None:
                self._pump(self.tick)
                self._check()
            return self._shutdown(self._stop_signal)
        finally:
            self._kill_left_over()  # only after an error: a normal stop leaves nothing
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop as on `signum`; a second request kills at once (safe from a signal handler)."""
        self._signals += 1
        if self._stop_signal is None:
            self._stop_signal = signum

    # -- running ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.request_stop(signum)

    def _start(self, service: Service) -> None:
        now = self.clock()
        service.restart_at = None
        try:
            proc = subprocess.Popen(
                service.command, shell=True, env=self.env, cwd=self.cwd,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent)
        except OSError as exc:
            service.started_at = now
            self._schedule_restart(service, now, f"could not start: {exc}")
            return
        service.proc, service.pgid, service.started_at = proc, proc.pid, now
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(service, proc.stdout), daemon=True,
                         name=f"read-{service.name}").start()
        again = f", restart {service.restarts}" if service.restarts else ""
        self._say(f"{service.name} started (pid {proc.pid}{again})")

    def _read(self, service: Service, stream: IO[bytes]) -> None:
        with stream:
            for line in iter(stream.readline, b""):
                self._lines.put((service, line))

    def _pump(self, timeout: float) -> None:
        """Print the services' lines: wait up to `timeout` for one, then all that are ready."""
        try:
            item = self._lines.get(timeout=timeout) if timeout > 0 else self._lines.get_nowait()
        except queue.Empty:
            return
        while True:
            service, line = item
            self._write(service.name, line, service.colour)
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return

    def _reaped(self, service: Service) -> int | None:
        """The exit status if the service's main process has ended (its leftovers get SIGTERM)."""
        if service.proc is None:
            return None
        returncode = service.proc.poll()
        if returncode is not None:
            service.proc = None
            if service.pgid is not None:  # e.g. a crashed Celery worker's pool
                signal_group(service.pgid, signal.SIGTERM)
        return returncode

    def _check(self) -> None:
        now = self.clock()
        waiting = [s for s in self.services if s.proc is None and s.pgid is not None]
        groups = live_groups() if waiting else None
        for service in self.services:
            returncode = self._reaped(service)
            if returncode is not None:
                self._schedule_restart(service, now, describe_exit(returncode))
            elif service.proc is None and service.pgid is not None \
                    and not group_alive(service.pgid, groups):
                service.pgid = None  # the old run is all gone: never signal that number again
            if service.proc is None and service.restart_at is not None \
                    and now >= service.restart_at:
                if service.pgid is not None:
                    # leftovers (e.g. gunicorn workers holding the port): kill, retry shortly
                    signal_group(service.pgid, signal.SIGKILL)
                    service.restart_at = now + 0.2
                else:
                    self._start(service)

    def _schedule_restart(self, service: Service, now: float, why: str) -> None:
        service.restarts, delay = self.backoff.after_exit(service.restarts,
                                                          now - service.started_at)
        service.restart_at = now + delay
        self._say(f"{service.name} exited ({why}); restarting in {_seconds(delay)} s "
                  f"(restart {service.restarts})")

    # -- stopping --------------------------------------------------------------------------

    def _shutdown(self, signum: int) -> int:
        """SIGTERM each main process, wait for them and their groups; kill what outstays."""
        names = ", ".join(s.name for s in self.services)
        self._say(f"{signal.Signals(signum).name} received: stopping {names} "
                  "(Ctrl-C again kills them at once)")
        for service in self.services:
            service.restart_at = None
            if service.proc is not None and service.proc.poll() is None:
                # the main process only: gunicorn and Celery stop their workers gracefully
                service.proc.send_signal(signal.SIGTERM)
        deadline = self.clock() + self.grace
        forced = False
        while True:
            self._pump(self.tick)
            for service in self.services:
                returncode = self._reaped(service)
                if returncode is not None:
                    self._say(f"{service.name} stopped ({describe_exit(returncode)})")
            groups = live_groups()
            for service in self.services:
                if service.proc is None and service.pgid is not None \
                        and not group_alive(service.pgid, groups):
                    service.pgid = None
            left = [s for s in self.services if s.proc is not None or s.pgid is not None]
            if not left:
                break
            now = self.clock()
            if not forced and (now >= deadline or self._signals > 1):
                forced = True
                why = "Ctrl-C again" if self._signals > 1 else \
                    f"still running after {_seconds(self.grace)} s"
                self._say(f"killing {', '.join(s.name for s in left)} ({why})")
                self._kill_left_over()
            elif forced and now >= deadline + 10:
                self._say(f"giving up on {', '.join(s.name for s in left)}")
                break
        self._pump(0)
        self._say("all services stopped" + (" (some were killed)" if forced else ""))
        return 1 if forced else 0

    def _kill_left_over(self) -> None:
        for service in self.services:
            if service.pgid is not None:
                signal_group(service.pgid, signal.SIGKILL)

    # -- output ----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self._write(NAME, text, None)

    def _write(self, name: str, data: str | bytes, colour: str | None) -> None:
        message = Message(type="line", data=data, time=datetime.datetime.now(), name=name,
                          colour=colour)
        try:
            self._printer.write(message)
        except (BrokenPipeError, ValueError):  # our output is gone; keep supervising
            pass
