"""Placeholder until this part of the console is built (being written now)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount this part of the console."""
