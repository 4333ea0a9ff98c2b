"""What many test modules share: the tests' paths, routes and runbooks, app settings for
tests, credentials, a body, alerts, the store's view, polling, golden files.

Import from here (or tests/fakes/), not from a conftest.py or another test module (a test
file imported for its helpers also brings its tests along).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from router.alert import Alert
from router.app import create_app
from router.clock import Clock
from router.decide import Ruleset
from router.notifiers import Notifier
from router.notifiers.pagerduty import PagerDuty
from router.runtime import Runtime
from router.settings import Settings
from tests.fakes.clock import FakeClock

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROUTES = FIXTURES / "config/routes.yaml"
"""The tests' own routes and runbooks: the shipped examples can change freely."""
RUNBOOKS = FIXTURES / "config/runbooks"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

TOKEN = "am-token-0123456789"
BODY = (GOLDEN / "sources/alertmanager/firing-single.json").read_bytes()
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
ADMIN_TOKEN = "admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    """The example routes and runbooks, SQLite in ``tmp_path``, test credentials."""
    values: dict[str, Any] = {
        "config": str(ROUTES),
        "runbooks": str(RUNBOOKS),
        "database_url": f"sqlite:///{tmp_path}/router.db",
        "alertmanager_token": TOKEN,
        "admin_token": ADMIN_TOKEN,
        "max_body_bytes": 1_000_000,
        # Golden payloads carry the dates they were written on (tests/test_replay.py
        # tests the window itself).
        "replay_window": 10 * 365 * 86400.0,
    }
    return Settings(**(values | overrides))


class AppClients:
    """The one way tests start the app: ``create_app`` in a ``TestClient`` (its lifespan run),
    stopped when ``stack`` closes, as Starlette's ``test_client_factory``. The ``app_client``
    fixture is one for the test's ``tmp_path``; a module-scoped fixture makes its own.

    Keywords not named here are settings (``settings``' overrides), unless the settings are
    given whole; the rest are create_app's and TestClient's, with their defaults."""

    def __init__(self, tmp_path: Path, stack: ExitStack) -> None:
        self.tmp_path = tmp_path
        self.stack = stack

    def __call__(
        self,
        app_settings: Settings | None = None,
        /,
        *,
        run_dispatcher: bool = True,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        ruleset: Ruleset | None = None,
        pagerduty: PagerDuty | None = None,
        alertmanager_transport: httpx.BaseTransport | None = None,
        raise_server_exceptions: bool = True,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        **overrides: Any,
    ) -> TestClient:
        assert app_settings is None or not overrides, "settings whole, or overrides: not both"
        app = create_app(
            app_settings or settings(self.tmp_path, **overrides),
            run_dispatcher=run_dispatcher,
            clock=clock,
            notifier=notifier,
            ruleset=ruleset,
            pagerduty=pagerduty,
            alertmanager_transport=alertmanager_transport,
        )
        test_client = TestClient(
            app,
            raise_server_exceptions=raise_server_exceptions,
            follow_redirects=follow_redirects,
            client=client,
        )
        return self.stack.enter_context(test_client)


def runtime(client: TestClient) -> Runtime:
    """The running app's runtime (its store, dispatcher, ruleset)."""
    app = client.app
    assert isinstance(app, FastAPI)
    rt: Runtime = app.state.runtime
    return rt


def stored(client: TestClient) -> list[dict[str, Any]]:
    """The alerts the router stored, newest first, as /alerts gives them."""
    response = client.get(
        "/alerts", params={"state": "all"}, headers={"Accept": "application/json"}
    )
    alerts: list[dict[str, Any]] = response.json()["alerts"]
    return alerts


def metric(client: TestClient, name: str) -> float:
    """One unlabelled series from /metrics."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name)


def payloads(source: str) -> list[Path]:
    """A source's golden payloads (each beside its ``.expected.json``)."""
    folder = GOLDEN / "sources" / source
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json"))


PHONE_BLOCKS = 12
PHONE_CHARACTERS = 2000
"""The design's first phone screen: at most this many blocks and visible characters."""
_LINK = re.compile(r"<(?:[^<>|]*)\|([^<>]*)>")
_MENTION = re.compile(r"<[@#!][^<>]*>")
_FORMATTING = re.compile(r"```|[*_`]")


def visible_text(blocks: list[dict[str, Any]]) -> str:
    """What a reader sees of Block Kit: texts, fields and button labels, with links and
    dates shown as their labels, mentions as a short name, and no formatting marks."""
    texts: list[str] = []
    for block in blocks:
        if text := block.get("text"):
            texts.append(text["text"])
        texts += [f["text"] for f in block.get("fields", [])]
        texts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
        texts += [e["text"]["text"] for e in block.get("elements", []) if e.get("type") == "button"]
    shown = "\n".join(texts)
    shown = _LINK.sub(r"\1", shown)
    shown = _MENTION.sub("@someone", shown)
    shown = _FORMATTING.sub("", shown)
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def postmortem_routes(folder: Path) -> str:
    """The test routes with SEV1 asking for a postmortem draft, and storms off."""
    data = yaml.safe_load(ROUTES.read_text())
    data["severity"]["levels"]["SEV1"]["postmortem"] = True
    data["severity"].pop("storm", None)
    path = folder / "routes-postmortem.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def top_level_block(text: str, key: str) -> str | None:
    """The lines under a top-level key of a YAML file, as written (without the key's line)."""
    found: list[str] | None = None
    for line in text.splitlines():
        if found is None:
            if re.fullmatch(rf"(?P<q>[\"']?){key}(?P=q):\s*(#.*)?", line):
                found = []
        elif line and not line[0].isspace() and not line.startswith(("#", "-")):
            break  # the next top-level key (a "- " at column 0 is the block's own list)
        else:
            found.append(line)
    return "\n".join(found) if found is not None else None


def paste_route(body: str) -> str:
    """An Alertmanager route (its mapping's lines, as written) as the one route of a
    routes.yaml ``routes:`` list: the same lines, only indented under ``- ``."""
    lines = body.splitlines()
    indent = min(
        len(line) - len(line.lstrip())
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    )
    out, first = [], True
    for line in lines:
        if not line.strip():
            out.append("")
            continue
        rest = line[indent:] if not line[:indent].strip() else line.lstrip()
        if first and not rest.startswith("#"):
            out.append("  - " + rest)
            first = False
        else:
            out.append("    " + rest)
    return "routes:\n" + "\n".join(out)


def receiver_names(route: dict[str, Any]) -> set[str]:
    """Every receiver an Alertmanager route tree names."""
    names = {route["receiver"]} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        names |= receiver_names(child)
    return names


def routes_from_alertmanager(text: str) -> str:
    """routes.yaml with an alertmanager.yml's route tree and time intervals pasted in as
    written, each receiver posting to a channel of its own name (``#<receiver>``)."""
    am = yaml.safe_load(text)
    names = {r["name"] for r in am.get("receivers") or []} | receiver_names(am["route"])
    parts = ["receivers:"] + [f"  {json.dumps(n)}: {json.dumps('#' + n)}" for n in sorted(names)]
    route = top_level_block(text, "route")
    assert route is not None, "an alertmanager.yml has a route"
    parts.append(paste_route(route))
    for key in ("time_intervals", "mute_time_intervals"):
        block = top_level_block(text, key)
        if block is not None:
            parts.append(f"{key}:\n{block}")
    return "\n".join(parts) + "\n"


def require_binary(name: str) -> str:
    """The path of a real component, or skip; with ROUTER_E2E=require, fail instead."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (apt-get install it, as .ci/run does)"
        if os.environ.get("ROUTER_E2E") == "require":
            pytest.fail(message)
        pytest.skip(message)
    return path


def check_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} is missing; run with UPDATE_GOLDEN=1 and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path}"


def make_alert(
    name: str = "DatabaseConnectionPoolHigh",
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    group_key: str = "group-1",
    source: str = "alertmanager",
    starts_at: str = "2026-11-22T01:00:00Z",
    ends_at: str | None = None,
    summary: str = "",
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> Alert:
    labels = {"alertname": name, **labels}
    return Alert(
        source=source,
        status=status,
        name=name,
        fingerprint=fingerprint or f"fp-{name}-{sorted(labels.items())}",
        group_key=group_key,
        labels=labels,
        annotations=annotations or {},
        starts_at=datetime.fromisoformat(starts_at),
        ends_at=datetime.fromisoformat(ends_at) if ends_at else None,
        source_severity=labels.get("severity"),
        summary=summary,
    )


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Poll until ``check`` holds; never a fixed sleep. ``meanwhile`` runs between looks
    (``time_passes``: the app's fake clock moves on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if meanwhile is not None:
            meanwhile()
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def time_passes(
    client: TestClient, clock: FakeClock, step: float = 1.0, until: float | None = None
) -> Callable[[], None]:
    """For ``wait_for(..., meanwhile=)``: each look moves the app's fake clock ``step``
    seconds on (never past ``until``) and wakes its dispatcher, so a backoff of seconds (or
    Slack's pace of a message a second per channel) passes in milliseconds, in order."""
    dispatcher = runtime(client).dispatcher

    def tick() -> None:
        clock.advance(step if until is None else max(0.0, min(step, until - clock.now())))
        portal = client.portal
        assert portal is not None, "the client is not started"
        portal.call(dispatcher.wake)  # in the app's loop, as a webhook wakes it

    return tick


def sharded_routes(folder: Path, shards: int, channel: str = "#shard") -> str:
    """One route and channel per value of a ``shard`` label: load spread over channels,
    so Slack's pace of a message a second per channel is not the only limit."""
    lines = ["defaults: {channel: '#alerts'}", "routes:"]
    lines += [
        f"  - {{name: shard-{s}, matchers: ['shard=\"{s}\"'], channel: '{channel}-{s}'}}"
        for s in range(shards)
    ]
    path = folder / f"routes-{shards}-shards.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def routes_without_storm(folder: Path) -> str:
    """The example routes with storms off: for tests of per-message delivery at volume."""
    data = yaml.safe_load((ROUTES).read_text())
    data["severity"].pop("storm", None)
    path = folder / "routes-no-storm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)
