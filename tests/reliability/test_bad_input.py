"""A corpus of malformed and hostile requests: each a clear 4xx, never a 5xx, nothing stored.

Hostile *text* in an otherwise valid alert is still an alert: it is accepted and
must come out of Slack inert (test_hostile_text_is_accepted_and_inert).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from tests.fakes.slack import FakeSlack
from tests.helpers import ADMIN_TOKEN, GOLDEN, AppClients, routes_without_storm, settings, wait_for

AM_TOKEN = "am-corpus-token"
PD_SECRET = "pd-corpus-secret"
DD_SECRET = "dd-corpus-secret"
GRAFANA_TOKEN = "grafana-corpus-token"
SENTRY_SECRET = "sentry-corpus-secret"
SLACK_SECRET = "slack-corpus-secret"
LIMIT = 256 * 1024

AM = json.loads((GOLDEN / "sources/alertmanager/firing-group.json").read_text())
PD = json.loads((GOLDEN / "sources/pagerduty/incident-triggered.json").read_text())
DD = json.loads((GOLDEN / "sources/datadog/triggered.json").read_text())
GF = json.loads((GOLDEN / "sources/grafana/several-alerts.json").read_text())
SN = json.loads((GOLDEN / "sources/sentry/metric-critical.json").read_text())
SN_EVENT = json.loads((GOLDEN / "sources/sentry/event-alert.json").read_text())


def am_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": content_type}


def pd_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    signature = hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-PagerDuty-Signature": f"v1={signature}",
        "X-Webhook-Id": "corpus",
        "Content-Type": content_type,
    }


def dd_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"X-Router-Secret": DD_SECRET, "Content-Type": content_type}


def gf_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {GRAFANA_TOKEN}", "Content-Type": content_type}


def sn_headers(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    signature = hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Sentry-Hook-Signature": signature,
        "Sentry-Hook-Resource": "metric_alert",
        "Request-ID": "corpus",
        "Content-Type": content_type,
    }


def plain(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type}


def admin(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": content_type}


def slack_headers(
    body: bytes, at: float | None = None, secret: str = SLACK_SECRET
) -> dict[str, str]:
    ts = str(int(at if at is not None else time.time()))
    # Signed over the raw bytes (slack_sdk's helper wants text; some bodies here are not).
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    signature = "v0=" + digest.hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


JSON_ENDPOINTS = [
    ("/webhooks/alertmanager", AM, am_headers),
    ("/webhooks/pagerduty", PD, pd_headers),
    ("/webhooks/datadog", DD, dd_headers),
    ("/webhooks/grafana", GF, gf_headers),
    ("/webhooks/sentry", SN, sn_headers),
    ("/api/route?source=alertmanager", AM, admin),
]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None  # None: any 4xx


def mutate(data: dict[str, Any], path: list[str | int], value: Any) -> bytes:
    out: Any = copy.deepcopy(data)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return json.dumps(out).encode()


WRONG_TYPES: dict[str, list[tuple[list[str | int], Any]]] = {
    "/webhooks/alertmanager": [
        (["alerts"], {}),
        (["alerts"], "x"),
        (["alerts"], None),
        (["alerts", 0], 1),
        (["alerts", 0], []),
        (["alerts", 0, "labels"], []),
        (["alerts", 0, "labels"], "a=b"),
        (["alerts", 0, "labels", "pod"], 1),
        (["alerts", 0, "labels", "pod"], None),
        (["alerts", 0, "annotations"], ["x"]),
        (["alerts", 0, "annotations", "summary"], {"a": 1}),
        (["alerts", 0, "startsAt"], "soon"),
        (["alerts", 0, "endsAt"], [1]),
        (["alerts", 0, "status"], "pending"),
        (["alerts", 0, "status"], 1),
        (["status"], "maybe"),
        (["version"], "3"),
        (["groupLabels"], "x"),
        (["alerts", 0, "fingerprint"], 7),
    ],
    "/webhooks/pagerduty": [
        (["event"], []),
        (["event"], "x"),
        (["event", "event_type"], 3),
        (["event", "event_type"], None),
        (["event", "data"], "x"),
        (["event", "data", "id"], {}),
        (["event", "data", "created_at"], "x"),
        (["event", "data", "service"], "Checkout"),
        (["event", "data", "priority"], ["P1"]),
        (["event", "occurred_at"], "yesterday"),
        (["event", "agent"], 5),
        (["event", "data", "number"], "one"),
    ],
    "/webhooks/datadog": [
        (["title"], {"a": 1}),
        (["tags"], ["a:b"]),
        (["date"], "tomorrow"),
        (["date"], "-1"),
        (["schema"], "someone/else"),
        (["transition"], []),
        (["monitor_id"], {"id": 1}),
        (["priority"], ["P1"]),
    ],
    "/webhooks/grafana": [
        (["alerts"], {}),
        (["alerts", 1, "labels"], []),
        (["alerts", 2, "labels", "instance"], 9),
        (["alerts", 0, "status"], "alerting"),
        (["alerts", 0, "values"], ["B", 91.2]),
        (["alerts", 0, "values", "B"], "high"),
        (["alerts", 0, "silenceURL"], {"url": "x"}),
        (["alerts", 0, "valueString"], 5),
        (["alerts", 0, "startsAt"], "yesterday"),
        (["orgId"], "one"),
    ],
    "/webhooks/sentry": [
        (["action"], "exploded"),
        (["action"], 1),
        (["data"], "x"),
        (["data", "metric_alert"], []),
        (["data", "metric_alert", "alert_rule"], None),
        (["data", "metric_alert", "alert_rule", "name"], ["x"]),
        (["data", "metric_alert", "date_started"], "noon"),
        (["data", "metric_alert", "projects"], "checkout"),
        (["data", "description_title"], {"t": 1}),
    ],
}


def corpus() -> list[Case]:
    cases: list[Case] = []
    for path, valid, headers in JSON_ENDPOINTS:
        body = json.dumps(valid).encode()
        for k in range(1, 16):  # truncated JSON
            cut = body[: len(body) * k // 16]
            cases.append(Case(f"truncated {k}/16 {path}", "POST", path, cut, headers(cut), 400))
        not_objects: list[Any] = [[], "text", 1, None, True, [{"alerts": []}]]
        for top in not_objects:  # not an object
            raw = json.dumps(top).encode()
            cases.append(Case(f"top-level {top!r} {path}", "POST", path, raw, headers(raw), 422))
        deep = b"[" * 50_000 + b"]" * 50_000
        cases.append(Case(f"deep nesting {path}", "POST", path, deep, headers(deep), 400))
        deep_inside = b'{"alerts": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        cases.append(
            Case(
                f"deep nesting inside {path}", "POST", path, deep_inside, headers(deep_inside), 400
            )
        )
        huge = json.dumps({"alerts": [], "pad": "x" * (LIMIT + 1)}).encode()
        cases.append(Case(f"huge body {path}", "POST", path, huge, headers(huge), 413))
        bad_utf8 = b'{"alerts": "\xff\xfe"}'
        cases.append(Case(f"invalid UTF-8 {path}", "POST", path, bad_utf8, headers(bad_utf8), 400))
        nul = b"\x00\x01\x02"
        cases.append(Case(f"binary {path}", "POST", path, nul, headers(nul), 400))
        for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x", "image/png",
                      "application/x-www-form-urlencoded"):  # fmt: skip
            cases.append(
                Case(f"content type {ctype} {path}", "POST", path, body, headers(body, ctype), 415)
            )
        for field, value in WRONG_TYPES.get(
            path.split("?")[0], WRONG_TYPES["/webhooks/alertmanager"][:6]
        ):
            raw = mutate(valid, field, value)
            label = f"wrong type {'.'.join(map(str, field))}={json.dumps(value)[:20]} {path}"
            cases.append(Case(label, "POST", path, raw, headers(raw), 422))

    am = json.dumps(AM).encode()
    for name, hdrs in {
        "no credentials": {"Content-Type": "application/json"},
        "wrong token": {"Authorization": "Bearer wrong", "Content-Type": "application/json"},
        "basic auth": {"Authorization": f"Basic {AM_TOKEN}", "Content-Type": "application/json"},
        "empty bearer": {"Authorization": "Bearer ", "Content-Type": "application/json"},
        "long token": {
            "Authorization": "Bearer " + "a" * 10_000,
            "Content-Type": "application/json",
        },
        "token with suffix": {
            "Authorization": f"Bearer {AM_TOKEN}x",
            "Content-Type": "application/json",
        },
        "lower-case scheme only": {"Authorization": "bearer", "Content-Type": "application/json"},
    }.items():
        cases.append(Case(f"alertmanager {name}", "POST", "/webhooks/alertmanager", am, hdrs, 401))
    pd = json.dumps(PD).encode()
    for name, signature in {
        "missing": "",
        "forged": "v1=" + "0" * 64,
        "other secret": "v1=" + hmac.new(b"other", pd, hashlib.sha256).hexdigest(),
        "other body": "v1=" + hmac.new(PD_SECRET.encode(), pd + b" ", hashlib.sha256).hexdigest(),
        "sha1 length": "v1=" + "a" * 40,
        "no scheme": hmac.new(PD_SECRET.encode(), pd, hashlib.sha256).hexdigest(),
        "v0 scheme": "v0=" + hmac.new(PD_SECRET.encode(), pd, hashlib.sha256).hexdigest(),
        "huge header": "v1=" + "b" * 9000,
    }.items():
        hdrs = {"Content-Type": "application/json", "X-Webhook-Id": "x"}
        if signature:
            hdrs["X-PagerDuty-Signature"] = signature
        cases.append(
            Case(f"pagerduty signature {name}", "POST", "/webhooks/pagerduty", pd, hdrs, 401)
        )
    dd = json.dumps(DD).encode()
    for name, secret in {
        "missing": None,
        "wrong": "nope",
        "long": "x" * 5000,
        "prefix": DD_SECRET[:-1],
    }.items():
        hdrs = {"Content-Type": "application/json"} | (
            {"X-Router-Secret": secret} if secret else {}
        )
        cases.append(Case(f"datadog secret {name}", "POST", "/webhooks/datadog", dd, hdrs, 401))

    for name, hdrs in {
        "no credentials": {"Content-Type": "application/json"},
        "alertmanager's token": {
            "Authorization": f"Bearer {AM_TOKEN}",
            "Content-Type": "application/json",
        },
    }.items():
        gf = json.dumps(GF).encode()
        cases.append(Case(f"grafana {name}", "POST", "/webhooks/grafana", gf, hdrs, 401))
    sn = json.dumps(SN).encode()
    for name, signature in {
        "missing": "",
        "forged": "0" * 64,
        "other body": hmac.new(SENTRY_SECRET.encode(), sn + b" ", hashlib.sha256).hexdigest(),
    }.items():
        hdrs = {"Content-Type": "application/json"}
        if signature:
            hdrs["Sentry-Hook-Signature"] = signature
        cases.append(Case(f"sentry signature {name}", "POST", "/webhooks/sentry", sn, hdrs, 401))
    event_fields: list[tuple[list[str | int], Any]] = [
        (["data", "event", "tags"], "browser:chrome"),
        (["data", "event", "tags", 0], {"k": "v"}),
        (["data", "event", "datetime"], "noon"),
        (["data", "event", "issue_id"], ["1"]),
    ]
    for field, value in event_fields:
        raw = mutate(SN_EVENT, field, value)
        label = f"sentry event wrong type {'.'.join(map(str, field))}"
        cases.append(Case(label, "POST", "/webhooks/sentry", raw, sn_headers(raw), 422))

    labels = {f"l{i}": "v" for i in range(600)}
    oversize: list[tuple[str, list[str | int], Any]] = [
        ("thousands of labels", ["alerts", 0, "labels"], labels),
        ("long label value", ["alerts", 0, "labels", "pod"], "x" * 70_000),
        ("long annotation", ["alerts", 0, "annotations", "description"], "y" * 70_000),
        ("long label name", ["alerts", 0, "labels"], {"k" * 2000: "v"}),
    ]
    for name, field, big in oversize:
        raw = mutate(AM, field, big)
        cases.append(
            Case(
                f"alertmanager {name}", "POST", "/webhooks/alertmanager", raw, am_headers(raw), 422
            )
        )
    many_tags = json.dumps(DD | {"tags": ",".join(f"t{i}:v" for i in range(600))}).encode()
    cases.append(
        Case(
            "datadog thousands of tags",
            "POST",
            "/webhooks/datadog",
            many_tags,
            dd_headers(many_tags),
            422,
        )
    )

    form = urllib.parse.urlencode({"text": "help", "user_id": "U1"}).encode()
    for path in ("/slack/commands", "/slack/interactions"):
        good = slack_headers(form)
        for name, hdrs in {
            "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
            "forged": slack_headers(form, secret="forged"),
            "stale": slack_headers(form, at=time.time() - 3600),
            "future": slack_headers(form, at=time.time() + 3600),
            "bad timestamp": {**good, "X-Slack-Request-Timestamp": "noon"},
            "huge timestamp": {**good, "X-Slack-Request-Timestamp": "9" * 50},
            "no v0": {**good, "X-Slack-Signature": good["X-Slack-Signature"][3:]},
        }.items():
            cases.append(Case(f"slack {name} {path}", "POST", path, form, hdrs, 401))
        huge = b"text=" + b"x" * (LIMIT + 1)
        cases.append(Case(f"slack huge {path}", "POST", path, huge, slack_headers(huge), 413))
        bad = b"text=\xff\xfe"
        cases.append(
            Case(f"slack invalid UTF-8 {path}", "POST", path, bad, slack_headers(bad), 400)
        )
    for name, payload in {
        "no payload": None,
        "payload not JSON": "{not json",
        "payload a list": "[]",
        "no user": json.dumps({"type": "block_actions"}),
        "hostile user id": json.dumps({"type": "block_actions", "user": {"id": "<!channel>"}}),
        "actions not a list": json.dumps(
            {"type": "block_actions", "user": {"id": "U123"}, "actions": "x"}
        ),
        "action not an object": json.dumps(
            {"type": "block_actions", "user": {"id": "U123"}, "actions": [1]}
        ),
        "tick not a step": json.dumps(
            {
                "type": "block_actions",
                "user": {"id": "U123"},
                "actions": [{"action_id": "step_done", "value": "RUN-001:<!here>"}],
            }
        ),
        "form without a user": json.dumps({"type": "view_submission", "view": {}}),
        "form without a view": json.dumps({"type": "view_submission", "user": {"id": "U123"}}),
        "form for no id": json.dumps(
            {
                "type": "view_submission",
                "user": {"id": "U123"},
                "view": {"callback_id": "step_failed", "private_metadata": "1; DROP"},
            }
        ),
    }.items():
        raw = urllib.parse.urlencode(
            {"payload": payload} if payload is not None else {"x": "y"}
        ).encode()
        cases.append(
            Case(f"interaction {name}", "POST", "/slack/interactions", raw, slack_headers(raw), 400)
        )

    for name, method, path, status in (
        ("limit not a number", "GET", "/alerts?limit=abc", 422),
        ("alert id not a number", "GET", "/alerts/abc", 422),
        ("unknown alert", "GET", "/alerts/999999", 404),
        ("unknown runbook", "GET", "/runbooks/RUN-9999", 404),
        ("runbook id junk", "GET", "/runbooks/%00%FF", 404),
        ("unknown source", "POST", "/webhooks/nagios", 404),
        ("explain without the admin token", "POST", "/api/route?source=alertmanager", 401),
        ("GET a webhook", "GET", "/webhooks/alertmanager", 405),
    ):
        cases.append(
            Case(name, method, path, b"{}" if method == "POST" else b"", plain(b""), status)
        )
    return cases


CORPUS = corpus()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("corpus")
    s = settings(
        tmp,
        alertmanager_token=AM_TOKEN,
        pagerduty_webhook_secrets=PD_SECRET,
        datadog_webhook_secret=DD_SECRET,
        grafana_token=GRAFANA_TOKEN,
        sentry_client_secret=SENTRY_SECRET,
        slack_signing_secret=SLACK_SECRET,
        max_body_bytes=LIMIT,
    )
    with ExitStack() as stack:
        c = AppClients(tmp, stack)(s, run_dispatcher=False, raise_server_exceptions=False)
        yield c
        listed = c.get("/alerts?state=all", headers={"Accept": "application/json"}).json()["alerts"]
        assert listed == [], "a refused request stored an alert"
        assert c.app.state.runtime.store.outbox_counts() == {}  # type: ignore[attr-defined]


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 200, len(CORPUS)
    assert len({c.name for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_refused_with_a_clear_4xx(client: TestClient, case: Case) -> None:
    response = client.request(
        case.method, case.path, content=case.body or None, headers=case.headers
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if case.status is not None:
        assert response.status_code == case.status, response.text[:300]
    if (
        response.headers.get("content-type", "").startswith("application/json")
        and response.status_code != 422
    ):
        assert response.json().get("error") or response.json().get("detail")


HOSTILE = "<!channel> <!here> <!everyone> <@U024BE7LH> <#C0123> <!subteam^S9> <https://evil.example|click> <mailto:a@b>"
MENTION_OR_LINK = re.compile(r"<[!@#]|<(https?|mailto):")


def _texts(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _texts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _texts(v)
    elif isinstance(obj, str):
        yield obj


def test_hostile_text_is_accepted_and_inert(tmp_path: Path, fake_slack: FakeSlack) -> None:
    s = settings(
        tmp_path,
        config=routes_without_storm(tmp_path),
        alertmanager_token=AM_TOKEN,
        pagerduty_webhook_secrets=PD_SECRET,
        datadog_webhook_secret=DD_SECRET,
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
    )
    am = copy.deepcopy(AM)
    for alert in am["alerts"]:
        alert["labels"] = dict.fromkeys(alert["labels"], HOSTILE) | {HOSTILE[:20]: HOSTILE}
        alert["annotations"] = dict.fromkeys(alert["annotations"], HOSTILE)
    pd = copy.deepcopy(PD)
    pd["event"]["data"]["title"] = HOSTILE
    pd["event"]["data"]["service"]["summary"] = HOSTILE
    dd = DD | {
        "title": HOSTILE,
        "message": HOSTILE,
        "tags": f"env:{HOSTILE},service:{HOSTILE}",
        "scope": HOSTILE,
    }
    with TestClient(create_app(s)) as client:
        for path, body, headers in (
            ("/webhooks/alertmanager", am, am_headers),
            ("/webhooks/pagerduty", pd, pd_headers),
            ("/webhooks/datadog", dd, dd_headers),
        ):
            raw = json.dumps(body).encode()
            assert client.post(path, content=raw, headers=headers(raw)).status_code == 202
        wait_for(lambda: len(fake_slack.posts()) >= 3, 20, "the three messages")
    for _, body in fake_slack.calls:
        for text in _texts(body):
            ours = re.sub(
                r"<!date\^\d+\^[^|>]*\|[^>]*>|<http://localhost:8080/runbooks/RUN-\d+\|", "", text
            )
            ours = re.sub(
                r"<https://(runbooks\.prometheus-operator\.dev|acme\.pagerduty\.com)/[^|>]*\|",
                "",
                ours,
            )
            assert not MENTION_OR_LINK.search(ours), text[:300]
