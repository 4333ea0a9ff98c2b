"""The pages in a real browser: Playwright driving Debian's headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, require_binary
from tests.e2e.conftest import RouterProcess, http

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TOKEN = "browser-token"


def require_playwright() -> None:
    if importlib.util.find_spec("playwright") is None:
        message = "playwright not installed (pip install -e '.[dev]')"
        if os.environ.get("ROUTER_E2E") == "require":
            pytest.fail(message)
        pytest.skip(message)


def test_runbooks_search_copy_and_alerts(
    tmp_path: Path, start_router: Callable[..., RouterProcess]
) -> None:
    chromium = require_binary("chromium")
    require_playwright()
    from playwright.sync_api import expect, sync_playwright

    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    body = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text())
    assert (
        http(
            "POST",
            f"{router.url}/webhooks/alertmanager",
            body,
            {"Authorization": f"Bearer {TOKEN}"},
        )[0]
        == 202
    )
    shots = tmp_path / "screenshots"
    shots.mkdir()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=router.url)
        page = context.new_page()

        page.goto(f"{router.url}/runbooks")
        expect(page.locator("h2").first).to_have_text("Incident")
        page.screenshot(path=shots / "1-runbooks.png", full_page=True)

        page.fill("input[name=q]", "conection pool")
        page.press("input[name=q]", "Enter")
        page.wait_for_url("**/runbooks?q=conection+pool")
        first = page.locator("ul.entries li a").first
        expect(first).to_have_text("RUN-001: Database Connection Pool Exhaustion")
        page.screenshot(path=shots / "2-search.png", full_page=True)

        first.click()
        page.wait_for_url("**/runbooks/RUN-001")
        expect(page.locator("h1")).to_have_text("RUN-001: Database Connection Pool Exhaustion")
        copy = page.locator("button.copy").first
        copy.click()
        expect(copy).to_have_text("Copied")
        clipboard = page.evaluate("navigator.clipboard.readText()")
        assert clipboard.startswith('psql "$PROD_DB_URL" -c "SELECT usename')
        page.screenshot(path=shots / "3-entry.png", full_page=True)

        page.goto(f"{router.url}/alerts")
        row = page.locator("tbody tr").first
        expect(row).to_contain_text("DatabaseConnectionPoolHigh")
        expect(row).to_contain_text("SEV1")
        page.screenshot(path=shots / "4-alerts.png", full_page=True)
        row.locator("a").first.click()
        expect(page.locator("h2").last).to_have_text("Payload as received")
        expect(page.locator("pre").last).to_contain_text('"fingerprint": "b1c6f0a3d2e9f874"')
        page.screenshot(path=shots / "5-alert.png", full_page=True)
        browser.close()

    assert sorted(p.name for p in shots.iterdir()) == [
        "1-runbooks.png",
        "2-search.png",
        "3-entry.png",
        "4-alerts.png",
        "5-alert.png",
    ]
