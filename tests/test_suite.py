"""The suite's own rules: ``-m "not e2e"`` runs no end-to-end test, ``-m e2e`` runs them all."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

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
