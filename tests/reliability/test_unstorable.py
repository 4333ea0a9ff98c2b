"""Every class of value a database refuses, in every field of every source, on both backends.

For each golden payload, the fields (string values and numbers, then keys, and an
unknown field added to every object) are poisoned one after the other, each kept
poisoned as long as the router's parsing still takes the payload. A field it
refuses poisoned (a status, a time, an id with a length limit) must be refused
with a 4xx naming it. Then the payload, with every field it takes poisoned at
once (values, then keys apart), must be stored on SQLite and PostgreSQL alike: 202, listed, its pages rendered and its
Slack message delivered, never "the database refused a value". Hypothesis picks
the payload, the poison and where in each text it goes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.errors import PayloadError
from router.http.bodies import parse_json
from router.runtime import Runtime
from router.sources import SOURCES
from router.store.schema import outbox
from tests.helpers import AppClients, payloads, runtime

SECRET = "unstorable-secret"
TEXT_POISONS = ["\x00", "\ud800", "\udfff", "\x00\udc80", "a\x00\x00b"]
NUMBER_POISONS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "7" * 5000]
MARK = "\ue000number\ue000"
Path_ = tuple[int | str, ...]
Target = tuple[str, Path_]  # ("value" | "key" | "number" | "extra", where)


def targets(value: Any, at: Path_ = ()) -> Iterator[Target]:
    """Every string value, key and number of a JSON value, and every object (for an
    unknown field to be added to)."""
    if isinstance(value, dict):
        yield ("extra", at)
        for key, item in value.items():
            yield ("key", (*at, key))
            yield from targets(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from targets(item, (*at, i))
    elif isinstance(value, str):
        yield ("value", at)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield ("number", at)


def poisoned(data: Any, chosen: list[Target], text: str, number: str, where: float) -> str:
    """The payload as JSON text, the chosen targets poisoned."""
    data = copy.deepcopy(data)

    def spoil(value: str) -> str:
        cut = int(len(value) * where)
        return value[:cut] + text + value[cut:]

    # Deepest first, and a value before its key: a renamed key never moves a target.
    for kind, at in sorted(chosen, key=lambda t: (-len(t[1]), t[0] == "key")):
        parent = data
        for step in at[:-1] if kind != "extra" else at:
            parent = parent[step]
        if kind == "extra":
            parent[spoil("extra")] = spoil("unknown field")
            parent["extra_number"] = MARK
        elif kind == "key":
            parent[spoil(str(at[-1]))] = parent.pop(at[-1])
        elif kind == "value":
            parent[at[-1]] = spoil(parent[at[-1]])
        else:
            parent[at[-1]] = MARK
    return json.dumps(data).replace(json.dumps(MARK), number)


def parsed(source: str, body: str) -> PayloadError | int:
    """What the router's parsing makes of the body: its refusal, or how many alerts."""
    src = SOURCES[source]
    try:
        data = parse_json(body.encode("utf-8", "surrogatepass"), "application/json")
        return len(src.read(data).alerts)
    except PayloadError as exc:
        return exc


def headers(source: str, raw: bytes) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json"} | {
        "alertmanager": {"Authorization": f"Bearer {SECRET}"},
        "grafana": {"Authorization": f"Bearer {SECRET}"},
        "datadog": {"X-Router-Secret": SECRET},
        "pagerduty": {"X-PagerDuty-Signature": f"v1={signature}"},
        "sentry": {"Sentry-Hook-Signature": signature},
    }[source]


@pytest.fixture
def app(database_url: str, app_client: AppClients) -> tuple[TestClient, Runtime]:
    secrets: dict[str, Any] = dict.fromkeys(
        (
            "alertmanager_token",
            "grafana_token",
            "datadog_webhook_secret",
            "pagerduty_webhook_secrets",
            "sentry_client_secret",
        ),
        SECRET,
    )
    client = app_client(
        run_dispatcher=False, raise_server_exceptions=False, database_url=database_url, **secrets
    )
    return client, runtime(client)


GOLDEN: dict[str, list[Any]] = {
    source: [json.loads(p.read_text("utf-8")) for p in payloads(source)] for source in SOURCES
}


@pytest.mark.parametrize("source", sorted(SOURCES))
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pick=st.integers(min_value=0),
    text=st.sampled_from(TEXT_POISONS),
    number=st.sampled_from(NUMBER_POISONS),
    where=st.floats(0, 1),
)
def test_every_unstorable_value_in_every_field_is_stored_or_refused_naming_it(
    app: tuple[TestClient, Runtime], source: str, pick: int, text: str, number: str, where: float
) -> None:
    data = GOLDEN[source][pick % len(GOLDEN[source])]
    everything = list(targets(data))
    # Values first, then keys apart: a known field's key poisoned is a field gone, which
    # would hide its poisoned value from the column it goes to.
    for kinds in ({"value", "number", "extra"}, {"key", "extra"}):
        chosen = [t for t in everything if t[0] in kinds]
        body = poisoned(data, taken(source, data, chosen, text, number, where), text, number, where)
        stored_whole(app, source, body)


def taken(
    source: str, data: Any, chosen: list[Target], text: str, number: str, where: float
) -> list[Target]:
    """The targets kept poisoned one after the other while parsing still takes the payload;
    one it refuses alone must be refused naming the field."""
    alerts = parsed(source, json.dumps(data))
    kept: list[Target] = []
    for target in chosen:
        if parsed(source, poisoned(data, [*kept, target], text, number, where)) == alerts:
            kept.append(target)
            continue
        refused = parsed(source, poisoned(data, [target], text, number, where))
        if not isinstance(refused, PayloadError):
            continue  # no alert of it any more (an event type), or refused only with others
        # A field the parser refuses poisoned: a 4xx naming it, or the object it is in.
        named = [str(step) for step in target[1] if isinstance(step, str)]
        assert refused.status_code < 500
        assert not named or any(name[:20] in refused.message for name in named), (
            target,
            refused.message,
        )
    return kept


def stored_whole(app: tuple[TestClient, Runtime], source: str, body: str) -> None:
    """Stored (202), listed, its pages rendered and its messages delivered."""
    client, rt = app
    raw = body.encode("utf-8", "surrogatepass")
    response = client.post(f"/webhooks/{source}", content=raw, headers=headers(source, raw))
    assert response.status_code == 202, response.text[:500]
    listed = client.get("/alerts?state=all", headers={"Accept": "application/json"})
    assert listed.status_code == 200
    for row in listed.json()["alerts"][:3]:
        assert client.get(f"/alerts/{row['id']}").status_code == 200
        assert client.get(f"/alerts/{row['id']}", headers={"Accept": "application/json"}).is_success
    rt.dispatcher.dispatch_due()
    with rt.store.engine.connect() as conn:  # every message rendered and sent (or paced)
        failed = conn.execute(
            sa.select(outbox.c.kind, outbox.c.last_error).where(outbox.c.attempts > 0)
        )
        assert failed.all() == []


def test_the_poisoned_payloads_reach_every_field() -> None:
    """The check above is only as good as its reach: most fields are taken poisoned."""
    for source, datas in GOLDEN.items():
        every = [t for data in datas for t in targets(data)]
        taken = [
            t
            for data in datas
            for t in targets(data)
            if isinstance(parsed(source, poisoned(data, [t], "\x00", "NaN", 0.5)), int)
        ]
        assert len(taken) >= 0.7 * len(every), (source, len(taken), len(every))
