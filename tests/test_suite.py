"""The suite's own rules: ``-m "not e2e"`` runs no end-to-end test and ``-m e2e`` runs them
all; a conftest.py holds fixtures and hooks only, and no module imports one."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PATHS = ("tests/e2e", "tests/test_settings.py")  # the e2e folder and one unit module beside it


def collect(*markers: str) -> list[tuple[set[str], int]]:
    """For each marker, what ``pytest --collect-only -m marker`` selects from PATHS and how
    many tests it leaves out (the collections run side by side, each in its own process)."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    processes = [
        subprocess.Popen(
            [*command, "-m", marker, *PATHS],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for marker in markers
    ]
    results = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode in (0, 5), output  # 5: every test deselected
        deselected = re.search(r"\((\d+) deselected\)", output)
        assert deselected is not None, output
        selected = {line for line in output.splitlines() if "::" in line}
        results.append((selected, int(deselected[1])))
    return results


def test_the_e2e_marker_selects_exactly_the_tests_under_tests_e2e() -> None:
    (e2e, left_out_by_e2e), (unit, left_out_by_not_e2e) = collect("e2e", "not e2e")
    assert len(e2e) > 20  # the e2e modules were collected at all
    assert all(node.startswith("tests/e2e/") for node in e2e)
    assert unit
    assert not any(node.startswith("tests/e2e/") for node in unit)
    # Between them they select every test, each once: none is left out of both.
    assert left_out_by_e2e == len(unit)
    assert left_out_by_not_e2e == len(e2e)


def conftests() -> list[Path]:
    return sorted((ROOT / "tests").rglob("conftest.py"))


def test_no_module_imports_a_conftest() -> None:
    """Helpers live in tests/helpers.py, tests/slack.py, tests/e2e/processes.py, tests/fakes/."""
    importers = []
    for path in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            if any(name.split(".")[-1] == "conftest" for name in names):
                importers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert importers == []


def test_a_conftest_holds_fixtures_and_hooks_only() -> None:
    public = []
    for path in conftests():
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                if not fixture and not node.name.startswith("pytest_"):
                    public.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
            elif isinstance(node, ast.ClassDef):
                public.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    name = ast.unparse(target)
                    if not name.startswith("_"):
                        public.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert conftests()
    assert public == []
