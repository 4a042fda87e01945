"""The tree shows the architecture: a pure domain, services that never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"flask", "celery", "redis", "marshmallow", "kombu", "werkzeug", "flask_smorest",
              "fakeredis", "apprise", "yaml", "cryptography"}
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("path", python_files(ROOT / "shared" / "domain"),
                         ids=lambda p: p.name)
def test_the_domain_imports_no_framework(path: Path):
    bad = {name for name in imports_of(path) if name.split(".")[0] in FRAMEWORKS}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service: str):
    others = {s for s in SERVICES if s != service}
    for path in python_files(ROOT / "services" / service):
        for name in imports_of(path):
            parts = name.split(".")
            assert not (parts[0] == "services" and len(parts) > 1 and parts[1] in others), \
                f"{path.relative_to(ROOT)} imports {name}"


def test_shared_never_imports_a_service():
    for path in python_files(ROOT / "shared"):
        assert not any(n.split(".")[0] == "services" for n in imports_of(path)), path


def test_no_service_or_shared_module_imports_ops():
    """The CLI, `make run`'s launcher and the demo data are entry points: nothing needs them."""
    for path in python_files(ROOT / "shared") + python_files(ROOT / "services"):
        bad = {n for n in imports_of(path) if n.split(".")[0] == "ops"}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_config_reads_the_environment():
    for path in (python_files(ROOT / "shared") + python_files(ROOT / "services")
                 + python_files(ROOT / "ops")):
        if path.name == "config.py" and path.parent.name == "shared":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "os.getenv" not in text, path.relative_to(ROOT)


def test_the_checker_would_catch_a_framework_import(tmp_path: Path):
    sample = tmp_path / "bad.py"
    sample.write_text("import redis\nfrom flask import Flask\n")
    assert {"redis", "flask"} <= imports_of(sample)


def store_builders(path: Path) -> list[int]:
    """Lines where `path` calls `Store(...)`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        getattr(node.func, "id", None) == "Store" or getattr(node.func, "attr", None) == "Store")]


def test_only_the_composition_root_builds_the_store():
    """One place wires what the services talk to (`shared/bootstrap.py`); every entry point
    (apps, workers, CLI, launcher) takes its store from there."""
    root = ROOT / "shared" / "bootstrap.py"
    found = {str(p.relative_to(ROOT)): lines
             for p in python_files(ROOT / "shared") + python_files(ROOT / "services")
             + python_files(ROOT / "ops") if p != root and (lines := store_builders(p))}
    assert found == {}
    assert store_builders(root), "bootstrap.py should build the store"


def test_the_store_checker_sees_both_spellings(tmp_path: Path):
    sample = tmp_path / "wiring.py"
    sample.write_text("a = Store(client)\nb = store.Store(client)\nc = Stored()\n")
    assert store_builders(sample) == [1, 2]
