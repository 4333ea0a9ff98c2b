"""Group commit keeps each request's guarantee, on SQLite and PostgreSQL.

A group is written with ``Store.write_group`` directly, so which requests share
a transaction is decided by the test, not by timing.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from router.alert import Alert
from router.app import create_app
from router.decide import Ruleset
from router.errors import PayloadError, StoreUnavailable
from router.store import GroupWriter, IngestRequest, IngestResult, Store
from router.store import ingest as ingest_module
from router.store.schema import alerts, members, messages, outbox
from tests.fakes.clock import FakeClock
from tests.fakes.postgres import PostgresServer
from tests.helpers import AUTH, BODY, make_alert, settings, stored, wait_for


def request(ruleset: Ruleset, *items: Alert, delivery: str | None = None) -> IngestRequest:
    batch = [(a, ruleset.decide(a)) for a in items]
    return IngestRequest(batch, delivery=("alertmanager", delivery) if delivery else None)


def count(store: Store, table: sa.Table, *where: Any) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )


def group_alert(n: int, **kw: Any) -> Alert:
    return make_alert(f"Alert{n}", group_key=f"group-{n}", env="prod", **kw)


def test_requests_of_one_group_are_each_answered_with_what_they_did(
    store: Store, ruleset: Ruleset
) -> None:
    group = [request(ruleset, group_alert(n), group_alert(n + 100)) for n in range(5)]
    store.write_group(group)
    results = [r.answer.result() for r in group]
    # Each request's two alerts are in two groups: two messages of its own.
    assert results == [IngestResult(2, 2, 0)] * 5
    assert count(store, alerts) == 10
    assert count(store, outbox, outbox.c.kind == "slack_message") == count(store, messages)


def test_a_poisoned_request_fails_alone(
    store: Store, ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses one request's writes: it gets its error, the others are stored."""
    real = ingest_module.Ingest._write_alerts

    def refuse_poison(self: Any, kept: list[Any]) -> Any:
        written = real(self, kept)  # written, then refused: the savepoint takes it back
        if any(k.alert.name == "Poison" for k in kept):
            raise DataError("INSERT INTO alerts ...", {}, ValueError("value too long"))
        return written

    monkeypatch.setattr(ingest_module.Ingest, "_write_alerts", refuse_poison)
    good = [request(ruleset, group_alert(n)) for n in range(4)]
    poison = request(ruleset, make_alert("Poison", group_key="poison", env="prod"))
    group = [good[0], good[1], poison, good[2], good[3]]
    store.write_group(group)
    assert [r.answer.result().alerts for r in good] == [1, 1, 1, 1]
    with pytest.raises(PayloadError) as refused:
        poison.answer.result()
    assert refused.value.status_code == 422
    names = {n for (n,) in _rows(store, sa.select(alerts.c.name))}
    assert names == {"Alert0", "Alert1", "Alert2", "Alert3"}  # nothing of the poison
    assert count(store, outbox) == 4


def test_a_value_postgresql_refuses_is_a_4xx_for_that_request_only(
    postgres: PostgresServer, ruleset: Ruleset, clock: FakeClock
) -> None:
    """A value past validation that PostgreSQL refuses (SQLite stores any length)."""
    store = Store.from_url(postgres.new_database(), clock)
    too_long = make_alert(group_key="g", env="prod").model_copy(update={"fingerprint": "f" * 300})
    good, poison = request(ruleset, group_alert(1)), request(ruleset, too_long)
    store.write_group([poison, good])
    with pytest.raises(PayloadError) as refused:
        poison.answer.result()
    assert refused.value.status_code == 422
    assert "the database refused a value" in refused.value.message
    assert good.answer.result().alerts == 1
    assert count(store, alerts) == 1
    store.engine.dispose()


def test_duplicates_within_one_group_post_once(store: Store, ruleset: Ruleset) -> None:
    """HA peers send the same alert; a retry repeats the delivery id: one message, one entry."""
    alert = group_alert(7)
    peer_a, peer_b = request(ruleset, alert), request(ruleset, alert)
    retry_1 = request(ruleset, group_alert(8), delivery="d-8")
    retry_2 = request(ruleset, group_alert(8), delivery="d-8")
    store.write_group([peer_a, peer_b, retry_1, retry_2])
    assert peer_a.answer.result().changed_messages == 1
    assert peer_b.answer.result().changed_messages == 0  # a repeat: nothing new to post
    assert retry_2.answer.result().duplicate
    assert count(store, alerts) == 2
    assert count(store, messages) == 2
    assert count(store, members) == 2
    assert count(store, outbox, outbox.c.kind == "slack_message") == 2
    (repeats,) = _rows(store, sa.select(alerts.c.repeats).where(alerts.c.name == "Alert7"))
    assert repeats == (1,)


def test_a_request_that_repeats_an_earlier_alert_sees_it_as_if_alone(
    store: Store, ruleset: Ruleset
) -> None:
    """Firing then resolved in one group: the message is posted, then closed, as sequentially."""
    firing = request(ruleset, group_alert(3))
    resolved = request(ruleset, group_alert(3, status="resolved", ends_at="2026-11-22T01:10:00Z"))
    store.write_group([firing, resolved])
    assert firing.answer.result().changed_messages == 1
    assert resolved.answer.result().changed_messages == 1
    (closed,) = _rows(store, sa.select(messages.c.closed))
    assert closed == (True,)
    # The entry's version counts both changes: the dispatcher posts the message closed.
    (version,) = _rows(store, sa.select(outbox.c.version))
    assert version == (2,)


def test_a_failed_commit_answers_every_request_of_the_group(
    store: Store, ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request's writes went through, then the commit was refused: none is stored."""
    group = [request(ruleset, group_alert(n)) for n in range(3)]
    store.ensure_schema()
    real_tx = store._tx

    @contextlib.contextmanager
    def refused_commit() -> Iterator[Any]:
        with real_tx() as conn:
            yield conn
            raise StoreUnavailable("database refused the write: disk I/O error")

    monkeypatch.setattr(store, "_tx", refused_commit)
    store.write_group(group)
    for r in group:
        with pytest.raises(StoreUnavailable):
            r.answer.result()
    monkeypatch.undo()
    assert count(store, alerts) == 0


def test_the_writer_thread_groups_what_is_waiting(store: Store, ruleset: Ruleset) -> None:
    """Requests queued while a group is being written go together in the next one."""
    writer = GroupWriter(store)
    held = threading.Lock()
    held.acquire()
    real = store.write_group
    first_group = threading.Event()

    def slow_first(group: list[IngestRequest]) -> None:
        if not first_group.is_set():
            first_group.set()
            held.acquire()  # the first group waits until the rest are queued
        real(group)

    store.write_group = slow_first  # type: ignore[method-assign]
    answers: list[Future[IngestResult]] = [writer.submit(request(ruleset, group_alert(0)))]
    assert first_group.wait(30)
    answers += [writer.submit(request(ruleset, group_alert(n))) for n in range(1, 21)]
    held.release()
    assert [a.result(timeout=60).alerts for a in answers] == [1] * 21
    writer.close()
    assert (writer.groups, writer.requests) == (2, 21)
    assert count(store, alerts) == 21


def _rows(store: Store, query: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


def test_concurrent_webhooks_one_poisoned_through_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests queued together over HTTP share a transaction; the poisoned one alone
    gets its 4xx, every other one its 202 and a stored alert."""
    real = ingest_module.Ingest._write_alerts

    def refuse_poison(self: Any, kept: list[Any]) -> Any:
        written = real(self, kept)
        if any(k.alert.name == "Poison" for k in kept):
            raise DataError("INSERT INTO alerts ...", {}, ValueError("value too long"))
        return written

    monkeypatch.setattr(ingest_module.Ingest, "_write_alerts", refuse_poison)
    app = create_app(settings(tmp_path), run_dispatcher=False)
    store: Store = app.state.runtime.store
    held, first = threading.Event(), threading.Event()
    real_group = store.write_group

    def hold_the_first(group: list[IngestRequest]) -> None:
        if not first.is_set():
            first.set()
            held.wait(30)  # the others queue meanwhile
        real_group(group)

    monkeypatch.setattr(store, "write_group", hold_the_first)
    names = ["Alert0", *[f"Alert{n}" for n in range(1, 8)], "Poison"]
    answers: dict[str, int] = {}
    with TestClient(app) as client:

        def send(name: str) -> None:
            body = json.loads(BODY)
            body["groupKey"] = f"group-{name}"
            body["alerts"][0]["labels"]["alertname"] = name
            body["alerts"][0]["fingerprint"] = f"fp-{name}"
            answers[name] = client.post(
                "/webhooks/alertmanager", json=body, headers=AUTH
            ).status_code

        threads = [threading.Thread(target=send, args=(names[0],))]
        threads[0].start()
        assert first.wait(30)
        threads += [threading.Thread(target=send, args=(n,)) for n in names[1:]]
        for thread in threads[1:]:
            thread.start()
        wait_for(lambda: app.state.runtime.writer.waiting() == len(names) - 1, 30, "all queued")
        held.set()
        for thread in threads:
            thread.join(30)
        assert answers.pop("Poison") == 422
        assert set(answers.values()) == {202}
        stored_names = {a["name"] for a in stored(client)}
        assert stored_names == set(names) - {"Poison"}
        assert app.state.runtime.writer.groups == 2  # the first alone, then the other eight
