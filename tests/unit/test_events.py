"""Event names are declared once, in shared/domain/events.py: every name a Lua script, a
Python module or a template writes or compares is declared there, and Python code names
them by constant, never by a string of its own."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from shared.domain import events

ROOT = Path(__file__).resolve().parents[2]
EVENTS_MODULE = ROOT / "shared" / "domain" / "events.py"
CONSTANTS = {name: value for name, value in vars(events).items()
             if name.isupper() and isinstance(value, str)}
DECLARED = {value: name for name, value in CONSTANTS.items()}
# An event name: two or more capitalised words run together (CaseReceived, OfferAccepted).
EVENT_LIKE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)+")
LUA_STRING = re.compile(r'"([^"\\]*)"')
TEMPLATE_TYPE = re.compile(r"""\.type\s*[!=]==?\s*["']([^"']*)["']""")
# Python code that must name events by constant (the ones that write or read them).
BY_CONSTANT = [ROOT / "shared" / "store", ROOT / "shared" / "casework.py", ROOT / "services"]


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def python_files(*roots: Path) -> list[Path]:
    return sorted(p for r in roots for p in ([r] if r.is_file() else r.rglob("*.py"))
                  if p != EVENTS_MODULE and ".venv" not in p.parts)


def lua_event_names() -> list[tuple[str, str]]:
    """Every event-like string literal in the scripts (outside comments), with its place.
    They are event names only: the scripts spell every other constant in snake_case."""
    found = []
    for path in sorted((ROOT / "shared" / "lua").glob("*.lua")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for literal in LUA_STRING.findall(line.split("--", 1)[0]):
                if EVENT_LIKE.fullmatch(literal):
                    found.append((literal, where(path, number)))
    return found


def python_event_types() -> list[tuple[str, str]]:
    """String literals given as an event's "type" in a dict, or compared with one."""
    return [(name, where(path, line)) for path in python_files(ROOT / "shared", ROOT / "services")
            for name, line in event_types_in(path.read_text())]


def event_types_in(source: str) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        values: list[ast.expr] = []
        if isinstance(node, ast.Dict):
            values = [v for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and k.value == "type"]
        elif isinstance(node, ast.Compare) and _reads_type(node.left):
            values = list(node.comparators)
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                    and EVENT_LIKE.fullmatch(value.value):
                found.append((value.value, value.lineno))
    return found


def _reads_type(node: ast.expr) -> bool:
    """`fields["type"]` or `fields.get("type")`."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "type"
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == "get" and bool(node.args) \
        and isinstance(node.args[0], ast.Constant) and node.args[0].value == "type"


def template_event_types() -> list[tuple[str, str]]:
    """Names a template or a script of the console compares an event's `type` with."""
    found = []
    for path in sorted((ROOT / "services").rglob("*")):
        if path.suffix in (".html", ".js"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found += [(name, where(path, number)) for name in TEMPLATE_TYPE.findall(line)]
    return found


def test_each_event_name_is_declared_once_and_looks_like_one() -> None:
    twice = [value for value, count in Counter(CONSTANTS.values()).items() if count > 1]
    assert twice == []
    assert [v for v in CONSTANTS.values() if not EVENT_LIKE.fullmatch(v)] == []


def test_the_readers_find_the_names_they_should() -> None:
    """Else the tests below would pass on an empty list."""
    in_lua = {name for name, _ in lua_event_names()}
    assert {"CaseOffered", "OfferDeclined", "OfferExpired", "NotificationFailed"} <= in_lua
    assert "CaseReassigned" in {name for name, _ in template_event_types()}
    source = ('e = {"type": "CaseOfered", "kind": "OfferKind"}\n'
              'if e["type"] == "CaseClosed" or e.get("type") != "NoteAdded": pass\n'
              'schema = {"type": "string"}\n')
    assert event_types_in(source) == [("CaseOfered", 1), ("CaseClosed", 2), ("NoteAdded", 2)]


def test_every_event_name_in_a_lua_script_is_declared() -> None:
    undeclared = [f"{place}: {name}" for name, place in lua_event_names()
                  if name not in DECLARED]
    assert undeclared == [], "declare these in shared/domain/events.py:\n" + "\n".join(undeclared)


def test_every_event_type_written_or_compared_in_python_is_declared() -> None:
    undeclared = [f"{place}: {name}" for name, place in python_event_types()
                  if name not in DECLARED]
    assert undeclared == [], "declare these in shared/domain/events.py:\n" + "\n".join(undeclared)


def test_every_event_type_a_template_compares_with_is_declared() -> None:
    undeclared = [f"{place}: {name}" for name, place in template_event_types()
                  if name not in DECLARED]
    assert undeclared == [], "declare these in shared/domain/events.py:\n" + "\n".join(undeclared)


def test_python_names_events_by_their_constant() -> None:
    """`events.CASE_OFFERED`, not "CaseOffered": a typo in a string is a silent new event."""
    literals = [
        f"{where(path, node.lineno)}: {node.value!r} -> events.{DECLARED[node.value]}"
        for path in python_files(*BY_CONSTANT)
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value in DECLARED]
    assert literals == [], ("use the constant from shared.domain.events "
                            "(from shared.domain import events):\n" + "\n".join(literals))
