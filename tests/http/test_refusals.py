"""Refused webhooks in the log: a line per source and reason, rate-limited, no credential."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.errors import PayloadError, PayloadTooLarge, Unauthorized
from router.http.refusals import RefusalLog, reason
from tests.fakes.clock import FakeClock
from tests.helpers import BODY, TOKEN, settings

WRONG = "wrong-token-that-must-stay-secret"


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused ")]


def test_one_line_per_source_and_reason_then_a_count(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    refusals = RefusalLog(clock)
    wrong = Unauthorized("Authorization: bearer token does not match ALERTMANAGER_TOKEN")
    with caplog.at_level(logging.WARNING, logger="router"):
        for _ in range(5):
            refusals.refused("alertmanager", wrong)
            clock.advance(1)
        refusals.refused("grafana", wrong)  # another source: its own line
        clock.advance(10)
        refusals.refused("alertmanager", wrong)
    assert _refusals(caplog) == [
        "refused alertmanager webhook (401): "
        "Authorization: bearer token does not match ALERTMANAGER_TOKEN",
        "refused grafana webhook (401): "
        "Authorization: bearer token does not match ALERTMANAGER_TOKEN",
        "refused alertmanager webhook (401): "
        "Authorization: bearer token does not match ALERTMANAGER_TOKEN "
        "(4 more like it not logged since the last)",
    ]
    fields = caplog.records[-1].__dict__
    assert (fields["source"], fields["status"], fields["suppressed"]) == ("alertmanager", 401, 4)


def test_payload_errors_are_named_by_kind_and_field_never_by_what_the_body_said() -> None:
    quoted = PayloadError("version", "expected \"4\", got 'a value from the body'")
    assert reason(quoted) == ("bad payload", "version")
    assert reason(PayloadTooLarge("body: 99 bytes is over the limit of 10")) == (
        "body too large (ROUTER_MAX_BODY_BYTES)",
        None,
    )
    assert reason(PayloadError("Content-Type", "expected json", status_code=415)) == (
        "not JSON (Content-Type)",
        None,
    )


def test_a_refused_webhook_is_logged_without_the_token_it_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings(tmp_path), run_dispatcher=False)
    headers = {"Authorization": f"Bearer {WRONG}", "Content-Type": "application/json"}
    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        assert (
            client.post("/webhooks/alertmanager", content=BODY, headers=headers).status_code == 401
        )
        assert (
            client.post("/webhooks/alertmanager", content=BODY, headers=headers).status_code == 401
        )
        datadog = {"X-Router-Secret": WRONG, "Content-Type": "application/json"}
        assert client.post("/webhooks/datadog", content=b"{}", headers=datadog).status_code == 401
    assert _refusals(caplog) == [
        "refused alertmanager webhook (401): "
        "Authorization: bearer token does not match ALERTMANAGER_TOKEN",
        "refused datadog webhook (401): DATADOG_WEBHOOK_SECRET is not set, so datadog webhooks "
        "are refused (set it, or allow unauthenticated requests with auth: {datadog: none} in "
        "the routes file)",
    ]
    everything = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert WRONG not in everything
    assert TOKEN not in everything
