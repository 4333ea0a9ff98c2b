"""``/runbook oncall [NAME]`` through the signed endpoint: who, until when, from where."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from router.app import create_app
from router.notifiers.pagerduty import PagerDuty
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import ROUTES, settings
from tests.slack import SIGNING_SECRET, command_body, signed

JANE = "U0JANE0001"
ONCALL = {
    "db-primary": {"pagerduty": {"schedule": "PSCHED1"}},
    "platform": {
        "rotation": {
            "start": "2026-11-02 09:00 Europe/Berlin",
            "every": "1w",
            "people": ["U01AAA", "U02BBB"],
        }
    },
}


@dataclass
class World:
    client: TestClient
    pd: FakePagerDuty
    clock: FakeClock

    def ask(self, text: str) -> dict[str, Any]:
        body = command_body(text)
        headers = signed(body, at=self.clock.now())
        response = self.client.post("/slack/commands", content=body, headers=headers)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        assert answer["response_type"] == "ephemeral"
        return answer


def world(tmp_path: Path, oncall: dict[str, Any]) -> Iterator[World]:
    data = yaml.safe_load(ROUTES.read_text())
    if oncall:
        data["oncall"] = oncall
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    pd = FakePagerDuty()
    slack = RecordingNotifier()
    slack.emails = {JANE: "jane@example.com"}
    clock = FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp())
    app = create_app(
        settings(tmp_path, config=str(path), slack_signing_secret=SIGNING_SECRET),
        notifier=slack,
        clock=clock,
        pagerduty=PagerDuty("pd-token", "router@example.com", {}, transport=pd.transport),
        run_dispatcher=False,
    )
    with TestClient(app) as client:
        yield World(client, pd, clock)


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    yield from world(tmp_path, ONCALL)


def test_everyone_on_call_with_until_when(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    text = w.ask("oncall")["text"]
    jane_until = int(datetime(2026, 11, 23, 8, tzinfo=UTC).timestamp())
    assert f"*db-primary*: <@{JANE}> until <!date^{jane_until}^" in text
    assert 'PagerDuty schedule "Database Primary" (PSCHED1)' in text
    # the rotation's third week (U01AAA's again) ends Monday 23 November, 09:00 in Berlin
    assert f"*platform*: <@U01AAA> until <!date^{jane_until}^" in text
    assert "rotation, every week from 2026-11-02 09:00 Europe/Berlin" in text


def test_one_by_name_and_a_typo(w: World) -> None:
    one = w.ask("oncall platform")["text"]
    assert "platform" in one
    assert "db-primary" not in one
    typo = w.ask("ONCALL platfrom")["text"]
    assert "There is no on-call entry platfrom. Did you mean `platform`?" in typo


def test_pagerduty_down_says_so_and_names_the_schedule(w: World) -> None:
    w.pd.down = True
    text = w.ask("oncall db-primary")["text"]
    assert "*db-primary*: not known now (PagerDuty did not answer (ConnectError))" in text
    assert "see PagerDuty schedule PSCHED1" in text


def test_without_oncall_entries_it_says_how(tmp_path: Path) -> None:
    for w in world(tmp_path, {}):
        assert "add `oncall:` entries to routes.yaml" in w.ask("oncall")["text"]


def test_usage_names_it(w: World) -> None:
    assert "/runbook oncall" in w.ask("help")["text"]
