"""``runbook-router demo`` against a running router."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import ROOT, wait_for

TOKEN = "demo-token"


def test_demo_sends_samples_that_route_and_resolve(
    fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.base_url
    )
    env = {**os.environ, "ALERTMANAGER_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "router", "demo", "--url", router.url, "--resolve-after", "1"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("-> 202") == 6  # three groups firing, then resolved
    wait_for(lambda: len(fake_slack.posts()) == 3, 20, "three messages")
    (db,) = fake_slack.posts("#db-oncall")
    assert "RUN-001" in db.text
    wait_for(lambda: all(fake_slack.replies(m) for m in fake_slack.posts()), 30, "the resolves")
    everything = f"{router.url}/alerts?state=all"
    listed = http("GET", everything, headers={"Accept": "application/json"})[1]["alerts"]
    assert len(listed) == 4
    assert {a["status"] for a in listed} == {"resolved"}


def test_demo_without_the_token_is_refused(start_router: Callable[..., RouterProcess]) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    env = {k: v for k, v in os.environ.items() if k != "ALERTMANAGER_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "router", "demo", "--url", router.url],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "-> 401" in result.stdout
    assert result.stderr.splitlines() == [
        "demo failed: 3 of 3 webhooks not accepted; 401: set ALERTMANAGER_TOKEN to the "
        "router's token"
    ]
