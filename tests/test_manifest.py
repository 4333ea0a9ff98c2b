"""deploy/slack-app-manifest.yaml creates the app the router's endpoints expect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from router.app import create_app
from router.settings import Settings
from tests.helpers import ROOT

MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "deploy/slack-app-manifest.yaml").read_text())


def routes() -> set[str]:
    app = create_app(Settings(database_url="sqlite://"), run_dispatcher=False)
    return set(app.openapi()["paths"])


def test_slash_command_and_interactivity_point_at_the_router() -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/runbook"
    commands_url = urlsplit(command["url"])
    interactions_url = urlsplit(MANIFEST["settings"]["interactivity"]["request_url"])
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert commands_url.scheme == interactions_url.scheme == "https"
    assert commands_url.netloc == interactions_url.netloc
    assert {commands_url.path, interactions_url.path} <= routes()


def test_bot_scopes_cover_what_the_router_calls() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # chat.postMessage / chat.update, /runbook, users.info with the email for PagerDuty acks
    assert {"chat:write", "commands", "users:read", "users:read.email"} <= scopes
    assert "chat:write.public" in scopes  # routes name channels the bot was never invited to
    # Declare incident: conversations.create, conversations.setTopic, conversations.invite
    assert "channels:manage" in scopes


def test_events_point_at_the_router_and_ask_for_reactions() -> None:
    events = MANIFEST["settings"]["event_subscriptions"]
    assert urlsplit(events["request_url"]).path in routes()
    assert events["bot_events"] == ["reaction_added"]
    assert "reactions:read" in MANIFEST["oauth_config"]["scopes"]["bot"]


def test_scopes_cover_silencing_from_slack() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert "users:read" in scopes  # users.info: a silence's author is the user's real name
    assert "usergroups:read" in scopes  # silence.allow may name user groups
    # views.open needs no scope; the modal's view_submission comes to the interactivity URL.
    assert urlsplit(MANIFEST["settings"]["interactivity"]["request_url"]).path in routes()


SOCKET_MODE: dict[str, Any] = yaml.safe_load(
    (ROOT / "deploy/slack-app-manifest-socket-mode.yaml").read_text()
)


def test_the_socket_mode_variant_has_no_request_urls() -> None:
    """Slack reaches a router without a public address over the socket it opens."""
    assert SOCKET_MODE["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is False
    assert "url" not in SOCKET_MODE["features"]["slash_commands"][0]
    assert "request_url" not in SOCKET_MODE["settings"]["interactivity"]
    assert "request_url" not in SOCKET_MODE["settings"]["event_subscriptions"]
    assert SOCKET_MODE["settings"]["interactivity"]["is_enabled"] is True
    assert "https://" not in (ROOT / "deploy/slack-app-manifest-socket-mode.yaml").read_text()


def test_the_socket_mode_variant_asks_for_what_the_http_one_does() -> None:
    """Only where Slack sends differs: the same command, scopes and events."""
    http_command = {
        k: v for k, v in MANIFEST["features"]["slash_commands"][0].items() if k != "url"
    }
    assert SOCKET_MODE["features"]["slash_commands"] == [http_command]
    assert SOCKET_MODE["oauth_config"] == MANIFEST["oauth_config"]
    events = SOCKET_MODE["settings"]["event_subscriptions"]["bot_events"]
    assert events == MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert SOCKET_MODE["display_information"] == MANIFEST["display_information"]
