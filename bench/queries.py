"""The statements one webhook request runs in the database, with their plans.

Run: .venv/bin/python bench/queries.py [--history N] [--seconds 3] [--load realistic]
        [--write]

The router runs in this process (uvicorn in a thread) on SQLite, on an empty
database and then on one already holding ``--history`` resolved alerts (seeded as
bench/ingest.py seeds its history row). wrk drives it with one connection, so every
group the writer commits is one request; every statement the group writer's thread
sends is recorded, with its parameters, for the length of the run. Each distinct
statement is listed with how often it runs per request, the time it takes, and
SQLite's ``EXPLAIN QUERY PLAN`` for the parameters it was first run with: a
``SCAN`` of a table that grows with history is a query that grows with it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    WEBHOOK,
    Load,
    free_port,
    history_database,
    router_env,
    wrk,
)
from bench.search import publish  # noqa: E402
from router.app import create_app  # noqa: E402
from router.runtime import Runtime  # noqa: E402
from router.settings import Settings  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

WRITER_THREAD = "router-group-writer"


@dataclass
class Statement:
    """One distinct statement the writer sent: how often, how long, first parameters."""

    sql: str
    parameters: Any
    who: str
    many: bool
    calls: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class Recorder:
    """Every statement the group writer's thread sends while ``on``."""

    on: bool = False
    statements: dict[str, Statement] = field(default_factory=dict)
    _started: dict[int, float] = field(default_factory=dict)

    def before(
        self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool
    ) -> None:
        if self.on:
            self._started[id(cursor)] = time.perf_counter()

    def after(
        self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool
    ) -> None:
        started = self._started.pop(id(cursor), None)
        if started is None:
            return
        who = "ingest" if threading.current_thread().name == WRITER_THREAD else "delivery"
        key = f"{who} {_shape(sql)}"
        first = params[0] if many and params else params
        found = self.statements.setdefault(key, Statement(sql, first, who, many))
        found.calls += 1
        found.rows += len(params) if many else 1
        found.seconds += time.perf_counter() - started


def _shape(sql: str) -> str:
    """The statement with its IN lists of any length as one."""
    return re.sub(r"\((?:\?, )*\?\)", "(?...)", " ".join(sql.split()))


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[int, Runtime]]:
    """The router in this process, on a free port, until the block ends."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield port, app.state.runtime
    finally:
        server.should_exit = True
        thread.join()


@dataclass(frozen=True)
class Recorded:
    requests: int
    statements: list[Statement]
    plans: dict[str, list[str]]


def record(database: Path, slack: FakeSlack, tmp: Path, load: Load, seconds: float) -> Recorded:
    env = router_env(tmp, slack, f"sqlite:///{database}", load)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = Settings()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    recorder = Recorder()
    with serving(settings) as (port, rt):
        sa.event.listen(rt.store.engine, "before_cursor_execute", recorder.before)
        sa.event.listen(rt.store.engine, "after_cursor_execute", recorder.after)
        url = f"http://127.0.0.1:{port}{WEBHOOK}"
        wrk(url, 2, connections=1, pause_ms=1, load=load)  # the storm is on before we look
        groups, requests = rt.writer.groups, rt.writer.requests
        recorder.on = True
        run = wrk(url, seconds, connections=1, pause_ms=1, load=load)
        recorder.on = False
        assert rt.writer.requests - requests == rt.writer.groups - groups, "one request a group"
        answered = rt.writer.requests - requests
        assert run.non2xx == 0, run
    plans = explain(database, recorder.statements.values())
    ordered = sorted(recorder.statements.values(), key=lambda s: -s.seconds)
    return Recorded(answered, ordered, plans)


def explain(database: Path, statements: Any) -> dict[str, list[str]]:
    """SQLite's plan of each statement, for the parameters it first ran with (in a
    transaction rolled back: EXPLAIN runs nothing, but be sure)."""
    db = sqlite3.connect(database)
    plans: dict[str, list[str]] = {}
    try:
        for s in statements:
            try:
                rows = db.execute(f"EXPLAIN QUERY PLAN {s.sql}", s.parameters or ()).fetchall()
            except sqlite3.Error as exc:
                plans[s.sql] = [f"(no plan: {exc})"]
                continue
            plans[s.sql] = [row[-1] for row in rows]
    finally:
        db.rollback()
        db.close()
    return plans


def table(name: str, recorded: Recorded) -> list[str]:
    """Two tables: the ingest's statements (the group writer's) and the deliveries' (the
    dispatcher's, for the messages those requests opened), each per request."""
    n = max(1, recorded.requests)
    lines = [f"### {name}: {recorded.requests} requests", ""]
    for who, what in (("ingest", "the group writer"), ("delivery", "the dispatcher")):
        mine = [s for s in recorded.statements if s.who == who]
        total = sum(s.seconds for s in mine) * 1000 / n
        commits = sum(s.calls for s in mine if s.sql.startswith("BEGIN")) / n
        lines += [
            f"{what.capitalize()}: {total:.2f} ms of statements and {commits:.2f} write"
            " transactions per request.",
            "",
            "| statement | runs/request | rows/request | ms/request | plan |",
            "| --- | --- | --- | --- | --- |",
        ]
        for s in mine:
            text = _shape(s.sql)
            short = text if len(text) <= 110 else text[:107] + "..."
            plan = "; ".join(recorded.plans.get(s.sql, [])) or "-"
            lines.append(
                f"| `{short.replace('|', '/')}` | {s.calls / n:.2f} | {s.rows / n:.1f}"
                f" | {s.seconds * 1000 / n:.3f} | {plan.replace('|', '/')} |"
            )
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--load", choices=["sharded", "realistic"], default="realistic")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="router-queries-"))
    slack = FakeSlack().start()
    try:
        empty = record(tmp / "empty.db", slack, tmp, args.load, args.seconds)
        full_path, _ = history_database(tmp, slack, args.history)
        full = record(full_path, slack, tmp, args.load, args.seconds)
    finally:
        slack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"## Per-request statements (bench/queries.py, load {args.load})",
        "",
        "Every statement sent while wrk drives the realistic load over one connection,"
        " per request answered: the group writer's (the ingest, before the 202) and the"
        " dispatcher's (delivering what those requests queued), slowest first, with"
        " SQLite's plan. A `SCAN` of a table that grows is a query that grows with"
        " history.",
        "",
        *table("Empty database", empty),
        "",
        *table(f"{args.history:,} resolved alerts stored", full),
    ]
    publish("\n".join(lines) + "\n", write=args.write)


if __name__ == "__main__":
    main()
