"""Raw sockets against a running router: no client exhausts its memory, connections or clock.

- Bodies not yet verified (signed sources, Slack) are capped per request and held
  within a budget in all (ROUTER_MAX_UNVERIFIED_BYTES): past it, 503 with Retry-After.
- A connection still sending its body makes room under ROUTER_MAX_CONNECTIONS like
  one still sending its head.
- One authenticated webhook carries at most ROUTER_MAX_ALERTS alerts (413 naming
  it), and one at that limit is stored in bounded memory.
- A group of 50,000 alerts never holds another message's response clock back.

Each attack is measured while it lasts: the router's RSS and /healthz's latency,
printed (-s). What is asserted is the outcome: /healthz answers every probe, memory
grows by a bounded amount, and what must be refused is refused with its status.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.processes import RouterProcess, healthz_seconds, http
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import ROUTES, wait_for

MIB = 1024 * 1024
SECRET = "exhaustion-secret"
TOKEN = "exhaustion-token"
CHUNK = b"x" * 65536


def head(path: str, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answered(conn: socket.socket) -> bool:
    """The server said something (or closed): looked at without reading it."""
    return bool(select.select([conn], [], [], 0)[0])


def upload(
    router: RouterProcess, path: str, headers: dict[str, str], declared: int, send: int
) -> socket.socket:
    """A connection that announced ``declared`` bytes of body and sent ``send`` of them,
    or fewer if the server answered first; left open."""
    conn = socket.create_connection(("127.0.0.1", router.port), timeout=10)
    conn.sendall(head(path, declared, headers))
    sent = 0
    with contextlib.suppress(OSError):
        while sent < send and not answered(conn):
            piece = CHUNK[: min(len(CHUNK), send - sent)]
            conn.sendall(piece)
            sent += len(piece)
    return conn


def status_line(conn: socket.socket, timeout: float = 5) -> str:
    """The first line of the answer on ``conn``; "" if none came."""
    conn.settimeout(timeout)
    try:
        data = conn.recv(4096)
    except OSError:
        return ""
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


@contextlib.contextmanager
def held(conns: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield conns
    finally:
        for conn in conns:
            conn.close()


def probe(router: RouterProcess, times: int = 10) -> tuple[float, int]:
    """/healthz ``times`` times: the worst latency in ms, and how many failed."""
    worst, failed = 0.0, 0
    for _ in range(times):
        try:
            worst = max(worst, healthz_seconds(router, timeout=5))
        except OSError:
            failed += 1
    return worst * 1000, failed


def test_unverified_bodies_are_capped_per_request(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(
        PAGERDUTY_WEBHOOK_SECRETS=SECRET,
        SENTRY_CLIENT_SECRET=SECRET,
        SLACK_SIGNING_SECRET=SECRET,
    )
    fresh = str(int(time.time()))
    junk = "0" * 64
    targets = [
        ("/webhooks/sentry", {"Sentry-Hook-Signature": junk}),
        ("/webhooks/pagerduty", {"X-PagerDuty-Signature": f"v1={junk}"}),
        ("/slack/commands", {}),  # no Slack headers at all
        ("/slack/events", {"X-Slack-Request-Timestamp": fresh, "X-Slack-Signature": f"v0={junk}"}),
    ]
    idle = router.rss_mb()

    # 40 uploads of 10 MiB with a junk signature, each one byte short of done.
    with held([upload(router, *targets[i % 4], 10 * MIB, 10 * MIB - 1) for i in range(40)]) as big:
        loaded = router.rss_mb()
        worst, failed = probe(router)
        statuses = [status_line(c) for c in big]
    print(
        f"40 unverified 10 MiB bodies: RSS {idle:.0f} -> {loaded:.0f} MB; "
        f"/healthz worst {worst:.1f} ms, {failed} failed; answers {sorted(set(statuses))}"
    )
    assert failed == 0
    assert loaded - idle < 30
    assert statuses.count("HTTP/1.1 401 Unauthorized") == 10  # /slack/commands, no headers
    assert statuses.count("HTTP/1.1 413 Request Entity Too Large") == 30


def test_unverified_bodies_past_the_budget_are_refused_with_503_until_it_frees(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(SENTRY_CLIENT_SECRET=SECRET, ROUTER_MAX_UNVERIFIED_BYTES=str(4 * MIB))
    junk = {"Sentry-Hook-Signature": "0" * 64}
    idle = router.rss_mb()
    # 200 uploads under the cap, one byte short: the budget holds some, refuses the rest.
    uploads = [
        upload(router, "/webhooks/sentry", junk, 256 * 1024, 256 * 1024 - 1) for _ in range(200)
    ]
    with held(uploads) as many:
        loaded = router.rss_mb()
        worst, failed = probe(router)
        answers = [c.recv(4096) if answered(c) else b"" for c in many]
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    print(
        f"200 unverified 256 KiB bodies, a 4 MiB budget: RSS {idle:.0f} -> {loaded:.0f} MB; "
        f"/healthz worst {worst:.1f} ms, {failed} failed; {len(refused)} refused with 503"
    )
    assert failed == 0
    assert 180 <= len(refused) <= 190  # 4 MiB holds about 16 of them
    assert all(b"retry-after: " in a.lower() for a in refused)
    assert loaded - idle < 30

    # The budget is given back: a signed request goes through once the uploads are gone.
    body = (Path(__file__).parents[1] / "golden/sources/sentry/metric-critical.json").read_bytes()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "Sentry-Hook-Signature": signature}
    with held([upload(router, "/webhooks/sentry", headers, len(body), 0)]) as (conn,):
        conn.sendall(body)
        assert status_line(conn) == "HTTP/1.1 202 Accepted"


def test_connections_stuck_in_their_body_make_room_for_healthz(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN, ROUTER_MAX_CONNECTIONS="200")
    idle = router.rss_mb()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with held([upload(router, "/webhooks/alertmanager", headers, 1000, 10) for _ in range(400)]):
        loaded = router.rss_mb()
        worst, failed = probe(router, 20)
    print(
        f"400 bodies stuck at 10 of 1000 bytes, 200 connections allowed: RSS {idle:.0f} -> "
        f"{loaded:.0f} MB; /healthz worst {worst:.1f} ms, {failed} of 20 failed"
    )
    assert failed == 0
    assert loaded - idle < 50
    assert "Traceback" not in router.log_path.read_text()  # a client gone is a refusal


def alertmanager_group(count: int, group: str, **labels: str) -> bytes:
    """One group of ``count`` alerts, as small as the probe's (about 37 bytes each)."""
    alerts = [{"labels": {"alertname": "Big", "i": str(i), **labels}} for i in range(count)]
    return json.dumps({"version": "4", "groupKey": group, "alerts": alerts}).encode()


def post_watched(router: RouterProcess, body: bytes) -> tuple[str, float, float, int, float]:
    """Post ``body`` as Alertmanager while /healthz and RSS are watched, until it is answered.

    The answer's status line, how long it took (s), the worst /healthz latency (ms),
    how many probes failed, and the highest RSS (MB).
    """
    answer: dict[str, Any] = {}

    def send() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        with socket.create_connection(("127.0.0.1", router.port), timeout=120) as conn:
            conn.sendall(head("/webhooks/alertmanager", len(body), headers) + body)
            answer["line"] = status_line(conn, timeout=120)

    started = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    worst, failed, peak = 0.0, 0, router.rss_mb()
    while sender.is_alive():
        peak = max(peak, router.rss_mb())
        latency, missed = probe(router, 1)
        worst, failed = max(worst, latency), failed + missed
        time.sleep(0.05)
    sender.join()
    return answer.get("line", ""), time.perf_counter() - started, worst, failed, peak


def test_more_alerts_than_the_limit_are_refused_before_any_is_parsed(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    idle = router.rss_mb()
    huge = alertmanager_group(100_000, "huge")
    line, took, worst, failed, peak = post_watched(router, huge)
    print(
        f"100,000 alerts ({len(huge) / 1e6:.1f} MB): {line} after {took:.1f} s; RSS {idle:.0f} "
        f"-> peak {peak:.0f} MB; /healthz worst {worst:.1f} ms, {failed} failed"
    )
    assert line == "HTTP/1.1 413 Request Entity Too Large"
    assert failed == 0
    assert peak - idle < 60


def test_a_webhook_at_the_alert_limit_is_stored_in_bounded_memory(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    idle = router.rss_mb()
    at_limit = alertmanager_group(20_000, "at-limit")  # the default ROUTER_MAX_ALERTS
    line, took, worst, failed, peak = post_watched(router, at_limit)
    print(
        f"20,000 alerts ({len(at_limit) / 1e6:.1f} MB): {line} after {took:.1f} s; RSS "
        f"{idle:.0f} -> peak {peak:.0f} MB; /healthz worst {worst:.1f} ms, {failed} failed"
    )
    assert line == "HTTP/1.1 202 Accepted"
    assert failed == 0
    assert peak - idle < 150


def clock_routes(folder: Path, ack_within: str) -> Path:
    """The test routes with storms off, SEV1's ack_within short, and a route of its own
    for the unrelated alert."""
    data = yaml.safe_load(ROUTES.read_text())
    data["severity"].pop("storm", None)
    data["severity"]["levels"]["SEV1"] = {"respond": "< 5 min", "ack_within": ack_within}
    data["routes"].insert(
        0, {"name": "disk", "matchers": ['alertname="DiskFull"'], "channel": "#db-oncall"}
    )
    path = folder / "routes-short-ack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_group_of_50000_alerts_never_holds_back_another_sev1_escalation(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    ack_within = 3.0
    router = start_router(
        ROUTER_CONFIG=str(clock_routes(tmp_path, f"{ack_within:g}s")),
        ALERTMANAGER_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        ROUTER_MAX_ALERTS="60000",
    )
    idle = router.rss_mb()
    group = alertmanager_group(50_000, "big-group", severity="critical")
    line, took, worst, failed, peak = post_watched(router, group)
    assert line == "HTTP/1.1 202 Accepted"
    unrelated = {
        "version": "4",
        "groupKey": "disk",
        "alerts": [{"labels": {"alertname": "DiskFull", "severity": "critical"}}],
    }
    status, _ = http(
        "POST",
        f"{router.url}/webhooks/alertmanager",
        unrelated,
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 202
    stored_at = time.monotonic()

    def escalated(posts: list[SlackMessage]) -> bool:
        return any("Not acknowledged" in r.text for p in posts for r in fake_slack.replies(p))

    wait_for(lambda: escalated(fake_slack.posts("#db-oncall")), ack_within + 20, "the SEV1's")
    late = time.monotonic() - stored_at - ack_within
    print(
        f"50,000-alert group stored in {took:.1f} s (RSS {idle:.0f} -> peak {peak:.0f} MB, "
        f"/healthz worst {worst:.1f} ms, {failed} failed); the unrelated SEV1 escalated "
        f"{late:.1f} s after its ack_within"
    )
    assert failed == 0
    assert late < 10
    (big,) = [p for p in fake_slack.posts() if "Big" in p.text]
    assert "*50000 firing*" in json.dumps(big.current_blocks)
    wait_for(lambda: escalated([big]), 10, "the big group's own escalation")
