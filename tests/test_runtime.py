"""What the running service says at start, and the address its own links use."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from router.app import build_runtime
from router.runtime import log_surfaces, start_line
from tests.helpers import ROUTES, settings

CREDENTIALS = {
    "alertmanager": "ALERTMANAGER_TOKEN",
    "grafana": "GRAFANA_TOKEN",
    "pagerduty": "PAGERDUTY_WEBHOOK_SECRETS",
    "datadog": "DATADOG_WEBHOOK_SECRET",
    "sentry": "SENTRY_CLIENT_SECRET",
}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_each_unset_credential_is_a_warning_naming_it_and_what_follows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rt, _ = build_runtime(settings(tmp_path, alertmanager_token=None))
    with caplog.at_level(logging.WARNING, logger="router"):
        log_surfaces(rt.settings, rt.ruleset)
    said = _warnings(caplog)
    for source, variable in CREDENTIALS.items():
        assert (
            f"{variable} is not set: every /webhooks/{source} request will be refused with 401 "
            f"(set it, or auth: {{{source}: none}} in {ROUTES})"
        ) in said
    rt.store.engine.dispose()


def test_no_warning_for_a_set_credential_or_auth_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.read_text().replace("auth: {}", "auth: {grafana: none}"))
    rt, _ = build_runtime(
        settings(tmp_path, config=str(routes), datadog_webhook_secret="dd-secret-value")
    )
    with caplog.at_level(logging.WARNING, logger="router"):
        log_surfaces(rt.settings, rt.ruleset)
    unset = {line.split()[0] for line in _warnings(caplog) if "is not set: every" in line}
    assert unset == {"PAGERDUTY_WEBHOOK_SECRETS", "SENTRY_CLIENT_SECRET"}
    assert "auth: none for grafana: its webhooks are accepted without credentials" in (
        _warnings(caplog)
    )
    assert "dd-secret-value" not in caplog.text
    rt.store.engine.dispose()


def test_the_start_line_says_where_and_what_was_loaded(tmp_path: Path) -> None:
    listening = "http://127.0.0.1:9090"
    rt, _ = build_runtime(settings(tmp_path).serving("127.0.0.1", 9090))
    assert start_line(rt, listening) == (
        "runbook-router serving on http://127.0.0.1:9090 (routes: "
        f"{len(rt.ruleset.table.routes)}, runbooks: 14; SQLite {tmp_path}/router.db; "
        "Slack: log only)"
    )
    rt.store.engine.dispose()
    public = settings(tmp_path, public_url="https://router.example.com", slack_bot_token="xoxb-1")
    rt, _ = build_runtime(public.serving("0.0.0.0", 8080))
    assert start_line(rt, "http://0.0.0.0:8080").endswith(
        "Slack: posting); links point to https://router.example.com"
    )
    rt.store.engine.dispose()


def test_links_to_the_routers_own_pages_share_one_address(tmp_path: Path) -> None:
    """Runbook links, and the postmortem draft's, start with ROUTER_PUBLIC_URL."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES.read_text().replace(
            'runbook_url: "http://localhost:8080/runbooks/{id}"',
            'runbook_url: "{public_url}/runbooks/{id}"',
        )
    )
    public = settings(tmp_path, config=str(routes), public_url="https://ops.example.com/router/")
    rt, _ = build_runtime(public)
    assert rt.ruleset.runbook_url("RUN-001") == "https://ops.example.com/router/runbooks/RUN-001"
    assert rt.renderer().pages_url == "https://ops.example.com/router"
    rt.store.engine.dispose()
