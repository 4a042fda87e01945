"""`make run`: embedded Redis (unless LIAISON_REDIS_URL or LIAISON_REDIS_SENTINELS names
one), demo data, every service. With LIAISON_DURABILITY=fsync the embedded Redis runs with
`appendfsync always`.

The services are the Procfile's lines, supervised by `ops.devsupervisor`: one that dies
is restarted (with back-off) while the rest keep running. Ctrl-C (or SIGTERM) stops the
services, then Redis (which flushes its AOF), and the launcher exits 0 (so `make run` ends
without an error line); a second run reuses the data under var/.

The embedded Redis's URL is recorded in var/redis/url (mode 0600): in development, with
LIAISON_REDIS_URL unset, `Settings` default to it, so `liaison ...` in another terminal finds
the running stack (shared/config.py).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse

from ops.devredis import EmbeddedRedis
from ops.devsupervisor import Supervisor, load_procfile
from ops.seed import seed_demo
from shared.bootstrap import make_store
from shared.config import DEV_REDIS_URL_FILE, ConfigError, Settings, child_environment
from shared.store import Store


def main() -> int:
    """Start everything in the foreground; return the exit status."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 2
    env = child_environment()
    env.setdefault("LIAISON_VAR_DIR", str(settings.var_dir))
    for signum in (signal.SIGTERM, signal.SIGHUP):  # until the supervisor takes over
        signal.signal(signum, signal.default_int_handler)
    try:
        return _run(settings, env)
    except KeyboardInterrupt:  # Ctrl-C before the supervisor took over: stopped all the same
        print("liaison: interrupted while starting; stopped", file=sys.stderr)
        return 0


def _run(settings: Settings, env: dict[str, str]) -> int:
    embedded: EmbeddedRedis | None = None
    if not env.get("LIAISON_REDIS_URL") and not settings.sentinel:
        embedded = EmbeddedRedis(
            settings.var_dir / "redis", port=settings.dev_redis_port,
            appendfsync="always" if settings.durability == "fsync" else "everysec")
        try:
            embedded.start()
        except RuntimeError as exc:
            print(f"liaison: could not start the embedded Redis: {exc}", file=sys.stderr)
            return 1
        env["LIAISON_REDIS_URL"] = embedded.url
    record_redis_url(settings.var_dir, embedded.url if embedded is not None else None)
    redis_url = env.get("LIAISON_REDIS_URL") or settings.redis_url
    if settings.sentinel:
        redis_url = (f"master {settings.redis_master!r} via Sentinels "
                     + ", ".join(settings.redis_sentinels))
    try:
        stack = Settings.from_env(env)  # the settings the services will run with
        store = make_store(stack)
        summary = seed_demo(store, stack)
        _banner(settings, redis_url, embedded is not None, summary, _logins_hint(store, summary))
        return _run_services(env, settings)
    finally:
        if embedded is not None:
            embedded.stop()
            print("liaison: embedded Redis stopped (data kept in "
                  f"{settings.var_dir / 'redis'})", flush=True)


def _run_services(env: dict[str, str], settings: Settings) -> int:
    env.setdefault("LIAISON_HOST", settings.host)
    env.setdefault("LIAISON_INTAKE_PORT", str(settings.intake_port))
    env.setdefault("LIAISON_CONSOLE_PORT", str(settings.console_port))
    env.setdefault("LIAISON_DEVMAIL_PORT", str(_mail_sink_port(settings)))
    env.setdefault("PYTHONUNBUFFERED", "1")  # lines appear as they are written
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    procfile = Path(__file__).resolve().parent.parent / "Procfile"
    return Supervisor(load_procfile(procfile), env=env, cwd=procfile.parent).run()


def record_redis_url(var_dir: Path, url: str | None) -> None:
    """Write the embedded Redis's URL where development settings look for it (mode 0600,
    replaced atomically); with an external Redis (None), remove any stale one."""
    path = var_dir / DEV_REDIS_URL_FILE
    if url is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(url + "\n")
    os.replace(partial, path)


def cli_path() -> str:
    """How to run the `liaison` command: .venv/bin/liaison from the project directory."""
    script = Path(sys.executable).parent / "liaison"
    if not script.exists():
        return "liaison"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _logins_hint(store: Store, summary: str) -> str:
    """The banner's console-login line when seeding printed no passwords (every run after
    the first): who has a login and how to give them a new password."""
    if "Console logins" in summary:
        return ""
    names = ", ".join(a.username for a in store.accounts.all()) or "none yet"
    return (f"    Console logins  {names} (passwords are shown on the first run only;\n"
            f"                    a new one: {cli_path()} accounts reset-password NAME)\n")


def _mail_sink_port(settings: Settings) -> int:
    """The sink listens where the notifier sends: LIAISON_SMTP_URL's port when it is local."""
    url = urlparse(settings.smtp_url)
    local = url.hostname in ("127.0.0.1", "localhost", "::1", settings.host)
    return url.port if local and url.port else 8025


def _banner(settings: Settings, redis_url: str, embedded: bool, summary: str,
            logins: str = "") -> None:
    where = "embedded, AOF on, data in " + str(settings.var_dir / "redis") if embedded \
        else "external"
    print(f"""
  Liaison is starting (a service that dies is restarted; Ctrl-C stops everything).

    Public intake   http://{settings.host}:{settings.intake_port}/
    Partner API     http://{settings.host}:{settings.intake_port}/api/v1/docs
    Staff console   http://{settings.host}:{settings.console_port}/
    Redis           {redis_url}  ({where})
    Demo data       {summary}
{logins}""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
