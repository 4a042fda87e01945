"""axe-core in the browser: found in tests/e2e/node_modules (`make test` installs it with
npm) or LIAISON_AXE_JS; a run without it SKIPS LOUDLY (and fails under CI), never
silently."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.10.3"  # the Makefile installs this one
AXE_JS = Path(os.environ.get(
    "LIAISON_AXE_JS", Path(__file__).resolve().parent / "node_modules/axe-core/axe.min.js"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_or_skip() -> Path:
    if AXE_JS.exists():
        return AXE_JS
    message = (f"ACCESSIBILITY TESTS NOT RUN: axe-core is not installed ({AXE_JS} missing). "
               f"Install it with `npm install --no-save --prefix tests/e2e axe-core@{AXE_VERSION}`"
               " (`make test` does when npm is there).")
    if os.environ.get("CI"):
        pytest.fail(message + " CI must install it.")
    warnings.warn(message, pytest.PytestWarning, stacklevel=1)
    pytest.skip(message)


def violations(page: Any, axe_js: Path) -> list[dict[str, Any]]:
    """axe's violations of WCAG 2.0, 2.1 and 2.2 A and AA on the page as it is now, and of
    `region` (all content inside landmarks: the exit bar and the 999 banner too). The
    context must bypass the CSP: the script goes in inline."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_js))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => (await axe.run(document, {
               runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
               rules: {region: {enabled: true}}})).violations
               .map(v => ({id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 12)}))""",
        TAGS)
    return found


def overflows(page: Any) -> bool:
    """Whether the page scrolls sideways (wider than the viewport)."""
    return bool(page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"))
