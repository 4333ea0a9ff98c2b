"""Runbooks that learn, on a running router against the fake Slack: an alert posts, Show all
steps, two people tick (one Done, one Didn't work with a reason), the alert resolves, 👎; the
runbook page, the timeline, the postmortem draft and ``review --format json`` all show it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack, SlackMessage, click_payload, view_submission
from tests.helpers import BODY, GOLDEN, ROOT, ROUTES, wait_for
from tests.slack import SIGNING_SECRET, interaction_body, signed

TOKEN = "learn-token"
JANE, BOB = "U0JANE0001", "U0BOB00001"
RESOLVED = json.loads((GOLDEN / "sources/alertmanager/resolved.json").read_bytes())
REASON = "pg_terminate_backend needs superuser on RDS"


def send(router: RouterProcess, payload: dict[str, Any]) -> int:
    body = interaction_body(payload)
    request = urllib.request.Request(
        f"{router.url}/slack/interactions", data=body, headers=signed(body), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def click(router: RouterProcess, on: SlackMessage, action_id: str, value: str, user: str) -> int:
    return send(router, click_payload(on, action_id, value, user))


def reply(slack: FakeSlack, parent: SlackMessage, starts: str) -> SlackMessage:
    def found() -> list[SlackMessage]:
        return [r for r in slack.replies(parent) if r.text.startswith(starts)]

    wait_for(lambda: len(found()) == 1, 20, f"the reply {starts!r}")
    return found()[0]


def test_the_loop_from_the_alert_to_the_review(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES.read_text().replace(
            "  stale_after_days: 90",
            '  stale_after_days: 90\n  source_url: "https://git.example/rb/blob/main/{path}#L{line}"',
            1,
        )
    )
    router = start_router(
        ROUTER_CONFIG=str(routes),
        ALERTMANAGER_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_RESPONSE_URL_PREFIX=fake_slack.response_url_prefix,
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert http("POST", f"{router.url}/webhooks/alertmanager", json.loads(BODY), auth)[0] == 202
    wait_for(lambda: len(fake_slack.posts("#db-oncall")) == 1, 20, "the alert message")
    message = fake_slack.posts("#db-oncall")[0]
    router.settled()

    assert click(router, message, "show_steps", "RUN-001", JANE) == 200
    checklist = reply(fake_slack, message, "Checklist for RUN-001")
    router.settled()
    assert click(router, checklist, "step_done", "RUN-001:1", JANE) == 200
    assert click(router, checklist, "step_failed", "RUN-001:2", BOB) == 200
    wait_for(lambda: bool(fake_slack.views), 20, "the Didn't work form")
    (form,) = fake_slack.views
    assert send(router, view_submission(form, BOB, reason=REASON)) == 200
    wait_for(
        lambda: REASON in json.dumps(checklist.current_blocks), 20, "the reason on the checklist"
    )
    assert "2 of 4 steps ticked" in checklist.current_text

    assert click(router, message, "pd_ack", "x", JANE) == 200
    wait_for(lambda: "Acknowledged" in json.dumps(message.current_blocks), 20, "acknowledged")
    assert http("POST", f"{router.url}/webhooks/alertmanager", RESOLVED, auth)[0] == 202
    question = reply(fake_slack, message, "Did RUN-001 help?")
    router.settled()
    assert click(router, question, "runbook_did_not_help", "RUN-001", BOB) == 200
    wait_for(lambda: "👎 1" in json.dumps(question.current_blocks, ensure_ascii=False), 20, "👎")
    router.settled()

    status, page = http(
        "GET", f"{router.url}/runbooks/RUN-001", headers={"Accept": "application/json"}
    )
    assert status == 200
    assert page["use"]["windows"][0]["incidents"] == 1
    assert page["use"]["feedback"]["did_not_help"] == 1
    assert page["use"]["failed_steps"][0]["note"] == REASON
    assert page["edit_url"].startswith("https://git.example/rb/blob/main/RUN-001")
    _, detail = http("GET", f"{router.url}/alerts/1", headers={"Accept": "application/json"})
    said = [e["what"] for e in detail["timeline"]]
    assert any(w.startswith("step 1 done: Confirm the pool is saturated") for w in said)
    assert any(w.startswith("step 2 didn't work") and w.endswith(REASON) for w in said)
    assert "RUN-001 did not help (👎)" in said
    _, draft = http("GET", f"{router.url}/alerts/1/postmortem.md")
    assert "## RUN-001's steps, as ticked in Slack" in draft
    assert "- Step 2, End long idle-in-transaction sessions: didn't work by " in draft
    assert f'after the previous step: "{REASON}"' in draft

    done = subprocess.run(
        [sys.executable, "-m", "router", "review", "--format", "json"],
        env=router.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    review = json.loads(done.stdout)
    (pool,) = [r for r in review["runbooks"] if r["id"] == "RUN-001"]
    assert pool["use"]["windows"][0]["alerts"] == 1
    assert pool["use"]["failed_steps"][0]["note"] == REASON
    assert pool["use"]["feedback"]["did_not_help"] == 1
    assert any(f["runbook"] == "RUN-001" and REASON in f["finding"] for f in review["findings"])
