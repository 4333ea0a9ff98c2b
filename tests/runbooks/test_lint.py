from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from router.cli import main
from router.runbooks import load_catalog
from router.runbooks.lint import RULES, lint_folder
from tests.helpers import GOLDEN, RUNBOOKS

BAD = GOLDEN / "lint/bad"
TODAY = ["--today", "2026-11-22", "--stale-after-days", "90"]


def test_each_bad_runbook_gives_its_exact_finding(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(BAD), *TODAY]) == 1
    expected = (GOLDEN / "lint/expected.txt").read_text().replace("{dir}", str(BAD))
    assert capsys.readouterr().out == expected


def test_every_rule_has_a_bad_example() -> None:
    report = lint_folder(BAD, date(2026, 11, 22), 90)
    assert {f.rule for f in report.findings} == set(RULES)
    clean = BAD / "RUN-100-good.md"
    assert not [f for f in report.findings if f.file == str(clean)]


def test_fixture_runbooks_have_no_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(RUNBOOKS), *TODAY]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "14 runbooks: 0 error(s), 1 warning(s)"
    assert out[0].endswith(
        "RB004 Last Tested 2026-05-12 is 194 days old (limit 90)"
    )  # RUN-010, on purpose


def test_strict_makes_warnings_fail(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(RUNBOOKS), *TODAY, "--strict"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"lint failed: 1 warning(s) in {RUNBOOKS} (--strict)"
    ]


def test_a_failing_lint_says_why_on_stderr_in_every_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    errors = lint_folder(BAD, date(2026, 11, 22), 90).errors
    for fmt in ("text", "json"):
        assert main(["lint", str(BAD), *TODAY, "--format", fmt]) == 1
        assert capsys.readouterr().err.splitlines() == [f"lint failed: {errors} error(s) in {BAD}"]


def test_a_bad_today_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(RUNBOOKS), "--today", "22.11.2026"]) == 2
    assert capsys.readouterr().err == "--today '22.11.2026': expected a date, YYYY-MM-DD\n"


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    main(["lint", str(BAD), *TODAY, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert (out["runbooks"], out["errors"], out["warnings"]) == (19, 18, 1)
    first = out["findings"][0]
    assert set(first) == {"file", "line", "rule", "message", "severity"}
    assert first["rule"] == "RB002"


def test_stale_limit_comes_from_routes_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("defaults: {stale_after_days: 400}\n", encoding="utf-8")
    assert main(["lint", str(RUNBOOKS), "--config", str(routes), "--today", "2026-11-22"]) == 0
    assert capsys.readouterr().out.strip() == "14 runbooks: 0 error(s), 0 warning(s)"


def test_not_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "/nonexistent/runbooks"]) == 1


def test_a_malformed_placeholder_is_named_by_its_line_and_the_entry_still_loads(
    tmp_path: Path,
) -> None:
    """Lint names the file's line (the second entry of a file, inside a command block);
    the parser keeps the entry, its text as written."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    good = (BAD / "RUN-100-good.md").read_text(encoding="utf-8")
    malformed = (BAD / "RUN-116-malformed-placeholder.md").read_text(encoding="utf-8")
    (folder / "nodes.md").write_text(good + "\n---\n\n" + malformed, encoding="utf-8")
    offset = len(good.splitlines()) + 3  # the lines before the second entry's title

    report = lint_folder(folder, date(2026, 11, 22), 90)
    found = [(f.line - offset, f.message) for f in report.findings if f.rule == "RB016"]
    assert found == [
        (13, "'{{ $label.node }}' is not a label placeholder; write {{ $labels.NAME }}"),
        (
            17,
            "'{{ $labels.node } --ignore-daemonsets' is not a label placeholder; "
            "write {{ $labels.NAME }}",
        ),
        (23, "'{{ labels.node }}' is not a label placeholder; write {{ $labels.NAME }}"),
    ]
    line = (folder / "nodes.md").read_text(encoding="utf-8").splitlines()[offset + 17 - 1]
    assert line == "kubectl drain {{ $labels.node } --ignore-daemonsets"

    catalog = load_catalog(folder)
    assert catalog.problems == []
    runbook = catalog.get("RUN-116")
    assert runbook is not None
    (step,) = runbook.steps
    assert step.text == ["Check {{ $labels.node }} first, then {{ $label.node }} is drained."]
    assert "kubectl drain {{ $labels.node } --ignore-daemonsets" in step.commands[0].code
    assert runbook.do_not == ["Do not reboot {{ labels.node }} by hand"]


def test_unfilled_text_is_found_on_its_line_in_a_file_of_several_entries(
    tmp_path: Path,
) -> None:
    storage = (RUNBOOKS / "storage-procedures.md").read_text(encoding="utf-8")
    lines = storage.splitlines()
    owner = max(n for n, line in enumerate(lines, 1) if line.startswith("Owner:"))  # RUN-014's
    lines[owner - 1] = "Owner: TODO the team that keeps this runbook true"
    (tmp_path / "storage-procedures.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = lint_folder(tmp_path, date(2026, 11, 22), 90)
    assert [(f.line, f.rule) for f in report.findings if f.rule in ("RB002", "RB017")] == [
        (owner - 3, "RB002"),  # at its title: the parser reads a TODO owner as none
        (owner, "RB017"),
    ]
