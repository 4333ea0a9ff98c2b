"""What the running service says at start, and the address its own links use."""

from __future__ import annotations

from pathlib import Path

from router.app import build_runtime
from router.runtime import start_line
from tests.conftest import ROUTES
from tests.helpers import settings


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
