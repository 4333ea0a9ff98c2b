"""router/render/muted.py: silences, inhibitions and Show in Alertmanager on a message,
and the silence modal; each shape has its Block Kit golden."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from router.alertmanagers import Alertmanagers
from router.decide import Ruleset
from router.matchers import parse_matcher
from router.notifiers.alertmanager import AlertmanagerAPI
from router.records import NO_RUNBOOK
from router.render.message import MessageRenderer
from router.render.muted import alertmanager_url, matcher_lines, muted_line, silence_buttons
from router.slackapp import silence_modal
from router.store import Member, MessageView, SilenceView
from tests.helpers import GOLDEN, check_golden

NOW = 1_795_320_000.0
EXTERNAL = "https://alertmanager.example.com"


def member(pod: str, *, silenced: tuple[str, ...] = (), inhibited: tuple[str, ...] = ()) -> Member:
    return Member(
        fingerprint=f"fp-{pod}",
        name="DiskWillFillSoon",
        status="firing",
        level="SEV3",
        reason="severity warning",
        labels={"alertname": "DiskWillFillSoon", "namespace": "prod", "pod": pod},
        annotations={},
        summary="Disk will fill within 4h",
        url=EXTERNAL,
        starts_at=NOW - 600,
        ends_at=None,
        links={"external": EXTERNAL},
        silenced_by=silenced,
        inhibited_by=inhibited,
    )


def silence(row: int, silence_id: str, *, slack_user: str | None = None, **kw: Any) -> SilenceView:
    values: dict[str, Any] = {
        "id": row,
        "alertmanager": "prod",
        "silence_id": silence_id,
        "message_id": 1 if slack_user else None,
        "matchers": ['alertname="DiskWillFillSoon"'],
        "created_by": "Jane Doe" if slack_user else "Ops Bot",
        "slack_user": slack_user,
        "comment": "resize <the> volume",
        "starts_at": NOW - 60,
        "ends_at": NOW + 7200,
        "state": "active",
    }
    return SilenceView(**(values | kw))


def view(members: list[Member], silences: list[SilenceView] = ()) -> MessageView:  # type: ignore[assignment]
    return MessageView(
        id=1,
        source="alertmanager",
        group_key="g",
        channel="#alerts",
        route=None,
        runbook=NO_RUNBOOK,
        level="SEV3",
        version=1,
        closed=False,
        created_at=NOW - 600,
        resolved_at=None,
        resolve_notified=False,
        slack_channel="C1",
        slack_ts="1.1",
        members=members,
        silences=list(silences),
    )


def renderer(ruleset: Ruleset) -> MessageRenderer:
    data = ruleset.config.data
    apis = Alertmanagers([AlertmanagerAPI("prod", ["http://am:9093"])])
    return MessageRenderer(
        ruleset.catalog, data.severity.levels, data.defaults.stale_after_days, alertmanagers=apis
    )


SHAPES = {
    "silenced-from-slack": lambda: view(
        [member("db-0", silenced=("s1",)), member("db-1", silenced=("s1",))],
        [silence(7, "s1", slack_user="U0JANE0001")],
    ),
    "silenced-and-inhibited": lambda: view(
        [member("db-0", silenced=("s2",)), member("db-1", inhibited=("NodeDown",)), member("db-2")],
        [silence(8, "s2")],
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_muted_message_matches_its_golden(ruleset: Ruleset, shape: str) -> None:
    rendered = renderer(ruleset).render(SHAPES[shape](), NOW)
    body = json.dumps(
        {"text": rendered.text, "blocks": rendered.blocks}, indent=2, ensure_ascii=False
    )
    check_golden(GOLDEN / f"slack/muted-{shape}.json", body + "\n")


def test_the_line_says_who_until_when_and_why_escaped() -> None:
    line = muted_line(SHAPES["silenced-and-inhibited"](), NOW)
    assert line is not None
    assert line.startswith("🔕 Silenced by Ops Bot until <!date^1795327200^")
    assert "(resize &lt;the&gt; volume)" in line
    assert line.endswith("⛔ Inhibited (1 of 3) by NodeDown")
    mine = muted_line(SHAPES["silenced-from-slack"](), NOW)
    assert mine is not None
    assert mine.startswith("🔕 Silenced by <@U0JANE0001> until")
    # An ended silence is not shown, whatever the store still says.
    ended = view([member("db-0", silenced=("s1",))], [silence(7, "s1", ends_at=NOW - 1)])
    assert muted_line(ended, NOW) == "🔕 1 silenced in Alertmanager"


def test_buttons_silence_what_is_not_and_extend_or_expire_what_is() -> None:
    partly = SHAPES["silenced-and-inhibited"]()
    assert [b.action_id for b in silence_buttons(partly, True, NOW)] == [
        "silence",
        "extend_silence",
        "expire_silence",
    ]
    assert silence_buttons(partly, True, NOW)[1].value == "1:8"
    assert silence_buttons(partly, False, NOW) == []  # no Alertmanager API for it
    everything = SHAPES["silenced-from-slack"]()
    assert [b.action_id for b in silence_buttons(everything, True, NOW)] == [
        "extend_silence",
        "expire_silence",
    ]


def test_show_in_alertmanager_filters_on_the_labels_the_group_shares() -> None:
    url = alertmanager_url(view([member("db-0"), member("db-1")]))
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == EXTERNAL
    query = parse_qs(parts.fragment.partition("?")[2])
    assert parts.fragment.startswith("/alerts?")
    assert unquote(query["filter"][0]) == '{alertname="DiskWillFillSoon",namespace="prod"}'
    grafana = replace(view([member("db-0")]), source="grafana")
    assert alertmanager_url(grafana) is None  # Grafana's UI is not Alertmanager's
    assert matcher_lines(view([member("db-0")])) == [
        'alertname="DiskWillFillSoon"',
        'namespace="prod"',
        'pod="db-0"',
    ]


def test_quotes_and_odd_label_values_stay_one_matcher_each() -> None:
    odd = replace(member("db-0"), labels={"alertname": "A", "path": '/data "x"\n', "ünï": "v"})
    lines = matcher_lines(view([odd]))
    assert lines == ['alertname="A"', 'path="/data \\"x\\"\\n"', 'ünï="v"']
    # Each line reads back as the label it came from (the modal parses them so).
    assert [(m.name, m.value) for m in map(parse_matcher, lines)] == list(odd.labels.items())


def test_the_modal_matches_its_golden() -> None:
    body = silence_modal.modal(
        "signed-metadata",
        "prod",
        ['alertname="DiskWillFillSoon"', 'namespace="prod"'],
        silence_modal.durations(86400),
    )
    check_golden(GOLDEN / "slack/silence-modal.json", json.dumps(body, indent=2) + "\n")
    extend = silence_modal.modal(
        "m", "prod", ['alertname="X"'], ["30m"], extends=silence(7, "s1", slack_user="U1")
    )
    assert extend["submit"]["text"] == "Extend"
    comment = next(b for b in extend["blocks"] if b.get("block_id") == "comment")
    assert comment["element"]["initial_value"] == "resize <the> volume"
