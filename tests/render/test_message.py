from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from router.decide import Ruleset
from router.deliveries.heartbeat import silent_alert
from router.records import RunbookRef
from router.render import Rendered
from router.render.blocks import duration
from router.render.message import MessageRenderer
from router.render.mrkdwn import (
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    link,
    safe_url,
    truncate,
)
from router.store import Member, MessageView
from router.store.heartbeats import Heartbeat
from tests.helpers import GOLDEN, PHONE_BLOCKS, PHONE_CHARACTERS, check_golden, visible_text

NOW = 1_795_320_000.0  # 2026-11-22 01:20 UTC
STARTED = NOW - 754


def member(
    name: str = "DatabaseConnectionPoolHigh", status: str = "firing", **labels: str
) -> Member:
    return Member(
        fingerprint=f"fp-{sorted(labels.items())}",
        name=name,
        status=status,
        level="SEV1",
        reason="route 'db-pool' sets SEV1",
        labels={"alertname": name, "env": "prod", **labels},
        annotations={},
        summary=f"Pool at 96% on {labels.get('instance', 'db')}",
        url=None,
        starts_at=STARTED,
        ends_at=None if status == "firing" else NOW,
    )


def view(members: list[Member], **overrides: Any) -> MessageView:
    values: dict[str, Any] = {
        "id": 1,
        "source": "alertmanager",
        "group_key": "g",
        "channel": "#db-oncall",
        "route": "db-pool",
        "level": "SEV1",
        "version": 1,
        "closed": False,
        "created_at": STARTED,
        "resolved_at": None,
        "resolve_notified": False,
        "slack_channel": None,
        "slack_ts": None,
        "members": members,
    }
    runbook = {
        "id": "RUN-001",
        "url": "http://localhost:8080/runbooks/RUN-001",
        "title": "Database Connection Pool Exhaustion",
        "reason": "route 'db-pool'",
    }
    for key in ("id", "url", "title", "reason"):  # flat in the tests: runbook_url=...
        if f"runbook_{key}" in overrides:
            runbook[key] = overrides.pop(f"runbook_{key}")
    return MessageView(**(values | overrides), runbook=RunbookRef(**runbook))


RUN_010 = {
    "route": "nodes",
    "runbook_id": "RUN-010",
    "runbook_url": "http://localhost:8080/runbooks/RUN-010",
    "runbook_title": "Host OS Upgrade",
    "level": "SEV3",
}
RUN_013 = {
    "route": "node-disk",
    "runbook_id": "RUN-013",
    "runbook_url": "http://localhost:8080/runbooks/RUN-013",
    "runbook_title": "Node Filesystem Filling Up",
    "level": "SEV3",
}


_NODE_TEXTS = {
    "NodeRebootRequired": (
        "A node needs a reboot for its updates.",
        "{node} has pending kernel updates.",
    ),
    "NodeFilesystemAlmostOutOfSpace": (
        "Filesystem has less than 5% space left.",
        "Filesystem on {device} at {instance} has only 3.2% available space left.",
    ),
}


def node_member(name: str = "NodeFilesystemAlmostOutOfSpace", **labels: str) -> Member:
    """A node-exporter alert as kube-prometheus labels it."""
    summary, description = _NODE_TEXTS[name]
    known = {"node": "?", "device": "?", "instance": "?"} | labels
    return Member(
        fingerprint=f"fp-{sorted(labels.items())}",
        name=name,
        status="firing",
        level="SEV3",
        reason="severity=warning -> SEV3 (alertmanager map)",
        labels={"alertname": name, "job": "node-exporter", "namespace": "monitoring"}
        | {"severity": "warning", **labels},
        annotations={"summary": summary, "description": description.format(**known)},
        summary=summary,
        url=None,
        starts_at=STARTED,
        ends_at=None,
    )


def readme_example(status: str = "firing") -> MessageView:
    """examples/alertmanager-firing.json: two PgBouncer pools at 96% and 93%."""
    members = []
    for n, used in ((0, "96% used (48/50)"), (1, "93% used (47/50)")):
        labels = {"instance": f"pgbouncer-{n}:9127", "severity": "critical", "team": "backend"}
        members.append(
            Member(
                fingerprint=f"pgbouncer-{n}",
                name="DatabaseConnectionPoolHigh",
                status=status,
                level="SEV1",
                reason="route 'db-pool' sets SEV1",
                labels={"alertname": "DatabaseConnectionPoolHigh", "env": "prod", **labels},
                annotations={
                    "summary": "Connection pool for main is nearly exhausted",
                    "description": f"PgBouncer pool main is {used}.",
                },
                summary="Connection pool for main is nearly exhausted",
                url="http://prometheus:9090/graph?g0.expr=pgbouncer_pool_utilisation+%3E+0.9",
                starts_at=STARTED + 30 * n,
                ends_at=None if status == "firing" else NOW,
            )
        )
    closed = status != "firing"
    return view(members, closed=closed, resolved_at=NOW if closed else None)


def heartbeat_view() -> MessageView:
    beat = Heartbeat(1, "watchdog", 600.0, "Watchdog", STARTED, None)
    alert = silent_alert(beat, "alertmanager", NOW)
    member_ = Member(
        fingerprint=alert.fingerprint,
        name=alert.name,
        status="firing",
        level="SEV1",
        reason="heartbeat: no Watchdog for 10m",
        labels=alert.labels,
        annotations=alert.annotations,
        summary=alert.summary,
        url=None,
        starts_at=STARTED,
        ends_at=None,
    )
    return view(
        [member_],
        group_key=alert.group_key,
        channel="#alerting-meta",
        route="watchdog",
        runbook_id=None,
        runbook_url=None,
        runbook_title=None,
    )


@pytest.fixture(scope="module")
def renderer(ruleset: Ruleset) -> MessageRenderer:
    data = ruleset.config.data
    return MessageRenderer(ruleset.catalog, data.severity.levels, data.defaults.stale_after_days)


SHAPES = {
    "single-firing": lambda: view([member(instance="db-1")]),
    "group-partly-resolved": lambda: view(
        [
            member(instance="db-1", status="resolved"),
            member(instance="db-2"),
            member(instance="db-3"),
        ]
    ),
    "resolved": lambda: view(
        [member(instance="db-1", status="resolved")], closed=True, resolved_at=NOW
    ),
    "stale-runbook": lambda: view(
        [member("KubeNodeNotReady", node="node-a1")],
        runbook_id="RUN-010",
        runbook_url="http://localhost:8080/runbooks/RUN-010",
        runbook_title="Host OS Upgrade",
        route="nodes",
    ),
    "outside-runbook": lambda: view(
        [member("TargetDown", job="node")],
        runbook_id=None,
        runbook_url="https://runbooks.prometheus-operator.dev/runbooks/general/targetdown",
        runbook_title="External runbook",
        route=None,
    ),
    "unmatched": lambda: view(
        [member("SomethingNew")], runbook_id=None, runbook_url=None, runbook_title=None, route=None
    ),
    "sev0-mention": lambda: view([member("SuspiciousLogin")], level="SEV0", route="security"),
    "slack-acknowledged": lambda: view(
        [
            Member(
                **{
                    **member(env="prod", instance="pgbouncer-0:9127").__dict__,
                    "ack_by": "slack:U0JANE0001",
                    "ack_at": STARTED + 130,
                }
            )
        ],
        created_at=STARTED,
    ),
    "pagerduty-acknowledged": lambda: view(
        [
            Member(
                **{
                    **member("UpstreamTimeouts", service="Checkout API").__dict__,
                    "url": "https://acme.pagerduty.com/incidents/Q2HMW5ZJ3KX0QR",
                    "ack_by": "Jane Oncall",
                    "reason": "priority=P2 -> SEV1 (pagerduty map)",
                }
            )
        ],
        source="pagerduty",
        route="external-apis",
        runbook_id="RUN-007",
        runbook_url="http://localhost:8080/runbooks/RUN-007",
        runbook_title="External API Timeouts",
    ),
    "readme-example": lambda: readme_example(),
    "three-nodes": lambda: view(
        [
            node_member("NodeRebootRequired", node=f"node-{n}", instance=f"10.0.0.{n}:9100")
            for n in ("a1", "b2", "c3")
        ],
        **RUN_010,
    ),
    "quoted-value": lambda: view(
        [node_member(instance="node-a1", mountpoint="/mnt/data volume", device="/dev/sdb1")],
        **RUN_013,
    ),
    "missing-label": lambda: view([node_member(instance="node-a1", device="/dev/sda1")], **RUN_013),
    "heartbeat": lambda: heartbeat_view(),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_block_kit_golden(renderer: MessageRenderer, shape: str) -> None:
    rendered = renderer.render(SHAPES[shape](), NOW)
    payload = {"text": rendered.text, "blocks": rendered.blocks}
    check_golden(
        GOLDEN / "slack" / f"{shape}.json", json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    )


FIRING_SHAPES = sorted(k for k in SHAPES if not SHAPES[k]().closed)


@pytest.mark.parametrize("shape", FIRING_SHAPES)
def test_a_firing_message_fits_a_phone_screen(renderer: MessageRenderer, shape: str) -> None:
    """The design's limits, for each golden: at most 12 blocks, 2,000 visible characters."""
    blocks = renderer.render(SHAPES[shape](), NOW).blocks
    assert len(blocks) <= PHONE_BLOCKS, [b["type"] for b in blocks]
    assert len(visible_text(blocks)) <= PHONE_CHARACTERS, visible_text(blocks)


def test_the_readme_example_shows_each_alert_with_its_own_value(
    renderer: MessageRenderer,
) -> None:
    shown = visible_text(renderer.render(readme_example(), NOW).blocks)
    assert "instance=pgbouncer-0:9127 PgBouncer pool main is 96% used (48/50)." in shown
    assert "instance=pgbouncer-1:9127 PgBouncer pool main is 93% used (47/50)." in shown
    assert "env=prod, team=backend" in shown  # shared, once
    assert "Next: 2. End long idle-in-transaction sessions" in shown


def test_the_resolved_edit_drops_the_steps_and_keeps_what_happened(
    renderer: MessageRenderer,
) -> None:
    rendered = renderer.render(readme_example("resolved"), NOW)
    check_golden(GOLDEN / "slack" / "readme-example-resolved.json", _payload(rendered))
    shown = visible_text(rendered.blocks)
    assert "Step 1" not in shown
    assert "Do not" not in shown
    assert "96%" not in shown  # the stale value
    assert "resolved after" in shown
    assert shown.count("instance=pgbouncer-") == 2
    reply = renderer.render_resolved_reply(readme_example("resolved"), NOW)
    check_golden(GOLDEN / "slack" / "readme-example-resolved-thread.json", _payload(reply))


def test_a_command_is_filled_once_per_node(renderer: MessageRenderer) -> None:
    shown = visible_text(renderer.render(SHAPES["three-nodes"](), NOW).blocks)
    for node in ("node-a1", "node-b2", "node-c3"):
        assert f"kubectl cordon {node}\n" in shown + "\n"
    assert "{{" not in shown
    five = view([node_member("NodeRebootRequired", node=f"node-{n}") for n in range(5)], **RUN_010)
    shown = visible_text(renderer.render(five, NOW).blocks)
    assert "kubectl cordon node-2" in shown
    assert "kubectl cordon node-3" not in shown
    assert "+2 more" in shown


def test_a_value_that_is_no_plain_word_is_quoted(renderer: MessageRenderer) -> None:
    shown = visible_text(renderer.render(SHAPES["quoted-value"](), NOW).blocks)
    assert "df -h /host'/mnt/data volume'" in shown


def test_a_missing_label_stays_visibly_unfilled(renderer: MessageRenderer) -> None:
    shown = visible_text(renderer.render(SHAPES["missing-label"](), NOW).blocks)
    assert (
        "kubectl debug node/node-a1 -it --image=busybox -- df -h /host{{ $labels.mountpoint }}"
        in shown
    )


def test_labels_with_slack_or_shell_meaning_are_escaped_and_quoted(
    renderer: MessageRenderer,
) -> None:
    hostile = "<!channel> <@U024BE7LH> <https://evil.example|x> $(reboot)"
    message = renderer.render(view([node_member(instance=hostile, mountpoint="/")], **RUN_013), NOW)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "<!channel>" not in text
    assert "<@U024BE7LH>" not in text
    assert "<https://evil" not in text
    assert (
        "node/'&lt;!channel&gt; &lt;@U024BE7LH&gt; &lt;https://evil.example|x&gt; $(reboot)'"
        in text
    )


def test_the_heartbeat_names_the_silent_alert_and_what_to_check(
    renderer: MessageRenderer,
) -> None:
    shown = visible_text(renderer.render(heartbeat_view(), NOW).blocks)
    assert "The alerting pipeline is silent: no Watchdog since" in shown
    assert "Watchdog should reach the router at least every 10m (route watchdog)" in shown
    assert "What to check" in shown
    assert "Prometheus is up" in shown
    assert "Alertmanager is up" in shown
    assert "No runbook" not in shown
    assert "the heartbeat alert" not in shown.split("What to check")[0]
    closed = replace(heartbeat_view(), closed=True, resolved_at=NOW + 3600)
    assert not renderer.wants_postmortem(closed, [])


def _payload(rendered: Rendered) -> str:
    return (
        json.dumps({"text": rendered.text, "blocks": rendered.blocks}, indent=2, ensure_ascii=False)
        + "\n"
    )


def test_resolved_reply(renderer: MessageRenderer) -> None:
    v = SHAPES["resolved"]()
    reply = renderer.render_resolved_reply(v, NOW)
    assert reply.text == "✅ Resolved: DatabaseConnectionPoolHigh: the alert cleared after 12m 34s."


def test_mention_only_from_config_and_only_while_firing(renderer: MessageRenderer) -> None:
    firing = renderer.render(SHAPES["sev0-mention"](), NOW)
    assert firing.text.startswith("<!subteam^S0INCIDENT> ")
    resolved = renderer.render(
        view([member("SuspiciousLogin", status="resolved")], level="SEV0"), NOW
    )
    assert "subteam" not in resolved.text


HOSTILE = (
    "<!channel> <!here> <@U024BE7LH> <#C123> <!subteam^S1> <https://evil.example|click> & *bold*"
)
MENTION_OR_LINK = re.compile(r"<[!@#]|<https?:|<mailto:")


def _all_text(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _all_text(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in _all_text(v)]
    return [obj] if isinstance(obj, str) else []


def test_alert_text_can_never_mention_or_link(renderer: MessageRenderer) -> None:
    hostile = Member(
        fingerprint=HOSTILE,
        name=HOSTILE,
        status="firing",
        level="SEV2",
        reason=HOSTILE,
        labels={"alertname": HOSTILE, "env": HOSTILE, "service": HOSTILE, HOSTILE: HOSTILE},
        annotations={"summary": HOSTILE},
        summary=HOSTILE,
        url=HOSTILE,
        starts_at=STARTED,
        ends_at=None,
    )
    other = Member(
        **{**hostile.__dict__, "fingerprint": "b", "labels": {"alertname": HOSTILE, "x": HOSTILE}}
    )
    v = view(
        [hostile, other],
        route=HOSTILE,
        level="SEV2",
        runbook_title=HOSTILE,
        runbook_url="https://x.example/a|b><!channel>",
        runbook_id=None,
    )
    rendered = renderer.render(v, NOW)
    reply = renderer.render_resolved_reply(v, NOW)
    texts = [*_all_text(rendered.blocks), rendered.text, reply.text, *_all_text(reply.blocks)]
    for text in texts:
        # Our own date token and link to the runbook are the only angle brackets allowed.
        scrubbed = re.sub(r"<!date\^\d+\^[^|>]*\|[^>]*>", "", text)
        scrubbed = scrubbed.replace("<https://x.example/a%7Cb%3E%3C!channel%3E|", "")
        assert not MENTION_OR_LINK.search(scrubbed), text
        assert "<!channel>" not in text
        assert "<@U024BE7LH>" not in text


def test_sizes_are_cut_to_slack_limits_never_failing(renderer: MessageRenderer) -> None:
    huge = "x" * 20_000
    members = [
        Member(
            fingerprint=str(i),
            name=huge,
            status="firing",
            level="SEV1",
            reason=huge,
            labels={"alertname": huge, f"l{i}": huge, "env": huge},
            annotations={},
            summary=huge + "<" * 5000,
            url=None,
            starts_at=STARTED,
            ends_at=None,
        )
        for i in range(300)
    ]
    rendered = renderer.render(view(members, route=huge, runbook_title=huge), NOW)
    assert len(rendered.blocks) <= MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        for f in block.get("fields", []):
            assert len(f["text"]) <= MAX_FIELD_TEXT
    assert re.search(r"\+2[0-9]{2} more", json.dumps(rendered.blocks, ensure_ascii=False)), (
        "count line kept"
    )


def test_truncate_never_splits_an_entity() -> None:
    text = escape("a" * 8 + "<<<<")
    for limit in range(5, len(text)):
        cut = truncate(text, limit)
        assert len(cut) <= limit
        assert not re.search(r"&[a-z]*…", cut), cut


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://wiki.example.com/a?b=1&c=2", "https://wiki.example.com/a?b=1&amp;c=2"),
        ("https://x.example/a|b>c", "https://x.example/a%7Cb%3Ec"),
        ("https://x.example/a b", "https://x.example/a%20b"),
        ("javascript:alert(1)", None),
        ("/relative", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_link_falls_back_to_text_for_unsafe_url() -> None:
    assert link("javascript:x", "<b>", 100) == "&lt;b&gt;"
    assert link("https://a.example", "x|y", 100) == "<https://a.example|x¦y>"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59, "59s"), (754, "12m 34s"), (3600, "1h"), (90061, "1d 1h")]
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_durations_use_the_sources_times_not_arrival(renderer: MessageRenderer) -> None:
    """Fired at 03:00, ended at 03:18 by the source's clock; the resolve arrived 8 h later."""
    started, ended = NOW - 8 * 3600, NOW - 8 * 3600 + 18 * 60
    done = Member(
        **{**member(instance="db-1", status="resolved").__dict__, "starts_at": started}
        | {"ends_at": ended}
    )
    resolved = view([done], closed=True, resolved_at=NOW, created_at=started + 5)
    reply = renderer.render_resolved_reply(resolved, NOW)
    assert "cleared after 18m" in reply.text
    assert "resolved after 18m" in json.dumps(renderer.render(resolved, NOW).blocks)
