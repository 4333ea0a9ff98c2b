"""One bad runbook never stops alerting: left out, reported, and its alerts still post."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.cli import main
from tests.fakes.slack import FakeSlack
from tests.helpers import ADMIN, AUTH, BODY, ROUTES, RUNBOOKS, metric, settings, wait_for

JSON = {"Accept": "application/json"}


def broken_folder(tmp_path: Path) -> Path:
    """The example runbooks with RUN-001 mangled (no title) and an unreadable RUN-050."""
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    pool = next(runbooks.glob("RUN-001-*.md"))
    pool.write_text("<<<<<<< HEAD\nDatabase pool steps, lost in a bad merge\n", encoding="utf-8")
    (runbooks / "RUN-050-latin1.md").write_bytes(b"# RUN-050: Caf\xe9\n")
    return runbooks


def error_rate_body() -> bytes:
    body = json.loads(BODY)
    body["groupKey"] = '{}:{alertname="HighErrorRate"}'
    alert = body["alerts"][0]
    alert["labels"]["alertname"] = "HighErrorRate"
    alert["fingerprint"] = "e1e2e3e4e5e6e7e8"
    return json.dumps(body).encode()


def test_server_starts_routes_and_posts_with_a_broken_runbook(
    tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    runbooks = broken_folder(tmp_path)
    pool = next(runbooks.glob("RUN-001-*.md"))
    app = create_app(
        settings(
            tmp_path,
            runbooks=str(runbooks),
            slack_bot_token="xoxb-test",
            slack_api_url=fake_slack.base_url,
        )
    )
    with TestClient(app) as client:
        assert client.post("/webhooks/alertmanager", content=BODY, headers=AUTH).status_code == 202
        response = client.post("/webhooks/alertmanager", content=error_rate_body(), headers=AUTH)
        assert response.status_code == 202
        wait_for(lambda: len(fake_slack.posts()) == 2, 10, "both alerts posted")

        # Two files left out, and the two routes that name RUN-001.
        assert metric(client, "router_runbook_load_errors") == 4
        assert metric(client, "router_runbooks") == 13
        listed = client.get("/runbooks", headers=JSON).json()
        texts = [p["text"] for p in listed["problems"]]
        assert f'{pool}:1: title: no "RUN-nnn: Title" line (with or without "#")' in texts
        assert any("RUN-050-latin1.md: cannot read" in t for t in texts)
        page = client.get("/runbooks/RUN-001", headers=JSON)
        assert page.status_code == 404
        assert page.json()["unreadable"].startswith(f"{pool}:1: title")

    (pool_message,) = fake_slack.posts("#db-oncall")
    text = json.dumps(pool_message.blocks, ensure_ascii=False)
    assert "http://localhost:8080/runbooks/RUN-001" in text
    assert "The steps could not be read" in text
    assert 'no \\"RUN-nnn: Title\\" line' in text
    (deploy_message,) = fake_slack.posts("#incidents")
    assert "Step 1" in json.dumps(deploy_message.blocks)
    assert "runbook left out or unresolved" in caplog.text


def test_reload_with_a_broken_file_keeps_the_rest(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS, runbooks)
    app = create_app(settings(tmp_path, runbooks=str(runbooks)), run_dispatcher=False)
    with TestClient(app) as client:
        deploy = next(runbooks.glob("RUN-004-*.md"))
        good = deploy.read_text(encoding="utf-8")
        deploy.write_text("no title here\n", encoding="utf-8")
        response = client.post("/-/reload", headers=ADMIN)
        assert response.status_code == 200
        assert response.json()["runbooks"] == 13
        assert metric(client, "router_runbook_load_errors") >= 1
        assert metric(client, "router_config_last_reload_successful") == 1
        assert client.get("/runbooks/RUN-001", headers=JSON).status_code == 200
        explained = client.post("/api/route", content=error_rate_body(), headers=ADMIN).json()
        (decision,) = explained["alerts"][0]["decisions"]
        assert decision["runbook"] == "RUN-004"
        assert "not readable" in decision["runbook_reason"]

        deploy.write_text(good, encoding="utf-8")
        assert client.post("/-/reload", headers=ADMIN).json()["runbooks"] == 14
        assert metric(client, "router_runbook_load_errors") == 0


def test_check_and_lint_still_fail_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = broken_folder(tmp_path)
    pool = next(runbooks.glob("RUN-001-*.md"))
    assert main(["check", "--config", str(ROUTES), "--runbooks", str(runbooks)]) == 1
    err = capsys.readouterr().err
    assert f'{pool}:1: title: no "RUN-nnn: Title" line' in err
    assert "].runbook: runbook RUN-001 could not be read" in err
    assert main(["lint", str(runbooks)]) == 1
    assert f"{pool}:1: RB001 title:" in capsys.readouterr().out
