"""`make run`: embedded Redis (unless LIAISON_REDIS_URL names one), demo data, every service.

The services are the Procfile's lines, supervised by `ops.devsupervisor`: one that dies
is restarted (with back-off) while the rest keep running. Ctrl-C (or SIGTERM) stops the
services, then Redis (which flushes its AOF); a second run reuses the data under var/.
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
from shared.config import ConfigError, Settings, child_environment


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
    except KeyboardInterrupt:
        print("liaison: interrupted while starting", file=sys.stderr)
        return 130


def _run(settings: Settings, env: dict[str, str]) -> int:
    embedded: EmbeddedRedis | None = None
    if not env.get("LIAISON_REDIS_URL"):
        embedded = EmbeddedRedis(settings.var_dir / "redis", port=settings.dev_redis_port)
        try:
            embedded.start()
        except RuntimeError as exc:
            print(f"liaison: could not start the embedded Redis: {exc}", file=sys.stderr)
            return 1
        env["LIAISON_REDIS_URL"] = embedded.url
    redis_url = env["LIAISON_REDIS_URL"]
    try:
        stack = Settings.from_env(env)  # the settings the services will run with
        summary = seed_demo(make_store(stack), stack)
        _banner(settings, redis_url, embedded is not None, summary)
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


def _mail_sink_port(settings: Settings) -> int:
    """The sink listens where the notifier sends: LIAISON_SMTP_URL's port when it is local."""
    url = urlparse(settings.smtp_url)
    local = url.hostname in ("127.0.0.1", "localhost", "::1", settings.host)
    return url.port if local and url.port else 8025


def _banner(settings: Settings, redis_url: str, embedded: bool, summary: str) -> None:
    where = "embedded, AOF on, data in " + str(settings.var_dir / "redis") if embedded \
        else "external"
    print(f"""
  Liaison is starting (a service that dies is restarted; Ctrl-C stops everything).

    Public intake   http://{settings.host}:{settings.intake_port}/
    Partner API     http://{settings.host}:{settings.intake_port}/api/v1/docs
    Staff console   http://{settings.host}:{settings.console_port}/
    Redis           {redis_url}  ({where})
    Demo data       {summary}
""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
