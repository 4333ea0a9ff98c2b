from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.errors import Unauthorized
from router.slackapp.signature import verify
from tests.fakes.clock import FakeClock
from tests.helpers import AppClients, settings
from tests.slack import SIGNING_SECRET, command_body, signed


def test_slack_documented_example_known_answer() -> None:
    """The example from Slack's "Verifying requests" page."""
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "x-slack-request-timestamp": "1531420618",
        "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    verify(headers, body, SIGNING_SECRET, FakeClock(1531420618 + 10))
    with pytest.raises(Unauthorized, match="invalid or expired"):
        verify(headers, body, SIGNING_SECRET, FakeClock(1531420618 + 301))  # past 5 minutes


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    return app_client(run_dispatcher=False, slack_signing_secret=SIGNING_SECRET)


def test_signed_command_is_answered(client: TestClient) -> None:
    body = command_body("help")
    response = client.post("/slack/commands", content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda h: {**h, "X-Slack-Signature": "v0=" + "0" * 64}, "invalid or expired"),
        (lambda h: signed(command_body("help"), secret="forged"), "invalid or expired"),
        (
            lambda h: signed(command_body("help"), at=time.time() - 600),
            "invalid or expired",
        ),  # stale
        (
            lambda h: signed(command_body("help"), at=time.time() + 600),
            "invalid or expired",
        ),  # future
        (lambda h: {**h, "X-Slack-Request-Timestamp": "yesterday"}, "expected Unix seconds"),
        (lambda h: {**h, "X-Slack-Request-Timestamp": "9" * 40}, "expected Unix seconds"),
        (lambda h: {k: v for k, v in h.items() if k != "X-Slack-Signature"}, "are required"),
        (lambda h: {**h, "X-Slack-Signature": "garbage"}, "invalid or expired"),
        (lambda h: {**h, "X-Slack-Signature": "v0=" + "z" * 64}, "invalid or expired"),
    ],
)
def test_forged_stale_malformed_are_401_not_500(
    client: TestClient, mangle: object, message: str
) -> None:
    body = command_body("help")
    headers = mangle(signed(body))  # type: ignore[operator]
    for path in ("/slack/commands", "/slack/interactions"):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert message in response.json()["error"]


def test_body_changed_after_signing(client: TestClient) -> None:
    headers = signed(command_body("help"))
    response = client.post("/slack/commands", content=command_body("list"), headers=headers)
    assert response.status_code == 401


def test_unset_signing_secret_refuses(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), run_dispatcher=False)) as c:
        body = command_body("help")
        response = c.post("/slack/commands", content=body, headers=signed(body))
    assert response.status_code == 401
    assert response.json()["error"].startswith("SLACK_SIGNING_SECRET is not set")
