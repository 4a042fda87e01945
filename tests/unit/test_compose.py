"""Static checks of the container set-up: docker-compose.yml, Dockerfile and .dockerignore.

The right tool would be `docker compose config`, which interpolates the file, resolves its
anchors and validates it against the schema built into Compose. It is not available here:
this machine and CI have the docker client binary but no Compose plugin and no Docker
engine. So instead:

* docker-compose.yml is parsed with PyYAML (anchors and `<<` merge keys resolve as they do
  in Compose) and validated with `jsonschema` against the official Compose Specification
  JSON schema. The schema is a test fixture, tests/data/compose-spec.json, so no network is
  needed at test time; its "$comment" says where it came from (the copy vendored in the
  PyPI package check-jsonschema 0.39.0) and its licence (Apache-2.0). Its "format"
  keywords (e.g. Go-style "duration") are annotations only, as jsonschema's default is.
* Variable interpolation (`${VAR:?message}`) is checked on the raw text.
* The properties a reviewer cares about (Redis durability, one image, one beat, a consumer
  for every queue, secrets without defaults, health checks, read-only Flower, dev-only
  mailsink, non-root image, dependencies in their own layer) are asserted one by one.

tests/integration/test_compose_processes.py runs the file's commands and health checks as
local processes.

`test_docker_compose_config_accepts_the_file` runs the real `docker compose config` as
well, but only where a Compose v2 binary is installed (`docker compose` plugin or
`docker-compose`); elsewhere it is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from shared import messaging
from shared.config import FILE_VARIABLES, variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROCFILE = ROOT / "Procfile"
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"

APP_SERVICES = ("intake", "console", "router", "notifier", "beat", "flower")
WORKERS = {"router": "services.router.celery_app", "notifier": "services.notifier.celery_app"}
HTTP_SERVICES = {"intake": 8000, "console": 8001}
REQUIRED_SECRETS = ("LIAISON_SECRET_KEY", "LIAISON_SEALING_KEYS")
MIN_WORKER_GRACE_SECONDS = 60


@cache
def compose_text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@cache
def _compose() -> dict[str, Any]:
    data = yaml.safe_load(compose_text())
    assert isinstance(data, dict)
    return data


def compose() -> dict[str, Any]:
    """The parsed file; a deep copy so no test can change what another one sees."""
    return json.loads(json.dumps(_compose()))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = validator_for(schema())(schema())
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    )


def command(service: str) -> list[str]:
    cmd = services()[service].get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def option(argv: list[str], *names: str) -> str | None:
    """The value of `--name value` or `--name=value` (first of `names` found)."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def healthcheck_text(service: str) -> str:
    test = services()[service]["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def seconds(duration: str | int) -> float:
    """A Compose duration ('1m30s', '2m', '45s', '500ms') in seconds."""
    if isinstance(duration, int):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


# ---- the Compose specification ---------------------------------------------------------------


def test_schema_fixture_is_the_compose_specification() -> None:
    spec = schema()
    assert spec["title"] == "Compose Specification"
    assert "Apache" in spec["$comment"] and "check-jsonschema" in spec["$comment"]
    cls = validator_for(spec)
    assert cls is Draft202012Validator
    cls.check_schema(spec)


def test_compose_file_is_valid_compose() -> None:
    assert schema_errors(compose()) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "intake", "restart_policy"), "always"),  # not a Compose key
        (("services", "beat", "deploy", "replicas"), [1]),
        (("services", "redis", "healthcheck", "test"), 42),
        (("services", "flower", "read_only"), {"yes": True}),
        (("services", "intake", "depends_on", "redis", "condition"), "service_ready"),
        (("volumes", "redis data"), {}),
    ],
)
def test_the_schema_check_is_not_vacuous(path: tuple[str, ...], value: Any) -> None:
    broken = compose()
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(broken), f"schema accepted {'.'.join(path)} = {value!r}"


def _compose_binary() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        probe = subprocess.run(
            [standalone, "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0 and re.search(r"v2\.", probe.stdout):
            return [standalone]
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("no Compose v2 binary here (`docker compose config` is unavailable)")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LIAISON_", "FLOWER_"))
    }
    argv = [*binary, "-f", str(COMPOSE), "--project-directory", str(ROOT), "config"]
    missing = subprocess.run(argv + ["--quiet"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode != 0  # FLOWER_BASIC_AUTH is required (`:?`)
    assert "FLOWER_BASIC_AUTH" in missing.stderr, missing.stderr
    env |= {
        "LIAISON_SECRET_KEY": "x" * 40,
        "LIAISON_SEALING_KEYS": "a-fernet-key",
        "FLOWER_BASIC_AUTH": "ops:pw",
    }
    done = subprocess.run(argv + ["--format", "json"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    resolved = json.loads(done.stdout)
    assert resolved["services"]["beat"]["deploy"]["replicas"] == 1
    assert "mailsink" not in resolved["services"]  # profile `dev` not enabled


# ---- Redis -----------------------------------------------------------------------------------


def test_redis_is_durable_and_never_evicts() -> None:
    redis = services()["redis"]
    assert redis["image"] == "redis:7-alpine"
    argv = command("redis")
    assert argv[0] == "redis-server"
    assert option(argv, "--appendonly") == "yes"
    assert option(argv, "--appendfsync") == "everysec"
    assert option(argv, "--maxmemory-policy") == "noeviction"


def test_redis_keeps_its_data_in_a_named_volume() -> None:
    mounts = services()["redis"]["volumes"]
    named = [m.split(":")[0] for m in mounts if isinstance(m, str) and m.endswith(":/data")]
    assert len(named) == 1 and not named[0].startswith((".", "/"))
    assert named[0] in compose()["volumes"]


def test_redis_is_not_published() -> None:
    assert "ports" not in services()["redis"]


# ---- one image, one hardened block -----------------------------------------------------------


def test_every_service_is_accounted_for() -> None:
    assert set(services()) == {*APP_SERVICES, "redis", "mailsink"}


def test_every_app_service_runs_the_same_image_and_build() -> None:
    template = compose()["x-liaison-app"]
    assert template["build"]["context"] == "."
    images = {services()[name]["image"] for name in APP_SERVICES}
    builds = {json.dumps(services()[name]["build"], sort_keys=True) for name in APP_SERVICES}
    assert images == {template["image"]}
    assert builds == {json.dumps(template["build"], sort_keys=True)}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_is_hardened(name: str) -> None:
    service = services()[name]
    user = str(service["user"]).split(":")
    assert user[0] not in ("0", "root") and all(part.isdigit() for part in user)
    assert service["read_only"] is True
    assert any(str(t).split(":")[0] == "/tmp" for t in service["tmpfs"])
    assert service["restart"] == "unless-stopped"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "ALL" in service["cap_drop"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert "profiles" not in service  # starts with a plain `docker compose up`


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment(name: str) -> None:
    env = services()[name]["environment"]
    assert env["LIAISON_ENV"] == "production"
    assert env["LIAISON_REDIS_URL"] == "redis://redis:6379/0"
    assert env["LIAISON_SMTP_URL"] == "${LIAISON_SMTP_URL:-smtp://mailsink:1025}"
    # Each secret and its _FILE variant pass through from the host, with no default.
    for secret in FILE_VARIABLES:
        for var in (secret, f"{secret}_FILE"):
            assert env[var] == "${" + var + ":-}", (name, var)


def test_every_variable_the_app_services_get_is_a_setting() -> None:
    known = {*variables(), *(f"{var}_FILE" for var in FILE_VARIABLES)}
    for name in APP_SERVICES:
        env = services()[name]["environment"]
        unknown = [v for v in env if v.startswith("LIAISON_") and v not in known]
        assert not unknown, (name, unknown)


def test_app_user_matches_the_dockerfile_user() -> None:
    uid = re.search(r"useradd\b[^\n]*?--uid (\d+)", dockerfile_text().replace("\\\n", " "))
    assert uid is not None
    for name in APP_SERVICES:
        assert str(services()[name]["user"]).split(":")[0] == uid.group(1)


# ---- secrets ---------------------------------------------------------------------------------


def test_secrets_have_no_defaults() -> None:
    # LIAISON_* secrets may come as a variable or as a file (_FILE), so compose cannot
    # require either one: empty is "unset", and the services refuse to start in production
    # without them (tests/unit/test_config.py). Flower reads its own variable: required.
    text = compose_text()
    for secret in (*FILE_VARIABLES, *(f"{v}_FILE" for v in FILE_VARIABLES)):
        uses = re.findall(r"\$\{" + secret + r"\b([^}]*)\}", text)
        assert uses == [":-"], f"{secret}: {uses}"
    uses = re.findall(r"\$\{FLOWER_BASIC_AUTH([^}]*)\}", text)
    assert uses and all(use.startswith(":?") for use in uses), uses
    for secret in (*FILE_VARIABLES, "FLOWER_BASIC_AUTH"):
        bare = re.findall(r"(?<![{\w])\$" + secret + r"\b", text)
        assert not bare, f"{secret} is interpolated bare"


def test_no_secret_value_is_written_down() -> None:
    text = compose_text()
    for key in (*FILE_VARIABLES, "FLOWER_BASIC_AUTH"):
        for value in re.findall(r"^\s*-?\s*" + key + r"\s*[:=]\s*(.+)$", text, re.MULTILINE):
            assert value.strip().startswith("${" + key + ":"), (key, value)


def test_the_secrets_as_files_example_is_a_valid_override_for_every_app_service() -> None:
    commented = compose_text().split("Secrets as files", 1)[1]
    example = yaml.safe_load("\n".join(
        line[2:] for line in commented.splitlines() if line.startswith("#   ")))
    assert schema_errors(example) == []
    assert set(example["services"]) == set(APP_SERVICES)
    mounted = {name: f"/run/secrets/{name}" for name in example["secrets"]}
    for name, service in example["services"].items():
        env = service["environment"]
        assert {f"{secret}_FILE" for secret in REQUIRED_SECRETS} == set(env), name
        assert set(env.values()) == {mounted[s] for s in service["secrets"]}, name
    assert all(str(s["file"]).startswith("./secrets/") for s in example["secrets"].values())
    assert "secrets" in dockerignore_patterns()  # local secret files stay out of the image


# ---- processes -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "port"), sorted(HTTP_SERVICES.items()))
def test_web_services_run_gunicorn_and_check_readyz(name: str, port: int) -> None:
    wrapper = command(name)
    # sh -c "… prepare the metrics directory … && PROMETHEUS_MULTIPROC_DIR=… exec gunicorn …"
    assert wrapper[:2] == ["sh", "-c"]
    assert "rm -rf /tmp/prom && mkdir -p /tmp/prom" in wrapper[2]
    argv = shlex.split(wrapper[2].split(" exec ", 1)[1])
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prom" in wrapper[2].split(" exec ", 1)[0]
    assert argv[0] == "gunicorn"
    assert option(argv, "--bind", "-b") == f"0.0.0.0:{port}"
    assert argv[-1] == f"services.{name}.app:create_app()"
    check = healthcheck_text(name)
    assert "urllib" in check and f"127.0.0.1:{port}/readyz" in check
    assert any(str(p).endswith(f":{port}:{port}") for p in services()[name]["ports"])


def queues(argv: list[str]) -> set[str]:
    return set((option(argv, "-Q", "--queues") or "").split(",")) - {""}


def procfile_commands() -> dict[str, list[str]]:
    commands = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, cmd = line.partition(":")
            commands[name.strip()] = shlex.split(cmd)
    return commands


def published_queues() -> set[str]:
    """Every queue the code sends tasks to: each task's route (shared/messaging.py's
    TASK_QUEUES), and every queue constant there (the default queue among them)."""
    found = {*messaging.TASK_QUEUES.values()}
    return found | {value for name, value in vars(messaging).items() if name.endswith("_QUEUE")}


def compose_consumers() -> dict[str, set[str]]:
    return {name: queues(command(name)) for name in services()
            if command(name)[3:4] == ["worker"]}


def test_every_queue_the_code_publishes_to_has_a_consumer_in_compose() -> None:
    consumed = set().union(*compose_consumers().values())
    assert published_queues() <= consumed, published_queues() - consumed


def test_every_queue_the_code_publishes_to_has_a_consumer_in_the_procfile() -> None:
    consumed = {q for argv in procfile_commands().values() if "worker" in argv
                for q in queues(argv)}
    assert published_queues() <= consumed, published_queues() - consumed


def test_compose_workers_consume_what_the_procfile_workers_do() -> None:
    procfile = procfile_commands()
    for name, consumed in compose_consumers().items():
        assert consumed == queues(procfile[name]), name


def test_each_queue_is_consumed_by_the_app_whose_tasks_serve_it() -> None:
    # A queue consumed by the wrong app would take its messages and fail them as unknown
    # tasks. Task names say their service: "router.sweep" -> services.router.celery_app.
    owner = {queue: WORKERS[task.split(".")[0]] for task, queue in messaging.TASK_QUEUES.items()}
    consumers = compose_consumers()
    assert consumers
    for name, consumed in consumers.items():
        assert consumed and all(owner[q] == command(name)[2] for q in consumed), name


@pytest.mark.parametrize(("name", "app"), sorted(WORKERS.items()))
def test_workers_run_prefork_and_are_pinged_by_node_name(name: str, app: str) -> None:
    argv = command(name)
    assert argv[:4] == ["celery", "-A", app, "worker"]
    assert option(argv, "--pool", "-P") == "prefork"
    node = option(argv, "--hostname", "-n")
    assert node is not None and node.endswith("@%h")
    check = healthcheck_text(name)
    assert services()[name]["healthcheck"]["test"][0] == "CMD-SHELL"  # $HOSTNAME needs a shell
    assert f"inspect ping -d {node.split('@')[0]}@$$HOSTNAME" in check


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_workers_get_time_to_finish_acks_late_tasks(name: str) -> None:
    grace = seconds(services()[name]["stop_grace_period"])
    assert grace >= MIN_WORKER_GRACE_SECONDS


def test_exactly_one_beat() -> None:
    beat = services()["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert "scale" not in beat
    assert "EXACTLY ONE beat" in compose_text()
    argv = command("beat")
    assert argv[:4] == ["celery", "-A", "services.router.celery_app", "beat"]
    others = [n for n in services() if n != "beat" and "beat" in command(n)[:4]]
    assert others == [], "only the beat service may run celery beat"
    # The root filesystem is read-only: the schedule file must live on the tmpfs.
    assert (option(argv, "--schedule", "-s") or "").startswith("/tmp/")
    # beat answers `inspect ping` only with remote control on, as celerybeat@<host>.
    assert "--enable-remote-control" in argv
    assert "inspect ping -d celerybeat@$$HOSTNAME" in healthcheck_text("beat")


def test_every_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), name
        assert check["test"] != ["NONE"], name


def test_flower_is_read_only_behind_basic_auth_and_loopback_only() -> None:
    flower = services()["flower"]
    argv = command("flower")
    assert argv[:4] == ["celery", "-A", "services.router.celery_app", "flower"]
    assert "--read_only" in argv or "--read-only" in argv
    assert option(argv, "--port") == "5555"
    assert "args" not in (option(argv, "--tasks_columns") or "").split(",")
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}",
                        flower["environment"]["FLOWER_BASIC_AUTH"])
    assert flower["ports"] == ["127.0.0.1:5555:5555"]
    assert re.search(r"behind auth|MUST sit behind authentication", compose_text())


def test_mailsink_is_development_only() -> None:
    mailsink = services()["mailsink"]
    assert mailsink["image"].startswith("axllent/mailpit")
    assert mailsink["profiles"] == ["dev"]
    published = {str(p).rsplit(":", 1)[-1].split()[0] for p in mailsink["ports"]}
    assert published == {"1025", "8025"}
    assert mailsink["healthcheck"]["test"] == ["CMD", "/mailpit", "readyz"]
    for name, service in services().items():
        assert "mailsink" not in service.get("depends_on", {}), name


def test_published_ports_default_to_loopback() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            host = str(port).rsplit(":", 2)[0]
            assert host in ("127.0.0.1", "${LIAISON_BIND_ADDRESS:-127.0.0.1}"), (name, port)


# ---- Dockerfile and .dockerignore ------------------------------------------------------------


@cache
def dockerfile_text() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, comments dropped, continuation lines joined."""
    lines = [ln for ln in dockerfile_text().splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def test_dockerfile_base_image_is_python_311_slim() -> None:
    args = dict(
        rest.split("=", 1) for word, rest in dockerfile_instructions() if word == "ARG"
        and "=" in rest
    )
    bases = [rest.split()[0] for word, rest in dockerfile_instructions() if word == "FROM"]
    resolved = {args.get(b.strip("${}"), b) if b.startswith("$") else b for b in bases}
    assert resolved == {"python:3.11-slim"}


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users, "the final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = re.search(r"useradd\b.*--uid (\d+)\b.*\bliaison\b",
                        dockerfile_text().replace("\\\n", " "))
    assert created is not None, "the Dockerfile does not create the liaison user"
    assert user in ("liaison", created.group(1))


def test_dockerfile_cmd_is_gunicorn_in_exec_form() -> None:
    cmds = [rest for word, rest in final_stage() if word == "CMD"]
    assert len(cmds) == 1
    argv = json.loads(cmds[0])  # exec form: a JSON array, no shell
    assert argv[0] == "gunicorn"
    assert option(argv, "--bind") == "0.0.0.0:8000"
    assert argv[-1] == "services.intake.app:create_app()"


def test_dockerfile_installs_the_project_and_a_pinned_flower() -> None:
    text = dockerfile_text()
    assert re.search(r"pip install --no-cache-dir --no-deps \.", text)
    assert re.search(r"ARG FLOWER_VERSION=\d+\.\d+\.\d+\n", text)
    assert '"flower==${FLOWER_VERSION}"' in text
    for source in ("pyproject.toml", "README.md", "shared", "services"):
        assert re.search(r"^COPY .*\b" + re.escape(source) + r"\b", text, re.MULTILINE), source


def build_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[:last_from]


def test_dockerfile_installs_the_dependencies_in_a_layer_before_the_source() -> None:
    stage = build_stage()
    copies = [(i, rest.split()[:-1]) for i, (word, rest) in enumerate(stage) if word == "COPY"]
    runs = [(i, rest) for i, (word, rest) in enumerate(stage) if word == "RUN"]
    first_copy, first_sources = copies[0]
    assert first_sources == ["pyproject.toml"], "copy pyproject.toml alone first"
    deps = [i for i, rest in runs if "pip install" in rest and "requirements.txt" in rest]
    assert len(deps) == 1 and deps[0] > first_copy
    assert "tomllib" in stage[deps[0]][1] and "['project']['dependencies']" in stage[deps[0]][1]
    source = [i for i, sources in copies[1:]
              if {"shared", "services", "ops"} & {s.rstrip("/") for s in sources}]
    assert len(source) == 3 and min(source) > deps[0], "the source comes after the deps"
    project = [i for i, rest in runs if re.search(r"pip install\b.*--no-deps \.(\s|$)", rest)]
    assert len(project) == 1 and project[0] > max(source)


def test_dockerfile_installs_no_dev_tools() -> None:
    installs = " ".join(rest for word, rest in dockerfile_instructions() if word == "RUN")
    assert "[dev]" not in installs and "optional-dependencies" not in installs
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "playwright", "fakeredis"):
        assert tool not in installs, tool


def test_dockerfile_environment_and_ports() -> None:
    stage = final_stage()
    env = " ".join(rest for word, rest in stage if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    exposed = {p for word, rest in stage if word == "EXPOSE" for p in rest.split()}
    assert {"8000", "8001"} <= exposed
    # Access log: path only (%(U)s, no query string) and no client address (%(h)s).
    gunicorn_args = re.search(r'GUNICORN_CMD_ARGS="([^"]*)"', env)
    assert gunicorn_args is not None
    argv = shlex.split(gunicorn_args.group(1))
    fmt = option(argv, "--access-logformat") or ""
    assert "%(U)s" in fmt and "%(r)s" not in fmt and "%(q)s" not in fmt and "%(h)s" not in fmt
    assert "--no-control-socket" in argv  # its default path is not writable (read-only fs)


def dockerignore_patterns() -> set[str]:
    return {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = dockerignore_patterns()
    for pattern in (".venv", "var", ".git", "tests", "bench", ".env", "**/__pycache__",
                    ".pytest_cache", ".mypy_cache", ".ruff_cache", "secrets"):
        assert pattern in patterns, pattern
    for needed in ("README.md", "pyproject.toml", "shared", "services"):
        assert needed not in patterns, f"{needed} is needed by the build"
