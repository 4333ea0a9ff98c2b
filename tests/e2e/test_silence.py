"""Silence from Slack and Slack mirroring Alertmanager, against the real Alertmanager binary.

The router runs as users run it, with ``ALERTMANAGER_URL`` and a reconcile interval
of one second; Slack is the fake on loopback, and the test clicks and submits the
modal as Slack would (signed). Alertmanager starts first (its webhook is set once
the router's port is known, with ``/-/reload``).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import Alertmanager, RouterProcess, http
from tests.fakes.postgres import PostgresServer
from tests.fakes.slack import FakeSlack, SlackMessage, click_payload, signed_form, view_submission
from tests.helpers import require_binary, wait_for

TOKEN = "e2e-am-token"
SECRET = "e2e-signing-secret-0123456789"
JANE = "U0JANE0001"


def am_config(webhook_url: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "router",
            "group_by": ["alertname"],
            "group_wait": "100ms",
            "group_interval": "200ms",
            "repeat_interval": "1s",
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["cluster"],
            }
        ],
        "receivers": [
            {
                "name": "router",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": TOKEN}},
                    }
                ],
            }
        ],
    }


def alert(name: str, ends: bool = False, **labels: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "labels": {"alertname": name, "severity": "warning", **labels},
        "annotations": {"summary": f"{name} fires"},
    }
    if ends:
        item["endsAt"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    return item


@dataclass
class Stack:
    am: Alertmanager
    routers: list[RouterProcess]
    slack: FakeSlack

    @property
    def router(self) -> RouterProcess:
        return self.routers[0]

    def message(self, name: str) -> SlackMessage:
        def found() -> bool:
            return any(name in m.text for m in self.slack.posts())

        wait_for(found, 20, f"the message of {name}")
        message = next(m for m in self.slack.posts() if name in m.text)
        self.router.settled()  # its ts is recorded: a click on it is found
        return message

    def interact(self, payload: dict[str, Any], router: RouterProcess | None = None) -> Any:
        body, headers = signed_form(payload, SECRET)
        url = f"{(router or self.router).url}/slack/interactions"
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            raw = response.read()
        return json.loads(raw) if raw else None

    def click(self, message: SlackMessage, action_id: str, value: str = "x") -> None:
        url = self.slack.response_url_prefix + "T0001/1/e2e"
        self.interact(click_payload(message, action_id, value, JANE, response_url=url))

    def modal(self, message: SlackMessage) -> dict[str, Any]:
        opened = len(self.slack.views)
        self.click(message, "silence")
        assert len(self.slack.views) == opened + 1, "views.open was not called in the request"
        return self.slack.views[-1]

    def silences(self) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.am.url}/api/v2/silences")
        assert status == 200
        return [s for s in body if s["status"]["state"] != "expired"]

    def am_alert(self, name: str) -> dict[str, Any] | None:
        _, body = http("GET", f"{self.am.url}/api/v2/alerts")
        return next((a for a in body if a["labels"]["alertname"] == name), None)

    def stored(self, name: str) -> dict[str, Any]:
        _, body = http("GET", f"{self.router.url}/alerts", headers={"Accept": "application/json"})
        return next(a for a in body["alerts"] if a["name"] == name)


def shown(message: SlackMessage) -> str:
    return json.dumps(message.current_blocks, ensure_ascii=False)


def buttons(message: SlackMessage) -> dict[str, dict[str, Any]]:
    actions = [b for b in message.current_blocks if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def start_stack(
    tmp_path: Path,
    slack: FakeSlack,
    start_router: Callable[..., RouterProcess],
    replicas: int = 1,
    **env: str,
) -> Stack:
    am = Alertmanager(tmp_path, "http://127.0.0.1:9/unset", TOKEN).start()
    slack.names[JANE] = "Jane Doe"
    settings = {
        "ALERTMANAGER_TOKEN": TOKEN,
        "ALERTMANAGER_URL": am.url,
        "ROUTER_RECONCILE_INTERVAL": "1",
        "ROUTER_RECONCILE_WARMUP": "0",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_RESPONSE_URL_PREFIX": slack.response_url_prefix,
        **env,
    }
    routers = [start_router(**settings) for _ in range(replicas)]
    am.reconfigure(am_config(f"{routers[0].url}/webhooks/alertmanager"))
    return Stack(am, routers, slack)


@pytest.fixture
def stack(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> Iterator[Stack]:
    made = start_stack(tmp_path, fake_slack, start_router)
    try:
        yield made
    finally:
        made.am.stop()


def test_a_silence_from_the_modal_is_made_in_alertmanager_and_expire_ends_it(
    stack: Stack,
) -> None:
    stack.am.post_alerts([alert("E2EDiskFull", instance="db-1"), alert("E2EControl")])
    message = stack.message("E2EDiskFull")
    stack.message("E2EControl")
    view = stack.modal(message)
    answer = stack.interact(view_submission(view, JANE, duration="2h", comment="swap the disk"))
    assert answer == {"response_action": "clear"}

    (silence,) = stack.silences()
    assert silence["createdBy"] == "Jane Doe"
    assert silence["comment"] == "swap the disk"
    assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
        ("alertname", "E2EDiskFull", False),
        ("instance", "db-1", False),
        ("severity", "warning", False),
    }
    muted = stack.am_alert("E2EDiskFull")
    assert muted is not None
    assert muted["status"]["state"] == "suppressed"
    assert muted["status"]["silencedBy"] == [silence["id"]]

    # Alertmanager stops notifying it: its repeats stop while the control's go on.
    wait_for(lambda: f"Silenced by <@{JANE}>" in shown(message), 15, "the message edited")
    before = stack.stored("E2EDiskFull")["repeats"]
    control = stack.stored("E2EControl")["repeats"]
    wait_for(lambda: stack.stored("E2EControl")["repeats"] >= control + 3, 20, "control repeats")
    assert stack.stored("E2EDiskFull")["repeats"] <= before + 1  # one may have been in flight

    stack.click(message, "expire_silence", buttons(message)["expire_silence"]["value"])
    wait_for(lambda: stack.silences() == [], 15, "the silence expired in Alertmanager")
    wait_for(lambda: "silence" in buttons(message), 15, "Silence offered again")
    assert "Silenced by" not in shown(message)

    def replied(what: str) -> bool:
        return any(what in r.text for r in stack.slack.replies(message))

    wait_for(lambda: replied("silenced this") and replied("expired silence"), 15, "the thread")


def test_an_alert_that_ends_while_silenced_by_amtool_is_resolved_by_reconciling(
    stack: Stack,
) -> None:
    stack.am.post_alerts([alert("E2EEnds", instance="web-1")])
    message = stack.message("E2EEnds")
    amtool = require_binary("amtool")
    added = subprocess.run(
        [
            amtool,
            "silence",
            "add",
            f"--alertmanager.url={stack.am.url}",
            "--author=Ops Bot",
            "--comment=planned maintenance",
            "--duration=1h",
            "alertname=E2EEnds",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert added.returncode == 0, added.stderr
    wait_for(lambda: "Silenced by Ops Bot" in shown(message), 15, "amtool's silence shown")
    assert "planned maintenance" in shown(message)

    stack.am.post_alerts([alert("E2EEnds", ends=True, instance="web-1")])  # no resolve is sent
    wait_for(lambda: "RESOLVED" in message.current_text, 15, "resolved within an interval")
    stack.router.settled()
    (reply,) = stack.slack.replies(message)
    assert "No longer active in Alertmanager" in reply.text
    assert stack.router.metric("router_reconcile_resolved_total") == 1


def test_an_inhibited_alert_shows_what_inhibits_it(stack: Stack) -> None:
    stack.am.post_alerts([alert("E2EReplicaLag", cluster="c1")])
    message = stack.message("E2EReplicaLag")
    stack.am.post_alerts([alert("E2EPrimaryDown", cluster="c1", severity="critical")])
    wait_for(lambda: "Inhibited" in shown(message), 15, "the inhibition shown")
    assert "by E2EPrimaryDown" in shown(message)
    assert "RESOLVED" not in message.current_text


def test_with_alertmanager_stopped_nothing_is_resolved_and_the_clicker_is_told(
    stack: Stack,
) -> None:
    stack.am.post_alerts([alert("E2EStopped")])
    message = stack.message("E2EStopped")
    stack.am.stop()
    unreachable = (
        'router_alertmanager_reads_total{alertmanager="alertmanager",outcome="unreachable"}'
    )
    wait_for(lambda: stack.router.metric(unreachable) >= 3, 20, "reads that found no Alertmanager")
    assert stack.router.metric('router_alertmanager_up{alertmanager="alertmanager"}') == 0
    assert "RESOLVED" not in message.current_text
    answer = stack.interact(view_submission(stack.modal(message), JANE, comment="x"))
    assert "did not answer: nothing was silenced" in answer["errors"]["matchers"]
    stack.router.settled()
    assert "Silenced" not in shown(message)
    assert stack.slack.replies(message) == []


def test_two_replicas_one_silence_per_submission_each_resolve_posted_once(
    tmp_path: Path,
    fake_slack: FakeSlack,
    postgres: PostgresServer,
    start_router: Callable[..., RouterProcess],
) -> None:
    two = start_stack(
        tmp_path, fake_slack, start_router, 2, ROUTER_DATABASE_URL=postgres.new_database()
    )
    try:
        two.am.post_alerts([alert("E2EReplicated")])
        message = two.message("E2EReplicated")
        view = two.modal(message)
        # The one modal submitted through both replicas (two requests, as a double click).
        answers = [
            two.interact(view_submission(view, JANE, comment="once"), router)
            for router in two.routers
        ]
        assert answers[0] == {"response_action": "clear"}
        assert "submitted already" in answers[1]["errors"]["matchers"]
        assert len(two.silences()) == 1

        two.am.post_alerts([alert("E2EReplicated", ends=True)])  # ends while silenced
        wait_for(lambda: "RESOLVED" in message.current_text, 20, "resolved by a replica")
        reads = "router_alertmanager_reads_total"
        before = sum(r.metric(reads) for r in two.routers)
        wait_for(lambda: sum(r.metric(reads) for r in two.routers) >= before + 4, 20, "passes")
        two.router.settled()
        resolved = [r for r in fake_slack.replies(message) if "Resolved" in r.text]
        assert len(resolved) == 1
        assert sum(r.metric("router_reconcile_resolved_total") for r in two.routers) == 1
    finally:
        two.am.stop()


def test_the_log_holds_no_token_or_secret_after_silencing_and_reading(stack: Stack) -> None:
    stack.am.post_alerts([alert("E2ELog")])
    message = stack.message("E2ELog")
    stack.interact(view_submission(stack.modal(message), JANE, comment="log check"))
    up = 'router_alertmanager_up{alertmanager="alertmanager"}'
    wait_for(lambda: stack.router.metric(up) == 1, 15, "a read of Alertmanager")
    log = stack.router.log_path.read_text()
    assert "silence" in log  # it did log the silence, and nothing secret with it
    assert TOKEN not in log
    assert SECRET not in log
