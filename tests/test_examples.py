"""The shipped examples (``routes.yaml``, ``runbooks/``) as a user gets them.

Other tests use their own copies in tests/fixtures/config, so the examples can
change freely; these only hold the examples to the gates a user's CI would run.
"""

from __future__ import annotations

import pytest

from router.cli import main
from tests.conftest import ROOT

EXAMPLES = ["--config", str(ROOT / "routes.yaml"), "--runbooks", str(ROOT / "runbooks")]


def test_shipped_examples_pass_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *EXAMPLES]) == 0
    assert "error" not in capsys.readouterr().err.lower()


def test_shipped_runbooks_pass_lint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(ROOT / "runbooks"), "--config", str(ROOT / "routes.yaml")]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert " 0 error(s)" in summary
