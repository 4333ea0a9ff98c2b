"""One alert's page: the message as Slack shows it, drawn from the stored message."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from router.app import create_app
from tests import helpers


def test_the_alert_page_shows_the_message_as_slack_does(tmp_path: Path) -> None:
    app = create_app(helpers.settings(tmp_path), run_dispatcher=False)
    with TestClient(app) as client:
        sent = client.post("/webhooks/alertmanager", content=helpers.BODY, headers=helpers.AUTH)
        assert sent.status_code == 202
        (alert,) = helpers.stored(client)
        page = client.get(f"/alerts/{alert['id']}").text
    message = page.split('id="message">', 1)[1].split("<h2>", 1)[0]
    assert '<div class="bk-header">🔴 SEV1 · DatabaseConnectionPoolHigh</div>' in message
    assert "<b>Step 1: Confirm the pool is saturated</b>" in message
    assert '<span class="button">Acknowledge</span>' in message
    assert '<a class="button" href="http://localhost:8080/runbooks/RUN-001">' in message
