"""One golden Slack message per source, from a golden payload through decide, store and render.

Each shows what an on-call engineer needs first: the summary, the alert's own
description, the labels that say which thing it is about, and the source's
links as buttons, next to the runbook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.decide import Ruleset
from router.render.message import MessageRenderer
from router.sources import SOURCES
from router.store import Store
from tests.fakes.clock import FakeClock
from tests.helpers import GOLDEN, check_golden

PAYLOADS = {
    "alertmanager": "alertmanager/firing-single.json",
    "grafana": "grafana/firing-single.json",
    "datadog": "datadog/default-p1-triggered.json",
    "pagerduty": "pagerduty/incident-triggered.json",
    "sentry": "sentry/metric-critical.json",
}


def rendered(source: str, ruleset: Ruleset, tmp_path: Path) -> dict[str, object]:
    data = json.loads((GOLDEN / "sources" / PAYLOADS[source]).read_text(encoding="utf-8"))
    alerts = SOURCES[source].parse(data)
    clock = FakeClock()
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    store.ingest([(a, ruleset.decide(a)) for a in alerts])
    (entry,) = [e for e in store.claim("test", lease_seconds=30).items if e.kind == "slack_message"]
    view = store.load_message(entry.ref)
    store.engine.dispose()
    assert view is not None
    data_ = ruleset.config.data
    renderer = MessageRenderer(
        ruleset.catalog,
        data_.severity.levels,
        data_.defaults.stale_after_days,
        identity_labels=data_.defaults.identity_labels,
    )
    out = renderer.render(view, clock.now())
    return {"text": out.text, "blocks": out.blocks}


@pytest.mark.parametrize("source", sorted(PAYLOADS))
def test_message_for_each_source(source: str, ruleset: Ruleset, tmp_path: Path) -> None:
    message = rendered(source, ruleset, tmp_path)
    golden = GOLDEN / "slack" / f"source-{source}.json"
    check_golden(golden, json.dumps(message, indent=2, ensure_ascii=False) + "\n")


def test_grafana_message_has_description_labels_value_and_links(
    ruleset: Ruleset, tmp_path: Path
) -> None:
    blocks = json.dumps(rendered("grafana", ruleset, tmp_path)["blocks"], ensure_ascii=False)
    assert "p99 of checkout_request_duration_seconds has been above 1s" in blocks
    assert "service=checkout, env=prod" in blocks
    assert "Value: `[ var='A'" in blocks
    for label in ("Alert rule", "Dashboard", "Panel", "Silence"):
        assert f'"text": "{label}"' in blocks
    assert "&amp;" not in blocks.split('"url"')[-1]  # button URLs are plain, not mrkdwn


def test_datadog_markdown_becomes_slack_formatting(ruleset: Ruleset, tmp_path: Path) -> None:
    blocks = json.dumps(rendered("datadog", ruleset, tmp_path)["blocks"], ensure_ascii=False)
    assert "<https://runbooks.example.com/RUN-007|RUN-007>" in blocks
    assert "%%%" not in blocks
    assert "**" not in blocks
    assert '"text": "Datadog monitor"' in blocks


def test_pagerduty_message_does_not_repeat_its_title(ruleset: Ruleset, tmp_path: Path) -> None:
    blocks = rendered("pagerduty", ruleset, tmp_path)["blocks"]
    assert isinstance(blocks, list)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert not any("Checkout API error rate above 5%" in t for t in texts)


@pytest.mark.parametrize(
    ("source", "firing", "resolved", "lasted"),
    [
        ("datadog", "default-p1-triggered", "default-p1-recovered", "18m"),
        ("grafana", "firing-single", "resolved", "18m"),
    ],
)
def test_resolved_reply_says_how_long_it_lasted_by_the_sources_clock(
    source: str, firing: str, resolved: str, lasted: str, ruleset: Ruleset, tmp_path: Path
) -> None:
    clock = FakeClock()
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    for name in (firing, resolved):
        data = json.loads((GOLDEN / "sources" / source / f"{name}.json").read_text("utf-8"))
        alerts = SOURCES[source].parse(data)
        store.ingest([(a, ruleset.decide(a)) for a in alerts])
        clock.advance(8 * 3600)  # each arrives hours after the source's own times
    (entry,) = [e for e in store.claim("test", lease_seconds=30).items if e.kind == "slack_message"]
    view = store.load_message(entry.ref)
    store.engine.dispose()
    assert view is not None
    assert not view.firing
    data_ = ruleset.config.data
    renderer = MessageRenderer(ruleset.catalog, data_.severity.levels, 90)
    assert f"cleared after {lasted}." in renderer.render_resolved_reply(view, clock.now()).text
