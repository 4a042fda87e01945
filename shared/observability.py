"""Structured, personal-data-free logging shared by every service.

Log lines carry ids (request id, case id) and outcomes, never form contents. Values are
passed with `extra=` and rendered as JSON (or text in development and tests).
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from shared.config import Settings

_CONFIGURED: set[str] = set()


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
