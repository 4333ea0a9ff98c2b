"""One alert's path: the router/ files that run code between an Alertmanager webhook
and its chat.postMessage, after start-up, traced; CONTRIBUTING.md lists exactly them.

The app starts first (untraced work: settings, the ruleset, the store, the
composition root). Then one webhook goes in through the app (TestClient) and the
dispatcher delivers it to a fake Slack; every Python call and return in a router/
file, on any thread, counts until Slack is asked to post. The dispatcher's
housekeeping (its chores, once a second) is not the alert's path and is left out.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi.testclient import TestClient

import router
from router.app import create_app
from tests.fakes.slack import FakeSlack
from tests.helpers import AUTH, BODY, settings, wait_for

ROUTER = Path(router.__file__).resolve().parent
CONTRIBUTING = ROUTER.parent / "CONTRIBUTING.md"
SECTION = "## The path of one alert"

TARGET = 20
"""Files one alert may cross (#22)."""
MEASURED = 52
"""Files it crosses today. The coordinator lowers this to the count the test reports as
the ingest steps, the outbox and the renderers are reshaped, down to TARGET."""

COMPOSITION = {"router/app.py", "router/runtime.py"}
"""Built at start; an alert's path never goes back to them."""
STILL_CALLED_BACK: set[str] = set()
"""None left: a Slack delivery draws its renderer from what it was given at start-up
(router/deliveries/current.py), and a request reads the Runtime's attributes only."""


class Trace:
    """A profile function: the router/ files whose code runs while ``on``, in the order
    first seen."""

    def __init__(self) -> None:
        self.on = False
        self.files: dict[str, None] = {}

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event not in ("call", "return"):
            return
        path = frame.f_code.co_filename
        if not path.startswith(str(ROUTER)):
            return
        outer: FrameType | None = frame
        while outer is not None:
            if outer.f_code.co_name == "_housekeeping":
                return  # the chores: not this alert's path
            outer = outer.f_back
        self.files.setdefault(Path(path).relative_to(ROUTER.parent).as_posix(), None)


class StopAtPost(FakeSlack):
    """The fake Slack, which ends the trace when it is asked to post."""

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    def _answer(
        self, method: str, body: dict[str, Any], auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "chat.postMessage":
            self.trace.on = False
        return super()._answer(method, body, auth)


def traced_path(tmp_path: Path) -> list[str]:
    """The files of one alert's path, first seen first."""
    trace = Trace()
    slack = StopAtPost(trace).start()
    before = sys.getprofile(), threading.getprofile()
    sys.setprofile(trace)
    threading.setprofile(trace)  # the threads the app starts: dispatcher, writer, pool
    try:
        app = create_app(
            settings(tmp_path, slack_bot_token="xoxb-test", slack_api_url=slack.base_url)
        )
        with TestClient(app) as client:
            trace.on = True
            response = client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
            assert response.status_code == 202
            wait_for(lambda: bool(slack.posts()), 20, "the message")
            assert not trace.on
    finally:
        sys.setprofile(before[0])
        threading.setprofile(before[1])
        slack.stop()
    return list(trace.files)


def listed() -> list[str]:
    """The files CONTRIBUTING.md's section lists, one numbered line each."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `(router/[^`]+\.py)`", section, flags=re.MULTILINE)


def test_one_alert_crosses_the_files_contributing_lists(tmp_path: Path) -> None:
    path = traced_path(tmp_path)
    print(f"{len(path)} files (target {TARGET}):", *path, sep="\n")
    assert len(path) <= MEASURED
    assert set(path) & COMPOSITION == STILL_CALLED_BACK
    documented = listed()
    assert len(documented) == len(set(documented)), "a file listed twice"
    missing = [f for f in path if f not in documented]
    stale = [f for f in documented if f not in path]
    assert (missing, stale) == ([], []), (
        f"{SECTION} in CONTRIBUTING.md: add {missing}, drop {stale}"
    )


def test_the_trace_sees_every_thread_and_leaves_out_the_chores() -> None:
    """The profile reaches threads started after it is set, and skips the housekeeping."""
    trace = Trace()
    trace.on = True
    threading.setprofile(trace)
    try:
        from router import chores, clock

        def _housekeeping() -> None:
            chores.every(1.0, clock.SystemClock(), lambda: None)()

        def work() -> None:
            clock.SystemClock().now()
            _housekeeping()

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    finally:
        threading.setprofile(None)
    assert list(trace.files) == ["router/clock.py"]
