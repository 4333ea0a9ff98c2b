"""deploy/slack-app-manifest.yaml creates the app the router's endpoints expect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from router.app import create_app
from router.settings import Settings
from tests.conftest import ROOT

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
