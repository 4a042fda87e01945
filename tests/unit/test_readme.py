"""The README documents every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from shared.config import variables

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_liaison_variable_is_in_the_readme_table():
    missing = [v for v in variables() if f"| `{v}` |" not in README]
    assert not missing, f"README's configuration table lacks {missing}"


def test_the_readme_starts_with_the_two_commands():
    head = README[: README.index("## How a case flows")]
    assert "make run" in head and "make test" in head
