"""Entry points that are not services: the `liaison` CLI (`ops.cli`), `make run`'s launcher
(`ops.devstack`) with its embedded Redis and supervisor, and the demo data (`ops.seed`).

They import `shared/`; nothing under `shared/` or `services/` imports them.
"""
