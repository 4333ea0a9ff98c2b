"""The pages in a real browser: Playwright driving Debian's headless Chromium."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import GOLDEN, ROOT, postmortem_routes, require_binary, wait_for

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


SIGNING_SECRET = "browser-signing-secret"
JANE = "U01JANE"


def _am(name: str, minutes_ago: int, status: str = "firing", **labels: str) -> dict[str, Any]:
    began = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    alert: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": SUMMARIES.get(name, f"{name} on {labels}")},
        "startsAt": began.isoformat(),
    }
    if status == "resolved":
        alert["endsAt"] = (began + timedelta(minutes=7)).isoformat()
    return alert


SUMMARIES = {
    "DatabaseConnectionPoolHigh": "Connection pool of orders-db at 96% for 5 minutes",
    "HighErrorRate": "5xx rate of checkout above 5% (7.2%)",
    "KubePersistentVolumeInodesFillingUp": "Volume data-kafka-2 has 9% of its inodes left",
    "KubePodCrashLooping": "Pod jobs/worker-7f9c restarted 6 times in 10 minutes",
    "QueueDepthHigh": "emails queue above 10k messages",
}
ALERTS = [
    _am("DatabaseConnectionPoolHigh", 25, env="prod", severity="critical",
        cluster="eu-1", instance="orders-db-1:9187"),
    _am("HighErrorRate", 12, service="checkout", namespace="shop", severity="critical"),
    _am("KubePersistentVolumeInodesFillingUp", 48, namespace="kafka", severity="warning",
        persistentvolumeclaim="data-kafka-2"),
    _am("KubePodCrashLooping", 6, namespace="jobs", pod="worker-7f9c", container="worker",
        severity="warning"),
    _am("QueueDepthHigh", 90, "resolved", queue="emails", severity="warning"),
]  # fmt: skip
FIRING_NOW = {a["labels"]["alertname"] for a in ALERTS if a["status"] == "firing"}


def _signed_event(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": event}).encode()
    at = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=at, body=body)
    assert signature is not None
    headers = {"X-Slack-Request-Timestamp": at, "X-Slack-Signature": signature}
    return body, headers | {"Content-Type": "application/json"}


def test_alerts_firing_now_filters_and_links(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    """/alerts in a phone's browser: firing now by default, a filter, names, nothing
    fetched from beyond 127.0.0.1."""
    chromium = require_binary("chromium")
    require_playwright()
    from playwright.sync_api import Request, expect, sync_playwright

    fake_slack.names = {JANE: "Jane Doe"}
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN,
        ROUTER_CONFIG=postmortem_routes(tmp_path),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    for n, alert in enumerate(ALERTS):  # one group each: a message each
        body = {"version": "4", "groupKey": f"g{n}", "status": alert["status"], "alerts": [alert]}
        status, _ = http(
            "POST",
            f"{router.url}/webhooks/alertmanager",
            body,
            {"Authorization": f"Bearer {TOKEN}"},
        )
        assert status == 202
    router.settled()
    (db,) = fake_slack.posts("#db-oncall")
    reaction = {"type": "reaction_added", "user": JANE, "reaction": "eyes",
                "item": {"type": "message", "channel": db.channel, "ts": db.ts}}  # fmt: skip
    request = urllib.request.Request(f"{router.url}/slack/events", *_signed_event(reaction))
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    wait_for(lambda: bool(db.edits), 20, "the acknowledged edit")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone

        def record(request: Request) -> None:
            requested.append(request.url)

        context.on("request", record)
        page = context.new_page()

        page.goto(f"{router.url}/alerts")
        expect(page.locator("h1")).to_contain_text("Firing now")
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(len(FIRING_NOW))
        shown = {rows.nth(i).locator("a.name").inner_text() for i in range(len(FIRING_NOW))}
        assert shown == FIRING_NOW  # the resolved one is not among them
        db_row = rows.filter(has_text="DatabaseConnectionPoolHigh")
        expect(db_row).to_contain_text("acknowledged by Jane Doe")
        slack_link = (
            f"https://fake-workspace.slack.com/archives/{db.channel}/p{db.ts.replace('.', '')}"
        )
        expect(db_row.locator("a", has_text="Slack")).to_have_attribute("href", slack_link)
        expect(db_row.locator("a", has_text="Postmortem")).to_be_visible()
        # Names never break inside a word; the longest still fits the phone's width.
        for i in range(len(FIRING_NOW)):
            name = rows.nth(i).locator("a.name")
            assert name.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
            assert name.evaluate("e => getComputedStyle(e).overflowWrap") == "normal"
            box, row_box = name.bounding_box(), rows.nth(i).bounding_box()
            assert box is not None
            assert row_box is not None
            assert box["x"] + box["width"] <= row_box["x"] + row_box["width"]
        phone = shots / "alerts-phone.png"
        page.screenshot(path=phone, full_page=True)

        page.select_option("select[name=level]", "SEV3")
        page.locator("form.filters button").click()
        page.wait_for_url("**/alerts?state=firing&q=&level=SEV3**")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("SEV3")
        expect(page.locator("tbody")).not_to_contain_text("DatabaseConnectionPoolHigh")

        page.set_viewport_size({"width": 1280, "height": 720})  # a laptop
        page.goto(f"{router.url}/alerts")
        expect(rows).to_have_count(len(FIRING_NOW))
        laptop = shots / "alerts.png"
        page.screenshot(path=laptop, full_page=True)
        colours = {
            shot.name: page.evaluate(COUNT_COLOURS, base64.b64encode(shot.read_bytes()).decode())
            for shot in (phone, laptop)
        }
        browser.close()

    assert requested, "the browser asked for nothing"
    assert {urlsplit(u).hostname for u in requested} == {"127.0.0.1"}, requested
    assert all(n > 16 for n in colours.values()), colours  # text and colour, not a white page


def test_the_readme_example_message_as_the_alert_page_shows_it(
    tmp_path: Path, start_router: Callable[..., RouterProcess]
) -> None:
    """The README's picture: the shipped routes and runbooks, the README's example
    webhook, the message drawn on its alert page at a phone's width. UPDATE_GOLDEN=1
    writes it to docs/images/message.png."""
    chromium = require_binary("chromium")
    require_playwright()
    from playwright.sync_api import expect, sync_playwright

    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN,
        ROUTER_CONFIG=str(ROOT / "routes.yaml"),
        ROUTER_RUNBOOKS=str(ROOT / "runbooks"),
    )
    body = json.loads((ROOT / "examples/alertmanager-firing.json").read_text())
    status, _ = http(
        "POST", f"{router.url}/webhooks/alertmanager", body, {"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 202
    status, answer = http(
        "GET", f"{router.url}/alerts?state=all", headers={"Accept": "application/json"}
    )
    assert status == 200
    first = min(a["id"] for a in answer["alerts"])
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 430, "height": 900})  # a phone
        context.on("request", lambda r: requested.append(r.url))
        page = context.new_page()
        page.goto(f"{router.url}/alerts/{first}")
        message = page.locator("#message")
        expect(message.locator(".bk-header")).to_have_text("🔴 SEV1 · DatabaseConnectionPoolHigh")
        expect(message).to_contain_text("pod=pgbouncer-1")
        expect(message).to_contain_text("93% used")
        expect(message.locator("pre")).to_contain_text("exec pgbouncer-1 -- psql")
        shot = tmp_path / "message.png"
        message.screenshot(path=shot)
        colours = page.evaluate(COUNT_COLOURS, base64.b64encode(shot.read_bytes()).decode())
        browser.close()
    assert colours > 16
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in requested), requested
    if os.environ.get("UPDATE_GOLDEN"):
        (ROOT / "docs/images/message.png").write_bytes(shot.read_bytes())
    assert (ROOT / "docs/images/message.png").exists()
