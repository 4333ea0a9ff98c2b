"""Slack's names and the workspace's address for pages: cached, looked up off the request."""

from __future__ import annotations

import time

import pytest

from router.notifiers.directory import SlackDirectory, permalink, slack_user
from router.notifiers.log import LogNotifier
from router.notifiers.slack import SlackNotifier, person_name
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.helpers import wait_for

JANE, BOB = "U01JANE", "U02BOB"


@pytest.fixture
def directory(fake_slack: FakeSlack, clock: FakeClock) -> SlackDirectory:
    fake_slack.names = {JANE: "Jane Doe"}
    fake_slack.users = {BOB: "bob@example.com"}  # known, but no name to give
    return SlackDirectory(SlackNotifier("xoxb-test", fake_slack.base_url), clock, wait=2.0)


def test_names_for_slack_users_only(directory: SlackDirectory, fake_slack: FakeSlack) -> None:
    who = [f"slack:{JANE}", f"slack:{BOB}", "slack:U404", "Jane from PagerDuty", "", None]
    assert directory.names(who) == {f"slack:{JANE}": "Jane Doe"}
    assert fake_slack.count("users.info") == 3  # one each; the other actors are not ids
    assert directory.names(who) == {f"slack:{JANE}": "Jane Doe"}
    assert fake_slack.count("users.info") == 3  # then from the cache, "not found" included


def test_a_slow_slack_does_not_hold_the_page(fake_slack: FakeSlack, clock: FakeClock) -> None:
    fake_slack.names = {JANE: "Jane Doe"}
    fake_slack.delay = 1.5
    slow = SlackDirectory(SlackNotifier("xoxb-test", fake_slack.base_url), clock, wait=0.05)
    began = time.monotonic()
    assert slow.names([f"slack:{JANE}"]) == {}  # the id, for now
    assert time.monotonic() - began < 1.0  # answered long before Slack did
    wait_for(lambda: slow.names([f"slack:{JANE}"]) != {}, 10, "the name, once Slack answers")
    assert fake_slack.count("users.info") == 1  # the page views meanwhile asked no more


def test_names_are_looked_up_again_after_the_ttl(
    directory: SlackDirectory, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    assert directory.names([f"slack:{JANE}"]) == {f"slack:{JANE}": "Jane Doe"}
    fake_slack.names[JANE] = "Jane Q. Doe"
    clock.advance(directory.ttl - 1)
    assert directory.names([f"slack:{JANE}"]) == {f"slack:{JANE}": "Jane Doe"}
    assert fake_slack.count("users.info") == 1
    clock.advance(2)
    # Stale: shown at once while it is looked up again behind the page.
    assert directory.names([f"slack:{JANE}"]) == {f"slack:{JANE}": "Jane Doe"}
    renamed = {f"slack:{JANE}": "Jane Q. Doe"}
    wait_for(lambda: directory.names([f"slack:{JANE}"]) == renamed, 10, "the new name")


def test_slack_down_is_asked_once_a_minute(
    directory: SlackDirectory, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    assert directory.names([f"slack:{JANE}"]) == {f"slack:{JANE}": "Jane Doe"}
    clock.advance(directory.ttl + 1)
    fake_slack.refuse_status = 503
    directory.names([f"slack:{JANE}"])
    wait_for(lambda: fake_slack.count("users.info") == 2, 10, "the refresh")
    for _ in range(5):  # what Slack said before is still shown; Slack is not asked again
        assert directory.names([f"slack:{JANE}"]) == {f"slack:{JANE}": "Jane Doe"}
    assert fake_slack.count("users.info") == 2
    fake_slack.refuse_status = None
    clock.advance(directory.retry)
    fake_slack.names[JANE] = "Jane Q. Doe"
    renamed = {f"slack:{JANE}": "Jane Q. Doe"}
    wait_for(lambda: directory.names([f"slack:{JANE}"]) == renamed, 10, "the retry")


def test_workspace_url_from_auth_test_once(
    directory: SlackDirectory, fake_slack: FakeSlack
) -> None:
    assert directory.workspace_url() == "https://fake-workspace.slack.com/"
    assert directory.workspace_url() == "https://fake-workspace.slack.com/"
    assert fake_slack.count("auth.test") == 1


def test_the_log_notifier_has_no_workspace_and_no_names(clock: FakeClock) -> None:
    local = SlackDirectory(LogNotifier(), clock)
    assert local.workspace_url() is None
    assert local.names([f"slack:{JANE}"]) == {}


def test_permalink() -> None:
    workspace = "https://acme.slack.com/"
    assert (
        permalink(workspace, "C0123ABCD", "1700000000.000100")
        == "https://acme.slack.com/archives/C0123ABCD/p1700000000000100"
    )
    assert permalink(None, "C0123ABCD", "1700000000.000100") is None  # log-only mode
    assert permalink(workspace, "#db-oncall", "1700000000.000100") is None  # not an id
    assert permalink(workspace, "C0123ABCD", None) is None  # not posted yet
    assert permalink(workspace, "C0123ABCD", "javascript:x") is None


def test_who_is_a_slack_user() -> None:
    assert slack_user(f"slack:{JANE}") == JANE
    assert slack_user("slack:<!channel>") is None
    assert slack_user("Jane") is None


def test_person_name_prefers_the_real_name() -> None:
    profile = {"real_name": "Jane Doe", "display_name": "jane"}
    assert person_name({"profile": profile, "name": "jdoe"}) == "Jane Doe"
    assert person_name({"profile": {"real_name": " ", "display_name": "jane"}}) == "jane"
    assert person_name({"name": "jdoe"}) == "jdoe"
    assert person_name({}) is None
    assert person_name({"real_name": "x" * 500}) == "x" * 80
