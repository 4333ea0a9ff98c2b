from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router import logs
from router.app import create_app
from router.notifiers.slack import SlackNotifier
from router.render import Reply
from tests.fakes.slack import FakeSlack
from tests.helpers import AUTH, BODY, TOKEN, settings


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """logs.configure sets process-wide levels and handlers: put them back for other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    clients = {name: logging.getLogger(name).level for name in (*logs.CLIENT_LOGGERS, "alembic")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, client_level in clients.items():
        logging.getLogger(name).setLevel(client_level)


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


def test_json_lines_leave_out_uvicorns_colour_copy_of_the_message() -> None:
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "msg": "Started server process [%d]",
            "args": (42,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
        }
    )
    event = json.loads(logs.JsonFormatter().format(record))
    assert event["msg"] == "Started server process [42]"
    assert "color_message" not in event
    assert "\x1b" not in json.dumps(event)


def test_alembic_says_nothing_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "INFO")
    try:
        logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
        assert "Running upgrade" not in capsys.readouterr().err
    finally:
        logging.getLogger().handlers[:] = []


def test_text_format_for_make_run(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "INFO")
    try:
        logging.getLogger("router").info("hello %s", "there")
        err = capsys.readouterr().err
        assert "INFO    router: hello there" in err
    finally:
        logging.getLogger().handlers[:] = []


def test_a_response_url_never_reaches_the_log_even_at_debug(
    fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("text", "DEBUG")  # its handler writes to the captured stderr
    try:
        logging.getLogger("router").debug("debug lines are written")
        url = fake_slack.response_url_prefix + "T0/B0/secret-part"
        SlackNotifier("xoxb-test", fake_slack.base_url).respond(url, Reply("hi"))
        assert fake_slack.responses == [Reply("hi").payload()]
        written = capsys.readouterr().err
        assert "debug lines are written" in written
        assert "secret-part" not in written
        assert "xoxb-test" not in written
    finally:
        logs.configure("text", "INFO")


def test_a_text_log_line_is_one_record_whatever_the_alert_is_named(tmp_path: Path) -> None:
    """An alert's name with a newline, a carriage return or a terminal escape in it."""
    data = json.loads(BODY)
    forged = "Pool\n2026-12-01 03:00:00,000 ERROR   router: forged\rX\x1b[2J"
    data["alerts"][0]["labels"]["alertname"] = forged
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with TestClient(create_app(settings(tmp_path), run_dispatcher=False)) as c:
            c.post("/webhooks/alertmanager", content=json.dumps(data), headers=AUTH)
    finally:
        root.removeHandler(handler)
    lines = out.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if "stored alertmanager alert Pool" in line)
    assert lines[at + 1].startswith(logs.CONTINUED + "2026-12-01 03:00:00,000 ERROR")
    assert "forged\\rX\\x1b[2J" in lines[at + 1]  # shown, not done to the terminal
