# syntax=docker/dockerfile:1
# Liaison: ONE image for every service (intake, console, router, notifier, beat, flower).
# docker-compose.yml picks the process with `command:`; the default CMD runs intake.
#
#   docker build -t liaison:latest .

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the project and its pinned dependencies into a venv ---------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# 1. The dependencies, in a layer of their own: it is rebuilt only when pyproject.toml
#    changes, not on every edit of the source. Only [project] dependencies (all pinned):
#    no [project.optional-dependencies] dev tools (pytest, ruff, mypy...) reach the image.
# Flower (the Celery monitor) is not a project dependency: it lives in the image only,
# pinned here, for the `flower` service in docker-compose.yml.
ARG FLOWER_VERSION=2.2.0
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt "flower==${FLOWER_VERSION}"

# 2. The project itself, without touching the dependencies installed above.
# README.md is the project's `readme` in pyproject.toml, so the build needs it.
COPY README.md ./
COPY shared ./shared
COPY services ./services
COPY ops ./ops
RUN pip install --no-cache-dir --no-deps . \
    && pip check

# ---- runtime: no sources, no build context, non-root ------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="liaison" \
      org.opencontainers.image.description="Case routing for LGBT+ liaison officers"

# Fixed ids so docker-compose.yml (`user: "10001:10001"`) and volume ownership agree.
RUN groupadd --system --gid 10001 liaison \
    && useradd --system --uid 10001 --gid liaison --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin liaison

COPY --from=build /opt/venv /opt/venv

# GUNICORN_CMD_ARGS applies to intake and console alike:
# - no control socket: its default lives under $HOME and the root filesystem is read-only;
# - heartbeat files in /tmp (a tmpfs in compose);
# - access log to stdout with the path only (%(U)s has no query string) and no client
#   address: someone reporting a hate crime may not want their IP address in our logs.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LIAISON_ENV=production \
    GUNICORN_CMD_ARGS="--no-control-socket --worker-tmp-dir /tmp --access-logfile - --access-logformat '%(t)s %(m)s %(U)s %(s)s %(b)s %(M)sms'"

WORKDIR /app
# liaison:liaison, by number so that a runtime can tell it is not root without /etc/passwd.
USER 10001:10001

# intake 8000, console 8001; the flower service listens on 5555 (see docker-compose.yml).
EXPOSE 8000 8001

# Health checks are per service in docker-compose.yml (the same image runs workers too).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "services.intake.app:create_app()"]
