"""Silence from Slack through the app: the modal, its submission, Extend and Expire.

The fake Slack records the modal views.open opened; the test submits it as Slack
would. Alertmanager is tests/fakes/alertmanager.py behind httpx's MockTransport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.slackapp import silence_modal
from router.store import Store
from tests.fakes.alertmanager import FakeAlertmanager
from tests.fakes.slack import FakeSlack, SlackMessage, click_payload, view_submission
from tests.helpers import AUTH, ROUTES, wait_for
from tests.slack import SIGNING_SECRET, interaction_body, posted, signed, slack_settings

JANE = "U0JANE0001"
BOB = "U0BOB00001"
EXTERNAL = "https://alertmanager.example.com"


def webhook(name: str = "DiskWillFillSoon", pods: tuple[str, ...] = ("db-0", "db-1")) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": name, "namespace": "prod", "pod": pod, "severity": "warning"},
            "annotations": {"summary": "Disk will fill within 4h"},
            "startsAt": "2026-11-22T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{name}-{pod}",
        }
        for pod in pods
    ]
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "status": "firing",
        "receiver": "router",
        "externalURL": EXTERNAL,
        "alerts": alerts,
    }
    return json.dumps(body).encode()


@dataclass
class World:
    client: TestClient
    slack: FakeSlack
    am: FakeAlertmanager
    store: Store

    def fire(self, name: str = "DiskWillFillSoon", **kwargs: Any) -> SlackMessage:
        body = webhook(name, **kwargs)
        response = self.client.post("/webhooks/alertmanager", content=body, headers=AUTH)
        assert response.status_code == 202
        return posted(self.slack, self.store, "#alerts")

    def interact(self, payload: dict[str, Any]) -> Any:
        body = interaction_body(payload)
        response = self.client.post("/slack/interactions", content=body, headers=signed(body))
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def click(self, message: SlackMessage, action_id: str, value: str = "x", **kw: Any) -> Any:
        url = self.slack.response_url_prefix + "T0001/1/abc"
        return self.interact(click_payload(message, action_id, value, JANE, response_url=url, **kw))

    def open_modal(self, message: SlackMessage) -> dict[str, Any]:
        views = len(self.slack.views)
        self.click(message, "silence")
        assert len(self.slack.views) == views + 1
        return self.slack.views[-1]

    def submit(self, view: dict[str, Any], user: str = JANE, **typed: str) -> Any:
        return self.interact(view_submission(view, user, **typed))


def buttons(message: SlackMessage) -> dict[str, dict[str, Any]]:
    actions = [b for b in message.current_blocks if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


@contextmanager
def make_world(tmp_path: Path, slack: FakeSlack, routes: str | None = None) -> Iterator[World]:
    am = FakeAlertmanager()
    slack.names[JANE] = "Jane Doe"
    overrides: dict[str, Any] = {
        "alertmanager_url": "http://am-0:9093,http://am-1:9093",
        "reconcile_interval": 0,
    }
    if routes is not None:
        overrides["config"] = routes
    app = create_app(
        slack_settings(tmp_path, slack, **overrides), alertmanager_transport=am.transport
    )
    with TestClient(app) as client:
        yield World(client, slack, am, app.state.runtime.store)


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[World]:
    with make_world(tmp_path, fake_slack) as made:
        yield made


def test_silence_opens_a_prefilled_modal_and_submitting_silences_in_alertmanager(
    world: World,
) -> None:
    message = world.fire()
    shown = buttons(message)
    assert shown["silence"]["text"]["text"] == "Silence"
    assert shown["open_alertmanager"]["url"].startswith(f"{EXTERNAL}/#/alerts?")
    view = world.open_modal(message)
    assert world.slack.triggers == ["13345224609.738474920.8088930838d88f008e0"]
    assert view["callback_id"] == "silence"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["matchers", "duration", "comment"]
    # The labels both alerts share, one matcher per line; the pods differ and are left out.
    assert inputs["matchers"]["initial_value"] == (
        'alertname="DiskWillFillSoon"\nnamespace="prod"\nseverity="warning"'
    )
    assert [o["value"] for o in inputs["duration"]["options"]] == list(silence_modal.DURATIONS)

    answer = world.submit(view, duration="2h", comment="resizing the volume, OPS-123")
    assert answer == {"response_action": "clear"}
    (posted_silence,) = world.am.posted()
    assert posted_silence["createdBy"] == "Jane Doe"  # users.info's real name
    assert posted_silence["comment"] == "resizing the volume, OPS-123"
    assert [m["name"] for m in posted_silence["matchers"]] == ["alertname", "namespace", "severity"]

    def silenced() -> bool:
        return f"Silenced by <@{JANE}>" in json.dumps(message.current_blocks)

    wait_for(silenced, 10, "the message edited to show the silence")
    assert "SILENCED" in message.current_blocks[0]["text"]["text"]
    after = buttons(message)
    assert {"extend_silence", "expire_silence"} <= set(after)
    assert "silence" not in after  # both alerts are silenced
    wait_for(lambda: bool(world.slack.replies(message)), 10, "a reply in the thread")
    (reply,) = world.slack.replies(message)
    assert f"<@{JANE}> silenced this" in reply.text
    assert "OPS-123" in reply.text
    view_id = world.store.find_message(message.channel, message.ts)
    assert view_id is not None
    kinds = [e.kind for e in world.store.message_events(view_id.id)]
    assert "silenced" in kinds
    assert world.slack.responses == []  # nobody was told anything alone


def test_expire_expires_it_in_alertmanager_and_the_message_offers_silence_again(
    world: World,
) -> None:
    message = world.fire()
    assert world.submit(world.open_modal(message), comment="x") == {"response_action": "clear"}
    wait_for(lambda: "expire_silence" in buttons(message), 10, "Expire on the message")
    (silence_id,) = world.am.silences
    world.click(message, "expire_silence", buttons(message)["expire_silence"]["value"])
    wait_for(lambda: "silence" in buttons(message), 10, "Silence back on the message")
    assert world.am.silences[silence_id]["status"]["state"] == "expired"
    assert "Silenced by" not in json.dumps(message.current_blocks)
    wait_for(lambda: len(world.slack.replies(message)) == 2, 10, "the expiry in the thread")
    assert "expired silence" in world.slack.replies(message)[-1].text


def test_extend_reopens_the_modal_for_that_silence_and_updates_it(world: World) -> None:
    message = world.fire()
    world.submit(world.open_modal(message), duration="30m", comment="first")
    wait_for(lambda: "extend_silence" in buttons(message), 10, "Extend on the message")
    (silence_id,) = world.am.silences
    world.click(message, "extend_silence", buttons(message)["extend_silence"]["value"])
    view = world.slack.views[-1]
    assert view["submit"]["text"] == "Extend"
    assert world.submit(view, duration="4h") == {"response_action": "clear"}
    extended = world.am.posted()[-1]
    assert extended["id"] == silence_id
    assert extended["comment"] == "first"
    wait_for(lambda: len(world.slack.replies(message)) == 2, 10, "the extension in the thread")
    assert "extended the silence" in world.slack.replies(message)[-1].text


@pytest.mark.parametrize(
    ("typed", "block", "says"),
    [
        ({"matchers": 'alertname="DiskWillFillSoon"\nfoo=~"("'}, "matchers", "Line 2"),
        ({"matchers": "alertname"}, "matchers", "Line 1"),
        ({"matchers": "\n  \n"}, "matchers", "would mute every alert"),
        ({"matchers": 'foo=~".*"'}, "matchers", "must not match an empty value"),
        ({"matchers": 'alertname="SomethingElse"'}, "matchers", "select none"),
        ({"comment": "   "}, "comment", "Say why"),
        ({"duration": "1y"}, "duration", "Choose a duration"),
    ],
)
def test_bad_input_is_shown_on_its_block_and_nothing_is_silenced(
    world: World, typed: dict[str, str], block: str, says: str
) -> None:
    view = world.open_modal(world.fire())
    answer = world.submit(view, **({"comment": "ok"} | typed))
    assert answer["response_action"] == "errors"
    assert says in answer["errors"][block]
    assert world.am.posted() == []


def test_a_duration_beyond_the_configured_maximum_is_refused(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.read_text() + "\nsilence: {max_duration: 4h}\n")
    with make_world(tmp_path, fake_slack, str(routes)) as world:
        view = world.open_modal(world.fire())
        choices = [b for b in view["blocks"] if b.get("block_id") == "duration"]
        assert [o["value"] for o in choices[0]["element"]["options"]] == ["30m", "1h", "2h", "4h"]
        answer = world.submit(view, duration="1d", comment="long")  # a crafted choice
        assert answer["errors"]["duration"].startswith("At most 4 hours")
        assert world.am.posted() == []


def _tampered(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body, mac = view["private_metadata"].split(".")
    data = json.loads(base64.urlsafe_b64decode(body)) | changes
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return view | {"private_metadata": f"{forged}.{mac}"}


def test_forged_replayed_and_misdirected_submissions_are_refused(world: World) -> None:
    first = world.fire()
    view = world.open_modal(first)
    # Metadata edited to name another message: its signature no longer holds.
    forged = world.submit(_tampered(view, message=999), comment="x")
    assert "could not be checked" in forged["errors"]["matchers"]
    unsigned = world.submit(view | {"private_metadata": "{}"}, comment="x")
    assert "could not be checked" in unsigned["errors"]["matchers"]
    # Someone else submitting Jane's modal.
    assert "someone else" in world.submit(view, user=BOB, comment="x")["errors"]["matchers"]
    # The real one, then the same modal again: one silence.
    assert world.submit(view, comment="x") == {"response_action": "clear"}
    again = world.submit(view, comment="x, once more")  # another request, the same modal
    assert "submitted already" in again["errors"]["matchers"]
    assert len(world.am.posted()) == 1
    # The same signed request twice is one request (and answers nothing the second time).
    payload = view_submission(world.open_modal(first), JANE, comment="y")
    body = interaction_body(payload)
    headers = signed(body)
    assert world.client.post("/slack/interactions", content=body, headers=headers).json() == {
        "response_action": "clear"
    }
    replay = world.client.post("/slack/interactions", content=body, headers=headers)
    assert (replay.status_code, replay.content) == (200, b"")
    assert len(world.am.posted()) == 2


def test_metadata_naming_another_message_is_refused_even_when_signed(world: World) -> None:
    first = world.fire()
    view = world.open_modal(first)
    metadata = silence_modal.verify(view["private_metadata"], SIGNING_SECRET, _now(view))
    other = silence_modal.ModalMetadata(**{**metadata.__dict__, "message": metadata.message + 1})
    moved = view | {"private_metadata": silence_modal.sign(other, SIGNING_SECRET)}
    answer = world.submit(moved, comment="x")
    assert "does not have" in answer["errors"]["matchers"]
    assert world.am.posted() == []


def _now(view: dict[str, Any]) -> float:
    body = view["private_metadata"].split(".")[0]
    return float(json.loads(base64.urlsafe_b64decode(body))["issued"])


def test_alertmanager_not_answering_is_told_in_the_modal_and_nothing_changes(
    world: World,
) -> None:
    message = world.fire()
    view = world.open_modal(message)
    world.am.down = True
    answer = world.submit(view, comment="x")
    assert "did not answer: nothing was silenced" in answer["errors"]["matchers"]
    assert world.am.silences == {}
    assert "Silenced by" not in json.dumps(message.current_blocks)
    assert world.slack.replies(message) == []
    world.am.down = False  # the same modal may be sent again once Alertmanager is back
    assert world.submit(view, comment="x") == {"response_action": "clear"}
    assert len(world.am.silences) == 1


def test_alertmanager_refusing_says_its_reason(world: World) -> None:
    view = world.open_modal(world.fire())
    world.am.refuse = "silence invalid: start time must be before end time"
    answer = world.submit(view, comment="x")
    assert "refused the silence: silence invalid" in answer["errors"]["matchers"]


def test_only_those_silence_allow_names_may_silence(tmp_path: Path, fake_slack: FakeSlack) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.read_text() + f"\nsilence: {{allow: [{BOB}, S0ONCALL]}}\n")
    fake_slack.groups["S0ONCALL"] = [BOB]
    with make_world(tmp_path, fake_slack, str(routes)) as world:
        message = world.fire()
        view = world.open_modal(message)
        assert "callback_id" not in view  # a notice, not the form
        assert "silence.allow" in json.dumps(view)
        fake_slack.groups["S0ONCALL"] = [BOB, JANE]  # Jane joins the on-call group
        world.slack.views.clear()
        # The group is read again after a minute; a new router process reads it at once.
        world.client.app.state.runtime.silences._groups.clear()  # type: ignore[attr-defined]
        assert "callback_id" in world.open_modal(message)


def test_grafana_alerts_get_silence_only_when_its_api_is_configured(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES.read_text() + "\nalertmanagers:\n  - {name: grafana, source: grafana,"
        " url: 'https://grafana.example.com/api/alertmanager/grafana',"
        " external_url: 'https://grafana.example.com/'}\n"
    )
    with make_world(tmp_path, fake_slack, str(routes)) as world:
        body = (
            Path(__file__).parents[1] / "golden/sources/grafana/firing-single.json"
        ).read_bytes()
        headers = {**AUTH}
        assert (
            world.client.post("/webhooks/alertmanager", content=body, headers=headers).status_code
            == 202
        )
        message = posted(world.slack, world.store)
        assert "silence" in buttons(message)
        assert "open_alertmanager" not in buttons(message)  # Grafana's UI is not Alertmanager's
        view = world.open_modal(message)
        assert world.submit(view, comment="grafana maintenance") == {"response_action": "clear"}
        (request,) = [r for r in world.am.requests if r.method == "POST"]
        assert str(request.url) == (
            "https://grafana.example.com/api/alertmanager/grafana/api/v2/silences"
        )
