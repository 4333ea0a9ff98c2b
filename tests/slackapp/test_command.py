from __future__ import annotations

import json
from typing import Any

import pytest

from router.decide import Ruleset
from router.slackapp.command import RunbookCommand


@pytest.fixture(scope="module")
def command(ruleset: Ruleset) -> RunbookCommand:
    return RunbookCommand(ruleset)


def text_of(answer: dict[str, Any]) -> str:
    return json.dumps(answer["blocks"], ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_usage(command: RunbookCommand, text: str) -> None:
    answer = command.answer(text).payload()
    assert answer["response_type"] == "ephemeral"
    assert "/runbook RUN-001" in answer["text"]


@pytest.mark.parametrize("text", ["RUN-001", "run-1", "Run-0001"])
def test_entry_with_every_step_and_a_share_button(command: RunbookCommand, text: str) -> None:
    answer = command.answer(text).payload()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "RUN-001: Database Connection Pool Exhaustion"
    blocks = text_of(answer)
    for step in ("Step 1: Confirm the pool is saturated", "Step 4: Raise the PgBouncer pool"):
        assert step in blocks
    assert "pg_stat_activity" in blocks
    assert "SHOW POOLS" in blocks
    assert "Verify:" in blocks
    assert "Do not raise `max_connections`" in blocks
    assert "#db-oncall, then the DBA on call" in blocks
    actions = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"]
    share = [e for e in actions if e["action_id"] == "share_runbook"]
    assert share
    assert share[0]["value"] == "RUN-001"
    assert share[0]["text"]["text"] == "Post in channel"


def test_unknown_entry(command: RunbookCommand) -> None:
    assert "There is no RUN-404" in command.answer("RUN-404").payload()["text"]


def test_list_and_list_category(command: RunbookCommand) -> None:
    everything = command.answer("list").payload()
    assert everything["text"] == "14 runbooks"
    names = [b["text"]["text"].split("\n")[0] for b in everything["blocks"]]
    assert names == ["*Deployment*", "*Escalation*", "*Incident*", "*Maintenance*", "*Recovery*"]
    maintenance = command.answer("list maintenance").payload()
    assert maintenance["text"] == "2 runbooks"
    assert "RUN-008" in text_of(maintenance)
    assert "RUN-001" not in text_of(maintenance)
    assert "there are Incident, Deployment" in command.answer("list nonsense").payload()["text"]


def test_search_lists_up_to_five_with_links(command: RunbookCommand) -> None:
    answer = command.answer("conection pool").payload()
    assert answer["text"].startswith("Runbooks for “conection pool”:")
    assert (
        "<http://localhost:8080/runbooks/RUN-001|RUN-001: Database Connection Pool Exhaustion>"
        in answer["text"]
    )
    assert answer["text"].count("\n• ") <= 5


def test_search_says_why_each_runbook_matched(command: RunbookCommand) -> None:
    text = command.answer("pod crash").payload()["text"]
    assert text.count("\n• ") == 1  # not every runbook that mentions a pod
    assert text.endswith("(alert KubePodCrashLooping; title: crash)")


def test_search_says_plainly_when_nothing_matches(command: RunbookCommand) -> None:
    assert (
        command.answer("xyzzy plugh").payload()["text"]
        == "No runbook matches “xyzzy plugh”. Try other words, or `/runbook list`."
    )


def test_why(command: RunbookCommand) -> None:
    answer = command.answer("why DatabaseConnectionPoolHigh env=prod severity=critical").payload()
    lines = answer["text"].split("\n")
    assert (
        lines[0] == "`DatabaseConnectionPoolHigh` from alertmanager with 2 more label(s) would get:"
    )
    assert lines[1] == (
        "• route `db-pool` → #db-oncall, "
        "<http://localhost:8080/runbooks/RUN-001|RUN-001: Database Connection Pool Exhaustion>, "
        "*SEV1* (respond &lt; 5 min): route 'db-pool' sets SEV1"
    )


def test_why_says_which_entry_claims_the_alert(command: RunbookCommand) -> None:
    # The worker crash-loop route wants container=~"worker.*"; RUN-006 lists the name.
    text = command.answer("why KubePodCrashLooping severity=warning").payload()["text"]
    assert text.split("\n")[1] == (
        "• no route (the defaults) → #alerts, "
        "<http://localhost:8080/runbooks/RUN-006|RUN-006: Worker Crash Loop> "
        "(RUN-006 lists KubePodCrashLooping), "
        "*SEV3* (respond &lt; 1 hour): severity=warning -&gt; SEV3 (alertmanager map)"
    )


def test_why_other_source_and_unmatched(command: RunbookCommand) -> None:
    text = command.answer('why "Disk full" source=datadog priority=P1').payload()["text"]
    assert "`Disk full` from datadog" in text
    assert "no route (the defaults) → #alerts, *no runbook* (unmatched), *SEV0*" in text
    assert "priority=P1 -&gt; SEV0 (datadog map)" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("why", "Usage: `/runbook why"),
        ("why env=prod", "Usage: `/runbook why"),
        ("why X nolabel", "`nolabel` is not label=value."),
        (
            "why X source=nagios",
            "source must be one of alertmanager, grafana, pagerduty, datadog, sentry.",
        ),
        ('why "unterminated', "Could not read that"),
    ],
)
def test_why_errors(command: RunbookCommand, text: str, message: str) -> None:
    assert message in command.answer(text).payload()["text"]


def test_user_text_is_escaped(command: RunbookCommand) -> None:
    for text in ("<!channel> pool", "why <!here> env=<@U1>", "list <!everyone>"):
        rendered = json.dumps(command.answer(text).payload())
        assert "<!channel>" not in rendered
        assert "<!here>" not in rendered
        assert "<@U1>" not in rendered
        assert "<!everyone>" not in rendered
