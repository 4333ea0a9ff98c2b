"""No statement of the ingest grows with history: each finds its rows by an index.

The ingest's statements are recorded on SQLite while alerts arrive, fold into a storm
and resolve on a database that already holds resolved history (analyzed, as one that
grew in use is), and SQLite's ``EXPLAIN QUERY PLAN`` of each may not scan a table that
grows. bench/queries.py lists the same statements with their plans and times.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from router.alert import Alert
from router.decide import Ruleset
from router.store import IngestPolicy, Store
from router.storm import StormPolicy
from tests.fakes.clock import FakeClock
from tests.helpers import make_alert

STORM = StormPolicy(alerts=5, within=300.0, level="SEV1", channel="#incidents")
GROWING = ("alerts", "messages", "message_alerts", "outbox", "message_events", "holds")
"""Tables that grow with history (channel_turns holds one row a channel)."""
BOUNDED = ("USING INDEX ix_messages_storm",)
"""Scans of an index that holds few rows: the storm messages (one a storm)."""


def group(n: int, status: str = "firing") -> list[Alert]:
    ends: dict[str, Any] = {"ends_at": "2026-11-22T01:10:00Z"} if status == "resolved" else {}
    return [
        make_alert(
            "KubePodCrashLooping",
            group_key=f"g{n}",
            status=status,
            severity="warning",
            pod=f"pod-{n}-{k}",
            **ends,
        )
        for k in range(4)
    ]


@pytest.fixture
def history(tmp_path: Path, clock: FakeClock, ruleset: Ruleset) -> Iterator[Store]:
    """300 groups that fired and resolved a day ago, each its own message; analyzed."""
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    for status in ("firing", "resolved"):
        for n in range(300):
            store.ingest([(a, ruleset.decide(a)) for a in group(n, status)])
    with store.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    clock.advance(86400)
    yield store
    store.engine.dispose()


def recorded(store: Store, work: Any) -> list[tuple[str, Any]]:
    """The statements ``work`` sends, each with the parameters it first ran with."""
    seen: dict[str, Any] = {}

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.setdefault(sql, params[0] if many and params else params)

    sa.event.listen(store.engine, "before_cursor_execute", before)
    try:
        work()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", before)
    return list(seen.items())


def scans(database: str, statements: list[tuple[str, Any]]) -> list[str]:
    """The statements whose plan scans a table that grows, with that plan."""
    db = sqlite3.connect(database)
    found = []
    try:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
                continue
            plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params or ())]
            if any(
                step.startswith(f"SCAN {t}") and not step.endswith(BOUNDED)
                for step in plan
                for t in GROWING
            ):
                found.append(f"{' '.join(sql.split())[:160]}: {plan}")
    finally:
        db.close()
    return found


def test_arrivals_a_storm_and_resolves_find_their_rows_by_index(
    history: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    def arrive_fold_resolve() -> None:
        for n in range(1000, 1004):  # 16 arrivals within the window: a storm
            history.ingest(
                [(a, ruleset.decide(a)) for a in group(n)], policy=IngestPolicy(storm=STORM)
            )
        history.ingest(
            [(a, ruleset.decide(a)) for a in group(1000)], policy=IngestPolicy(storm=STORM)
        )  # repeat
        clock.advance(60)
        history.ingest(
            [(a, ruleset.decide(a)) for a in group(1001, "resolved")],
            policy=IngestPolicy(storm=STORM),
        )

    statements = recorded(history, arrive_fold_resolve)
    assert len(statements) > 10  # the ingest's statements were seen
    found = scans(str(history.engine.url.database), statements)
    assert found == [], "\n".join(found)


def test_the_check_sees_a_scan(history: Store) -> None:
    """What the test above asserts can fail: an open-message lookup as ``closed IS 0``
    (the form the partial index's predicate does not match) scans the messages."""
    from router.store.schema import messages

    statement = sa.select(messages.c.id).where(messages.c.key == "k", messages.c.closed.is_(False))
    sql = str(statement.compile(history.engine, compile_kwargs={"literal_binds": True}))
    assert scans(str(history.engine.url.database), [(sql, None)]) != []


def test_retention_walks_its_rows_by_index(history: Store, clock: FakeClock) -> None:
    """Each retention step walks the table it prunes by an index and looks at what hangs
    off each row by another: a pass costs its batch, not the history."""
    while items := history.claim("test", 60, limit=500).items:  # Slack took them all
        for item in items:
            history.complete(item, item.version)
    clock.advance(200 * 86400)
    now = clock.now()
    statements = recorded(history, lambda: history.prune_history(now - 1, now - 1, batch=50))
    assert sum(sql.startswith("DELETE") for sql, _ in statements) >= 5  # it deleted
    found = scans(str(history.engine.url.database), statements)
    assert found == [], "\n".join(found)
