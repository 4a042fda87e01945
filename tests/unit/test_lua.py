"""The Lua scripts as source: one calling convention, one library spliced in once, no helper
written twice, and every spliced script compiles under Redis's Lua (5.1)."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import pytest
from lupa.lua51 import LuaError, LuaRuntime

from shared.domain.rings import WAITING_LEAD
from shared.domain.routing import FORCE_WIDE
from shared.store.base import LIB_MARKER, script_source, splice

FOLDER = resources.files("shared.lua")
LIB = FOLDER.joinpath("lib.lua").read_text()
SCRIPTS = sorted(p.name.removesuffix(".lua") for p in FOLDER.iterdir()
                 if p.name.endswith(".lua") and p.name != "lib.lua")
TOP_LEVEL_LOCAL = re.compile(r"^local (?:function )?([\w, ]+?)\s*(?:=|\()", re.MULTILINE)


def code(source: str) -> str:
    """The source without its `--` comments (none of ours sits inside a string)."""
    return "\n".join(line.split("--", 1)[0] for line in source.splitlines())


def test_every_script_is_found() -> None:
    assert SCRIPTS == ["case_action", "create_case", "login_attempt", "notification_outcome",
                       "officer", "raise_alert", "route"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_splices_the_library_in_once_on_its_own_line(name: str) -> None:
    """Every script needs the library: its prelude reads the arguments (lib.lua header)."""
    text = FOLDER.joinpath(f"{name}.lua").read_text()
    assert [line for line in text.splitlines() if LIB_MARKER in line] == [LIB_MARKER]


def test_the_library_splices_nothing_into_itself() -> None:
    assert LIB_MARKER not in [line.rstrip() for line in LIB.splitlines()]


def defined_twice(source: str) -> list[str]:
    """Top-level locals (helpers, constants) that `source` declares more than once."""
    names = [n.strip() for group in TOP_LEVEL_LOCAL.findall(source) for n in group.split(",")]
    assert names, "no top-level locals found: the pattern no longer matches the code"
    return sorted(n for n, count in Counter(names).items() if count > 1)


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_script_defines_a_top_level_name_the_library_has(name: str) -> None:
    """A copied helper (or a second `local P`) would shadow the library's without a word."""
    assert defined_twice(script_source(name)) == [], f"{name}.lua defines them again"


def test_a_copied_helper_is_caught() -> None:
    copied = "-- @lib\nlocal function key(...) return table.concat({...}, ':') end\n"
    assert defined_twice(splice(copied, LIB)) == ["key"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_spliced_script_compiles_under_lua_5_1(name: str) -> None:
    LuaRuntime().compile(script_source(name))  # LuaSyntaxError, naming the line, if not


def test_a_script_that_does_not_compile_is_caught() -> None:
    with pytest.raises(LuaError):
        LuaRuntime().compile(splice("-- @lib\nlocal x = = 1\n", LIB))


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_takes_a_prefix_and_one_json_argument(name: str) -> None:
    """Only the library reads ARGV (ARGV[1] the prefix, ARGV[2] the JSON); nothing reads
    KEYS; each header states the JSON's fields and the replies."""
    text = FOLDER.joinpath(f"{name}.lua").read_text()
    assert "ARGV" not in code(text) and "KEYS" not in code(text)
    header = text.split(LIB_MARKER)[0]
    assert "-- ARGV[1] key prefix, ARGV[2] JSON:" in header
    assert "now (" in header and "-- Returns" in header
    assert re.search(r"^local args = cjson\.decode\(ARGV\[2\]\)$", LIB, re.MULTILINE)
    assert "KEYS" not in code(LIB)


def test_the_waiting_queue_is_scored_in_one_place() -> None:
    """received less the priority's head start: `waiting_score`, used by every write to
    `waiting`, and the only place that reads the WAIT_LEAD table."""
    everything = LIB + "".join(FOLDER.joinpath(f"{n}.lua").read_text() for n in SCRIPTS)
    assert code(everything).count("* LOAD +") == 1  # refresh's availability score only
    assert code(everything).count("WAIT_LEAD[") == 1
    writes = re.findall(r'"ZADD", key\("waiting"\), (.*)', code(everything))
    assert writes == ["fmt(waiting_score(c)), case_id)"]


def test_the_library_ages_the_waiting_queue_as_the_domain_does() -> None:
    """lib.lua's WAIT_LEAD is shared/domain/rings.py's WAITING_LEAD, priority by priority."""
    found = re.search(r"^local WAIT_LEAD = \{(.*)\}$", LIB, re.MULTILINE)
    assert found
    lua = {int(p): int(s) for p, s in re.findall(r'\["(\d)"\] = (\d+)', found.group(1))}
    assert lua == dict(WAITING_LEAD)


def test_the_library_names_the_force_wide_pool_as_the_domain_does() -> None:
    found = re.search(r'^local FORCE_WIDE = "([^"]+)"', LIB, re.MULTILINE)
    assert found and found.group(1) == FORCE_WIDE


@pytest.mark.parametrize("script", [
    "local x = 1\n",                           # no marker: the arguments are never read
    "-- @lib\nlocal x = 1\n-- @lib\n",         # twice: the library twice
    "local x = 1 -- @lib\n",                   # not on its own line
    "  -- @lib\nlocal x = 1\n",                # not at the start of the line
    "-- @lib\n-- see -- @lib above\n",         # named again, in a comment
])
def test_splicing_refuses_a_marker_that_is_missing_repeated_or_not_a_line(script: str) -> None:
    with pytest.raises(ValueError, match="exactly one '-- @lib' line"):
        splice(script, LIB, name="bad")


def test_splicing_puts_the_library_where_the_marker_was() -> None:
    assert splice("-- head\n-- @lib\nbody\n", "lib\n") == "-- head\nlib\nbody\n"
