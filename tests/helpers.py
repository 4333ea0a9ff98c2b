"""What many test modules share: app settings for tests, credentials, a body, the store's view.

Import from here, not from another test module (a test file imported for its
helpers also brings its tests along).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from router.settings import Settings
from tests.conftest import GOLDEN, ROUTES, RUNBOOKS

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
