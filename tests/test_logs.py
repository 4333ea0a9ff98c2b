from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router import logs
from router.app import create_app
from tests.test_app import AUTH, BODY, TOKEN, settings


def test_json_lines_carry_the_alert_context(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    formatter = logs.JsonFormatter()
    with (
        caplog.at_level(logging.INFO),
        TestClient(create_app(settings(tmp_path), run_dispatcher=False)) as c,
    ):
        c.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    lines = [formatter.format(r) for r in caplog.records if r.name == "router"]
    events = [json.loads(line) for line in lines]  # one JSON object per line
    (stored,) = [e for e in events if e["msg"].startswith("stored")]
    assert (stored["level"], stored["severity"]) == ("info", "SEV1")
    assert {k: stored[k] for k in ("fingerprint", "route", "runbook", "channel", "alertname")} == {
        "fingerprint": "b1c6f0a3d2e9f874",
        "route": "db-pool",
        "runbook": "RUN-001",
        "channel": "#db-oncall",
        "alertname": "DatabaseConnectionPoolHigh",
    }
    assert all("\n" not in line for line in lines)
    assert all(TOKEN not in line for line in lines)


def test_text_format_for_make_run(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "INFO")
    try:
        logging.getLogger("router").info("hello %s", "there")
        err = capsys.readouterr().err
        assert "INFO    router: hello there" in err
    finally:
        logging.getLogger().handlers[:] = []
