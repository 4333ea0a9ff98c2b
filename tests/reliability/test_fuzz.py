"""Property-based fuzzing (hypothesis): odd input never breaks the router."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.config import LEVEL_NAMES
from router.decide import Ruleset
from router.records import NO_RUNBOOK
from router.render.message import MessageRenderer
from router.render.mrkdwn import MAX_BLOCKS, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from router.store import Member, MessageView
from tests.helpers import ADMIN, AppClients
from tests.helpers import settings as app_settings

TOKEN = "fuzz-token"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
TEXT = st.text(max_size=300)
LABELS = st.dictionaries(st.text(min_size=1, max_size=20), TEXT, max_size=6)


def am_shaped() -> st.SearchStrategy[dict[str, Any]]:
    """Mostly the right shape, any content: reaches deeper than random JSON."""
    alert = st.fixed_dictionaries(
        {"labels": LABELS, "annotations": LABELS},
        optional={
            "status": st.sampled_from(["firing", "resolved", "x"]),
            "fingerprint": TEXT,
            "startsAt": TEXT,
        },
    )
    return st.fixed_dictionaries(
        {"alerts": st.lists(alert, max_size=3)},
        optional={"version": st.sampled_from(["4", "3", 4]), "groupKey": TEXT, "status": TEXT},
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("fuzz")
    s = app_settings(
        tmp,
        alertmanager_token=TOKEN,
        pagerduty_webhook_secrets="s",
        datadog_webhook_secret=TOKEN,
    )
    with ExitStack() as stack:
        yield AppClients(tmp, stack)(s, run_dispatcher=False, raise_server_exceptions=False)


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=JSON_VALUES | am_shaped())
def test_alertmanager_never_5xx(client: TestClient, body: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    response = client.post("/webhooks/alertmanager", content=json.dumps(body), headers=headers)
    assert response.status_code in (202, 400, 413, 422), response.text[:300]


@FUZZ
@given(body=JSON_VALUES)
def test_datadog_and_explain_never_5xx(client: TestClient, body: Any) -> None:
    raw = json.dumps(body)
    dd = client.post(
        "/webhooks/datadog",
        content=raw,
        headers={"X-Router-Secret": TOKEN, "Content-Type": "application/json"},
    )
    assert dd.status_code in (202, 400, 422), dd.text[:300]
    explain = client.post("/api/route?source=pagerduty", content=raw, headers=ADMIN)
    assert explain.status_code in (200, 400, 422), explain.text[:300]


MENTION_OR_LINK = re.compile(r"<[!@#]|<(https?|mailto):")


@pytest.fixture(scope="module")
def renderer(ruleset: Ruleset) -> MessageRenderer:
    data = ruleset.config.data
    return MessageRenderer(
        ruleset.catalog, data.severity.levels, data.defaults.stale_after_days, pagerduty_ack=True
    )


@FUZZ
@given(
    name=TEXT,
    summary=TEXT,
    labels=LABELS,
    route=TEXT,
    level=st.sampled_from(LEVEL_NAMES),
    n=st.integers(1, 40),
)
def test_any_text_renders_inert_and_within_limits(
    renderer: MessageRenderer,
    name: str,
    summary: str,
    labels: dict[str, str],
    route: str,
    level: str,
    n: int,
) -> None:
    members = [
        Member(
            fingerprint=str(i),
            name=name,
            status="firing" if i % 3 else "resolved",
            level=level,
            reason=summary,
            labels=labels | {"i": str(i)},
            annotations={},
            summary=summary,
            url=summary,
            starts_at=1_795_000_000.0,
            ends_at=None,
            pagerduty_incident=name or None,
        )
        for i in range(n)
    ]
    view = MessageView(
        id=1, source="alertmanager", group_key="g", channel="#c", route=route, runbook=NO_RUNBOOK, level=level, version=1, closed=False,
        created_at=1_795_000_000.0, resolved_at=None, resolve_notified=False, slack_channel=None,
        slack_ts=None, members=members,
    )  # fmt: skip
    rendered = renderer.render(view, 1_795_000_100.0)
    assert len(rendered.blocks) <= MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
    everything = json.dumps(rendered.blocks) + rendered.text
    mention = renderer.levels[level].mention or "\x00"
    scrubbed = re.sub(r"<!date\^\d+\^[^|>]*\|[^>]*>", "", everything.replace(mention, ""))
    assert not MENTION_OR_LINK.search(scrubbed)


def test_hypothesis_is_really_running(tmp_path: Path) -> None:
    seen: list[int] = []

    @settings(max_examples=20, deadline=None)
    @given(st.integers())
    def probe(x: int) -> None:
        seen.append(x)

    probe()
    assert len(seen) == 20
