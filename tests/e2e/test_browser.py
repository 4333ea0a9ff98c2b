"""The pages in a real browser: Playwright driving Debian's headless Chromium."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

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


READ_TOKEN = "docs-read-token"
# Paints a screenshot on a canvas and counts its colours: 1 is a blank page.
COUNT_COLOURS = """async (png) => {
    const image = new Image();
    image.src = "data:image/png;base64," + png;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < pixels.length; i += 4) {
        colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    }
    return colours.size;
}"""


def test_api_docs_render_with_no_way_out(
    tmp_path: Path, start_router: Callable[..., RouterProcess]
) -> None:
    """/docs and /redoc in an air-gapped cluster: every file from the router itself."""
    chromium = require_binary("chromium")
    require_playwright()
    from playwright.sync_api import Route, expect, sync_playwright

    router = start_router(ROUTER_READ_TOKEN=READ_TOKEN)
    own = urlsplit(router.url).netloc
    outside: list[str] = []
    served: list[str] = []

    def only_the_router(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own:
            served.append(urlsplit(url).path)
            route.continue_()
        else:
            outside.append(url)
            route.abort("internetdisconnected")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", only_the_router)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        refused: list[str] = []
        page.expose_function("refused", lambda uri: refused.append(uri))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => refused(e.blockedURI))"
        )

        # The docs are read surfaces, as before: a browser signs in first, and the
        # page's scripts and styles come with the session.
        page.goto(f"{router.url}/docs")
        page.wait_for_url("**/login?next=%2Fdocs")
        page.fill("input[name=token]", READ_TOKEN)
        page.press("input[name=token]", "Enter")
        page.wait_for_url("**/docs")
        swagger = page.locator(".opblock-summary-path")
        expect(swagger.filter(has_text="/webhooks/{source_name}")).to_be_visible()
        expect(swagger.filter(has_text="/slack/commands")).to_be_visible()
        page.screenshot(path=tmp_path / "docs.png")

        page.goto(f"{router.url}/redoc")
        expect(page.locator("h1").first).to_contain_text("runbook-router")
        expect(page.get_by_role("menuitem").filter(has_text="Webhook")).to_be_visible()
        expect(page.get_by_text("/slack/commands").first).to_be_attached()
        page.screenshot(path=tmp_path / "redoc.png")

        colours = {}
        for name in ("docs.png", "redoc.png"):
            png = base64.b64encode((tmp_path / name).read_bytes()).decode()
            colours[name] = page.evaluate(COUNT_COLOURS, png)
        browser.close()

    assert outside == []  # nothing left the browser
    # What the bundles ask of elsewhere the pages' policy refuses before any request is
    # made (ReDoc's Redocly logo, which then hides itself); nothing of the router's own.
    assert all(urlsplit(uri).netloc not in ("", own) for uri in refused), refused
    assert [e for e in errors if not any(uri in e for uri in refused)] == []
    assert {
        "/docs/static/swagger-ui-bundle.js",
        "/docs/static/swagger-ui.css",
        "/docs/static/redoc.standalone.js",
        "/openapi.json",
    } <= set(served)
    assert all(n > 16 for n in colours.values()), colours  # text and colour, not a white page
