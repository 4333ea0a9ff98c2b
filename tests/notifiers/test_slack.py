from __future__ import annotations

import socket

import pytest

from router.errors import DeliveryError, Reason
from router.notifiers.slack import SlackNotifier
from router.render import Rendered
from tests.fakes.slack import FakeSlack

MESSAGE = Rendered("hello", [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}])


@pytest.fixture
def slack(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier("xoxb-test", fake_slack.base_url)


def test_post_update_reply(slack: SlackNotifier, fake_slack: FakeSlack) -> None:
    posted = slack.post("#db-oncall", MESSAGE)
    assert posted.channel == FakeSlack.channel_id("#db-oncall")
    slack.update(posted.channel, posted.ts, Rendered("edited", MESSAGE.blocks))
    reply = slack.reply(posted.channel, posted.ts, Rendered("done", MESSAGE.blocks))
    (parent,) = fake_slack.posts("#db-oncall")
    assert parent.current_text == "edited"
    assert [r.ts for r in fake_slack.replies(parent)] == [reply.ts]
    method, body = fake_slack.calls[0]
    assert method == "chat.postMessage"
    assert body["blocks"] == MESSAGE.blocks
    assert body["unfurl_links"] is False


def test_user_by_email(slack: SlackNotifier, fake_slack: FakeSlack) -> None:
    fake_slack.users = {"U0JANE0001": "jane@example.com"}
    assert slack.user_by_email("Jane@Example.com") == "U0JANE0001"
    assert slack.user_by_email("nobody@example.com") is None  # users_not_found
    fake_slack.fail_next = [(503, {})]
    with pytest.raises(DeliveryError) as caught:
        slack.user_by_email("jane@example.com")
    assert caught.value.retryable


def test_429_carries_retry_after(slack: SlackNotifier, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next = [(429, {"Retry-After": "7"})]
    with pytest.raises(DeliveryError) as caught:
        slack.post("#a", MESSAGE)
    err = caught.value
    assert (err.reason, err.retryable, err.retry_after) == (Reason.RATE_LIMITED, True, 7.0)


def test_5xx_is_retryable(slack: SlackNotifier, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next = [(503, {})]
    with pytest.raises(DeliveryError) as caught:
        slack.post("#a", MESSAGE)
    assert (caught.value.reason, caught.value.retryable) == (Reason.UNAVAILABLE, True)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("missing", Reason.CHANNEL),
        ("bad-token", Reason.AUTH),
    ],
)
def test_permanent_errors(fake_slack: FakeSlack, setup: str, reason: Reason) -> None:
    fake_slack.missing_channels = {"#gone"}
    token = "xoxb-wrong" if setup == "bad-token" else "xoxb-test"
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(token, fake_slack.base_url).post("#gone", MESSAGE)
    assert (caught.value.reason, caught.value.retryable) == (reason, False)
    assert "xoxb" not in str(caught.value)


def test_edit_of_a_deleted_message_is_permanent(slack: SlackNotifier) -> None:
    with pytest.raises(DeliveryError) as caught:
        slack.update("C1", "1.000001", MESSAGE)
    assert (caught.value.reason, caught.value.retryable) == (Reason.NOT_FOUND, False)


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier("xoxb-test", f"http://127.0.0.1:{port}/api/", timeout=2).post("#a", MESSAGE)
    assert (caught.value.reason, caught.value.retryable) == (Reason.UNAVAILABLE, True)
