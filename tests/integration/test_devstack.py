"""`make run` keeps going when a service crashes, and Ctrl-C still stops all of it.

The supervisor is tried first on tiny shell services (restart, back-off, leftovers, a
service that ignores SIGTERM), then the real launcher (`python -m ops.devstack`) on free
ports: SIGKILL the router's main process, see it come back and route a new report while
intake, console and Redis keep answering, then Ctrl-C and find nothing left running.
Last, `liaison` in "another terminal" (no LIAISON_* variables) finds the running stack, and
`make run` itself, run a second time and stopped with Ctrl-C, shows no logins but says how
to get one, and ends with no `make: ***` line.
"""

from __future__ import annotations

import io
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests

from ops.devredis import free_port
from ops.devsupervisor import Backoff, Supervisor
from shared.passwords import verify_password
from shared.store import Store, redis_client
from tests import payloads
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

FAST = Backoff(first=0.1, factor=2, cap=0.4, stable_after=60)


# -- /proc: which processes exist, and whose children they are ------------------------------

def proc_stat(pid: int) -> tuple[int, int, str, int] | None:
    """(ppid, pgid, state, start time) of a process, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()
    return int(fields[1]), int(fields[2]), fields[0].decode(), int(fields[19])


def alive(pid: int, started: int | None = None) -> bool:
    """The process exists and is not a zombie (and, if given, is the one started then)."""
    stat = proc_stat(pid)
    return stat is not None and stat[2] not in ("Z", "X") \
        and (started is None or stat[3] == started)


def descendants(root: int) -> dict[int, tuple[int, int]]:
    """Every live process below `root`: pid -> (pgid, start time)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, int, str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))) is not None:
            stats[int(entry)] = stat
            children.setdefault(stat[0], []).append(int(entry))
    found: dict[int, tuple[int, int]] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if stats[pid][2] not in ("Z", "X"):
            found[pid] = (stats[pid][1], stats[pid][3])
        todo += children.get(pid, [])
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(condition: Callable[[], object], timeout: float, what: str,
             log: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{log()[-4000:]}")
        time.sleep(0.05)


# -- the supervisor on small shell services -------------------------------------------------

def supervise(services: list[tuple[str, str]], stop_when: Callable[[str], bool], *,
              backoff: Backoff = FAST, grace: float = 5.0, stop_twice: bool = False,
              timeout: float = 15.0) -> tuple[int, str]:
    """Run a Supervisor in this (main) thread until `stop_when(output)`; (status, output)."""
    output = io.StringIO()
    supervisor = Supervisor(services, backoff=backoff, grace=grace, output=output, tick=0.02)

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not stop_when(output.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.02)
        supervisor.request_stop(signal.SIGINT)
        if stop_twice:
            supervisor.request_stop(signal.SIGINT)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    status = supervisor.run()
    watcher.join()
    return status, output.getvalue()


def started_pids(output: str, name: str) -> list[int]:
    return [int(p) for p in re.findall(rf"\| {name} started \(pid (\d+)", output)]


def test_a_service_that_dies_is_restarted_with_back_off_while_the_others_run():
    status, out = supervise(
        [("flaky", "echo up; exit 3"), ("steady", "exec sleep 60")],
        stop_when=lambda out: out.count("flaky exited") >= 4)
    exits = re.findall(r"liaison \| flaky exited \(code 3\); restarting in ([\d.]+) s "
                       r"\(restart (\d+)\)", out)
    assert exits[:4] == [("0.1", "1"), ("0.2", "2"), ("0.4", "3"), ("0.4", "4")]
    assert len(re.findall(r"flaky +\| up", out)) >= 4  # its own lines, under its name
    assert len(started_pids(out, "steady")) == 1
    assert "steady exited" not in out
    assert "steady stopped (signal 15)" in out
    assert "SIGINT received: stopping flaky, steady" in out
    assert out.rstrip().endswith("all services stopped")
    assert status == 0
    assert not any(alive(pid) for pid in started_pids(out, "steady") + started_pids(out, "flaky"))


def test_the_restart_count_starts_again_after_a_run_that_stayed_up():
    status, out = supervise([("slow", "sleep 0.3; exit 1")],
                            backoff=Backoff(first=0.1, cap=5, stable_after=0.2),
                            stop_when=lambda out: out.count("slow exited") >= 3)
    assert re.findall(r"slow exited \(code 1\); restarting in (\S+) s \(restart (\d+)\)",
                      out)[:3] == [("0.1", "1")] * 3
    assert status == 0


def test_what_a_crashed_service_left_behind_is_stopped_before_it_restarts():
    pids: dict[str, int] = {}

    def crash_once(out: str) -> bool:
        main = started_pids(out, "leaky")
        child = re.search(r"leaky +\| child (\d+)", out)
        if "child" not in pids and main and child:
            pids["main"], pids["child"] = main[0], int(child.group(1))
            os.kill(pids["main"], signal.SIGKILL)  # its child lives on in its process group
        return len(started_pids(out, "leaky")) == 2

    status, out = supervise([("leaky", "sleep 60 & echo child $!; exec sleep 61")], crash_once)
    assert "leaky exited (signal 9); restarting in 0.1 s (restart 1)" in out
    assert "leaky started (pid" in out.split("leaky exited")[1]
    assert not alive(pids["child"])
    assert status == 0


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace_period():
    started = time.monotonic()
    status, out = supervise([("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done")],
                            stop_when=lambda out: "| ready" in out, grace=0.5)
    assert "killing stubborn (still running after 0.5 s)" in out
    assert "stubborn stopped (signal 9)" in out
    assert status == 1
    assert time.monotonic() - started < 5
    assert not any(alive(pid) for pid in started_pids(out, "stubborn"))


def test_a_second_ctrl_c_kills_at_once():
    status, out = supervise([("stubborn", "trap '' TERM; echo ready; exec sleep 60")],
                            stop_when=lambda out: "| ready" in out, grace=30,
                            stop_twice=True)
    assert "killing stubborn (Ctrl-C again)" in out
    assert status == 1


# -- the whole `make run` stack ------------------------------------------------------------

class Launcher:
    """`python -m ops.devstack` as a person runs it, on free ports and a temporary var/."""

    def __init__(self, tmp_path: Path, command: list[str] | None = None,
                 name: str = "make-run") -> None:
        self.ports = {name: free_port() for name in ("intake", "console", "redis", "mail")}
        self.var = tmp_path / "var"
        self.log_path = tmp_path / f"{name}.log"
        env = plain_environment()
        env.update({
            "LIAISON_VAR_DIR": str(self.var),
            "LIAISON_INTAKE_PORT": str(self.ports["intake"]),
            "LIAISON_CONSOLE_PORT": str(self.ports["console"]),
            "LIAISON_DEV_REDIS_PORT": str(self.ports["redis"]),
            "LIAISON_SMTP_URL": f"smtp://127.0.0.1:{self.ports['mail']}",
        })
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(command or [sys.executable, "-m", "ops.devstack"],
                                     cwd=ROOT,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # its own group, as at a terminal
        self.seen: dict[int, tuple[int, int]] = {}  # every process it started: pid -> pgid, start

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        return started_pids(self.log(), name)

    def healthy(self, name: str) -> bool:
        try:
            return requests.get(f"{self.url(name)}/healthz", timeout=5).ok
        except requests.RequestException:
            return False

    def note_processes(self) -> dict[int, tuple[int, int]]:
        found = descendants(self.proc.pid)
        self.seen.update(found)
        return found

    def close(self) -> None:
        """Whatever happened, leave nothing of ours running."""
        if self.proc.poll() is None:
            self.note_processes()
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid, (_, started) in self.seen.items():
            if alive(pid, started):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


def plain_environment() -> dict[str, str]:
    """This environment without LIAISON_* settings or an outer make's flags."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("LIAISON_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    stack = Launcher(tmp_path)
    try:
        yield stack
    finally:
        stack.close()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_make_run_restarts_a_killed_router_and_ctrl_c_stops_everything(launcher: Launcher):
    began = time.monotonic()
    wait_for(lambda: launcher.healthy("intake") and launcher.healthy("console"), 60,
             "intake and console /healthz", launcher.log)
    wait_for(lambda: re.search(r"router@\S+ ready", launcher.log()), 30, "the router",
             launcher.log)
    assert f"devmail: listening on 127.0.0.1:{launcher.ports['mail']}" in launcher.log()
    ready = time.monotonic() - began
    redis_url = f"redis://127.0.0.1:{launcher.ports['redis']}/0"
    client = redis.Redis.from_url(redis_url)
    redis_before = client.info("server")
    web_pids = {name: launcher.pids(name) for name in ("intake", "console")}
    [router] = launcher.pids("router")
    assert "services.router.celery_app" in cmdline(router)
    launcher.note_processes()
    old_pool = [pid for pid, (pgid, _) in launcher.seen.items() if pgid == router and pid != router]
    assert old_pool, "the router runs a prefork pool"

    # Meanwhile intake, console and Redis must answer every time they are asked.
    failures: list[str] = []
    watching = threading.Event()
    watching.set()

    def watch() -> None:
        while watching.is_set():
            for name in ("intake", "console"):
                if not launcher.healthy(name):
                    failures.append(f"{name} /healthz at {time.monotonic() - killed:.1f}s")
            try:
                client.ping()
            except redis.RedisError as exc:
                failures.append(f"redis: {exc}")
            time.sleep(0.2)

    os.kill(router, signal.SIGKILL)
    killed = time.monotonic()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        wait_for(lambda: len(launcher.pids("router")) == 2, 20, "a new router", launcher.log)
        restart_delay = time.monotonic() - killed
        assert re.search(r"liaison +\| router exited \(signal 9\); restarting in 1 s "
                         r"\(restart 1\)", launcher.log())
        new_router = launcher.pids("router")[1]
        assert new_router != router and "services.router.celery_app" in cmdline(new_router)
        assert not alive(router)
        wait_for(lambda: not any(alive(pid) for pid in old_pool), 5,
                 "the dead router's pool to be gone")

        # A report made now is routed: only the new router is there to do it.
        resp = requests.post(f"{launcher.url('intake')}/api/v1/reports",
                             json=payloads.report(), timeout=10)
        assert resp.status_code == 201, resp.text
        store = Store(redis_client(redis_url))
        case_id = store.cases.id_for_reference(resp.json()["reference"])
        assert case_id
        wait_for(lambda: (store.cases.get(case_id) or {}).get("state") in ("offered", "waiting"),
                 30, "the new report to be routed", launcher.log)
        routed = time.monotonic() - killed
        assert client.llen("route") == 0
    finally:
        watching.clear()
        watcher.join()
    assert failures == []
    assert {name: launcher.pids(name) for name in ("intake", "console")} == web_pids
    assert "intake exited" not in launcher.log() and "console exited" not in launcher.log()
    redis_after = client.info("server")
    assert redis_after["process_id"] == redis_before["process_id"]
    assert redis_after["run_id"] == redis_before["run_id"]
    client.close()

    # Ctrl-C at the terminal: SIGINT to the launcher's process group.
    processes = launcher.note_processes()
    redis_pid = redis_before["process_id"]
    assert redis_pid in processes and new_router in processes
    stopping = time.monotonic()
    os.killpg(launcher.proc.pid, signal.SIGINT)
    assert launcher.proc.wait(40) == 0, launcher.log()[-4000:]
    stopped = time.monotonic() - stopping
    left = [f"{pid} {cmdline(pid)}" for pid, (_, started) in launcher.seen.items()
            if alive(pid, started)]
    assert left == []
    out = launcher.log()
    assert "SIGINT received: stopping intake, console, mailsink, router, notifier, beat" in out
    assert not re.search(r"liaison +\| killing", out)
    assert out.index("all services stopped") < out.index("liaison: embedded Redis stopped")
    assert "Redis is now ready to exit" in (launcher.var / "redis" / "redis.log").read_text()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    print(f"\nstack ready in {ready:.1f}s; router back {restart_delay:.1f}s after SIGKILL; "
          f"report routed {routed:.1f}s after; stopped {stopped:.1f}s after SIGINT; "
          f"{len(launcher.seen)} processes")


# -- the CLI in another terminal, and `make run` itself ---------------------------------------

BIN = Path(sys.executable).parent
# `make run` with this interpreter's venv, not re-installing it (-o: the stamp counts as made)
MAKE_RUN = ["make", "-o", ".venv/.installed-run", "run", f"BIN={BIN}"]
NEW_PASSWORD = "Correct Horse 42 battery"
DEMO_PASSWORD = re.compile(r"\b[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}\b")


def wait_until_up(stack: Launcher) -> None:
    wait_for(lambda: stack.healthy("intake") and stack.healthy("console"), 60,
             "intake and console /healthz", stack.log)
    wait_for(lambda: re.search(r"router@\S+ ready", stack.log()), 30, "the router", stack.log)
    wait_for(lambda: "beat: Starting" in stack.log(), 30, "beat", stack.log)


def ctrl_c(stack: Launcher) -> int | None:
    """SIGINT to the foreground process group, as a terminal sends it; the exit status."""
    stack.note_processes()
    os.killpg(stack.proc.pid, signal.SIGINT)
    status = stack.proc.wait(40)
    left = [f"{pid} {cmdline(pid)}" for pid, (_, started) in stack.seen.items()
            if alive(pid, started)]
    assert left == []
    return status


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_the_cli_finds_the_running_stack_and_a_second_make_run_says_how_to_get_a_login(
        tmp_path: Path) -> None:
    first = Launcher(tmp_path, name="first-run")
    try:
        wait_for(lambda: "beat started" in first.log(), 60, "the services", first.log)
        assert "Console logins (shown only now" in first.log()
        redis_url = f"redis://127.0.0.1:{first.ports['redis']}/0"
        recorded = first.var / "redis" / "url"
        assert recorded.read_text().strip() == redis_url
        assert stat.S_IMODE(recorded.stat().st_mode) == 0o600

        # Another terminal, in the directory that holds var/, no LIAISON_* variables at all.
        cli = subprocess.run([str(BIN / "liaison"), "accounts", "reset-password", "jordan",
                              "--password-stdin"], cwd=tmp_path, env=plain_environment(),
                             input=NEW_PASSWORD + "\n", capture_output=True, text=True,
                             timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert "new password set for jordan" in cli.stdout
        account = Store(redis_client(redis_url)).accounts.by_username("jordan")
        assert account is not None and verify_password(account.password_hash, NEW_PASSWORD)[0]
        assert ctrl_c(first) == 0, first.log()[-4000:]
    finally:
        first.close()

    second = Launcher(tmp_path, command=MAKE_RUN, name="second-run")
    try:
        wait_until_up(second)
        banner = second.log()[:second.log().index(" started (pid")]
        assert "Demo data" in banner and "(existing)" in banner
        assert "shown only now" not in banner and not DEMO_PASSWORD.search(banner)
        assert re.search(r"Console logins  aisha, alex, jordan, sarah \(passwords are shown on "
                         r"the first run only;\n +a new one: \S*liaison accounts "
                         r"reset-password NAME\)", banner), banner
        assert (second.var / "redis" / "url").read_text().strip() == \
            f"redis://127.0.0.1:{second.ports['redis']}/0"

        status = ctrl_c(second)
        out = second.log()
        # make waits for the launcher, which stops cleanly and exits 0: make reports nothing
        # (it then ends by the SIGINT it was sent, as any interrupted make does).
        assert status in (0, -signal.SIGINT), out[-4000:]
        assert not re.search(r"^make(\[\d+\])?: \*\*\*", out, re.MULTILINE), out[-4000:]
        assert "all services stopped" in out and "liaison: embedded Redis stopped" in out
        assert not re.search(r"liaison +\| killing", out)
    finally:
        second.close()
