"""Imports flow one way: analysis <- firmware_bridge <- sessions <- ui; Qt only in ui.

Parses every module of the four packages (and the benchmarks) with ``ast`` and
fails on any import that points the wrong way, naming file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["analysis", "firmware_bridge", "sessions", "ui"]
QT = {"PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "shiboken6"}
# analysis is pure computation: no I/O, no event loop, no devices
ANALYSIS_FORBIDDEN = {"asyncio", "sqlite3", "socket", "bleak", "bumble", "http", "urllib"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def violations(package: str, path: Path) -> list[str]:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    bad = []
    for line, name in _imports(path):
        top = name.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {name}"
        if top in LAYERS and top not in allowed:
            bad.append(f"{where} (against {' <- '.join(LAYERS)})")
        if top in QT and package != "ui":
            bad.append(f"{where} (Qt belongs in ui only)")
        if package == "analysis" and top in ANALYSIS_FORBIDDEN:
            bad.append(f"{where} (analysis stays pure numpy/scipy)")
    return bad


@pytest.mark.parametrize("package", LAYERS)
def test_imports_flow_one_way(package: str) -> None:
    modules = _modules(package)
    assert modules, f"package {package} has no modules"
    bad = [v for path in modules for v in violations(package, path)]
    assert not bad, "\n".join(bad)


def test_checker_catches_a_reverse_arrow(tmp_path: Path) -> None:
    fake = ROOT / "analysis" / "_reverse_arrow_probe.py"
    fake.write_text("import asyncio\nfrom sessions import SessionError\nimport pyqtgraph\n")
    try:
        found = violations("analysis", fake)
    finally:
        fake.unlink()
    assert len(found) == 3, found
