"""`make run`: embedded Redis (unless LIAISON_REDIS_URL names one), demo data, every service.

Ctrl-C stops honcho's processes, then Redis (which flushes its AOF); a second run reuses
the data under var/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.config import ConfigError, Settings, child_environment
from shared.devredis import EmbeddedRedis
from shared.seed import seed_demo
from shared.store import Store, redis_client


def main() -> int:
    """Start everything in the foreground; return the exit status."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 2
    env = child_environment()
    env.setdefault("LIAISON_VAR_DIR", str(settings.var_dir))
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
        store = Store(redis_client(redis_url), prefix=settings.key_prefix)
        summary = seed_demo(store, Settings.from_env(env))
        _banner(settings, redis_url, embedded is not None, summary)
        return _run_honcho(env, settings)
    finally:
        if embedded is not None:
            embedded.stop()
            print("liaison: embedded Redis stopped (data kept in "
                  f"{settings.var_dir / 'redis'})", flush=True)


def _run_honcho(env: dict[str, str], settings: Settings) -> int:
    env.setdefault("LIAISON_HOST", settings.host)
    env.setdefault("LIAISON_INTAKE_PORT", str(settings.intake_port))
    env.setdefault("LIAISON_CONSOLE_PORT", str(settings.console_port))
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    procfile = Path(__file__).resolve().parent.parent / "Procfile"
    honcho = subprocess.Popen([str(bin_dir / "honcho"), "start", "-f", str(procfile),
                               "-d", str(procfile.parent)], env=env)

    def forward(signum: int, _frame: object) -> None:
        if honcho.poll() is None:
            honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return honcho.wait()


def _banner(settings: Settings, redis_url: str, embedded: bool, summary: str) -> None:
    where = "embedded, AOF on, data in " + str(settings.var_dir / "redis") if embedded \
        else "external"
    print(f"""
  Liaison is starting (Ctrl-C stops everything).

    Public intake   http://{settings.host}:{settings.intake_port}/
    Partner API     http://{settings.host}:{settings.intake_port}/api/v1/docs
    Staff console   http://{settings.host}:{settings.console_port}/
    Redis           {redis_url}  ({where})
    Demo data       {summary}
""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
