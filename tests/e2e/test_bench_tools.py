"""The load generator the ingest benchmark uses: wrk and bench/unique_alerts.lua.

A benchmark is only as good as its load: every request must be a valid webhook
the router accepts, and a new group each time (so each one stores a message).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from tests.conftest import ROOT, require_binary
from tests.e2e.conftest import RouterProcess, http

TOKEN = "bench-token"


def test_the_wrk_script_sends_unique_valid_webhooks(
    start_router: Callable[..., RouterProcess],
) -> None:
    wrk = require_binary("wrk")
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    out = subprocess.run(
        [wrk, "-t1", "-c2", "-d1s", "-s", str(ROOT / "bench/unique_alerts.lua"),
         "-H", f"Authorization: Bearer {TOKEN}", f"{router.url}/webhooks/alertmanager", "--", "20"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    summary = json.loads(next(x for x in out.splitlines() if x.startswith("JSON "))[5:])
    assert summary["requests"] > 0
    assert (summary["non2xx"], summary["errors"]) == (0, 0)
    # Paced at 20 ms a request per connection: about 2 x 50 in a second, not thousands.
    assert summary["requests"] < 400
    router.settled()
    status, listed = http(
        "GET", f"{router.url}/alerts?state=all&limit=1000", headers={"Accept": "application/json"}
    )
    assert status == 200
    alerts = listed["alerts"]
    # Four new alerts a request, none repeated; a request in flight when wrk stopped
    # (one per connection at most) may have been stored without being counted.
    assert 4 * summary["requests"] <= len(alerts) <= 4 * (summary["requests"] + 2)
    assert len({a["fingerprint"] for a in alerts}) == len(alerts)
