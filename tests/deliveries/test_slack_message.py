"""``slack_message``: one alert's path from the dispatcher to the Slack call, and what it reads."""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import router.app
import router.runtime
from router.app import build_runtime
from router.runtime import Runtime
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import make_alert, settings

CLIMBS = {Path(router.app.__file__).resolve(), Path(router.runtime.__file__).resolve()}
"""The composition root: built from at start-up, never gone back to by a delivery."""


def _deliver_all(rt: Runtime) -> set[Path]:
    """Claim what is due and deliver it here, on this thread; the files of every call made."""
    files: set[Path] = set()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            files.add(Path(frame.f_code.co_filename).resolve())

    claim = rt.store.claim("test", 60.0)
    assert claim.items
    sys.setprofile(profile)
    try:
        for item in claim.items:
            rt.dispatcher.deliver(item)
    finally:
        sys.setprofile(None)
    return files


def test_a_post_never_goes_back_to_app_or_runtime_before_or_after_a_reload(
    tmp_path: Path,
) -> None:
    slack = RecordingNotifier()
    rt, _ = build_runtime(settings(tmp_path), notifier=slack)
    rt.store.ensure_schema()
    try:
        first = make_alert(env="prod", severity="critical")
        rt.store.ingest([(first, rt.ruleset.decide(first))])
        files = _deliver_all(rt)
        assert [call[0] for call in slack.calls] == ["post"]
        assert not files & CLIMBS
        assert any(f.name == "slack_message.py" for f in files)  # the profile saw the path

        rt.reload()
        again = make_alert("DiskFull", env="prod", severity="critical")
        rt.store.ingest([(again, rt.ruleset.decide(again))])
        assert not _deliver_all(rt) & CLIMBS
        assert [call[0] for call in slack.calls] == ["post", "post"]
    finally:
        rt.dispatcher.close()
        rt.store.engine.dispose()
