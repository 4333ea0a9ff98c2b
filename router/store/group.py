"""Group commit: the webhooks waiting to be stored are written in one transaction.

One writer thread takes every request that is waiting (up to ``MAX_GROUP``),
writes them and commits once; only then is each answered. The guarantee is the
one a request has alone: its answer comes after its alerts, messages and outbox
entries are committed, and a request is never half-written.

Within the transaction, requests that share no alert run as one ``Ingest`` (one
set of statements for all of them); a request that repeats an alert of an
earlier one starts the next run, so each request sees the one before it as if
it came alone. Each run has a savepoint: when a run fails, its requests are
tried one by one in savepoints of their own, so one poisoned request gets its
error and the others are stored.

A request of very many alerts comes as ``chunks``: parsed, decided and written a
slice at a time inside its run (a run of its own), so it is never all in memory
at once and is still stored whole or not at all.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError

from router.errors import PayloadError, RequestError, StoreUnavailable
from router.store.database import Database
from router.store.ingest import Batch, Ingest, IngestResult, first_delivery
from router.store.policy import PLAIN, IngestPolicy

log = logging.getLogger("router.store")

MAX_GROUP = 256
"""Requests in one transaction at most (a 1,000-alert request is one request)."""
_DATABASE_DOWN = (OperationalError, InterfaceError, StoreUnavailable)
RACE_ATTEMPTS = 8
"""Replicas racing on the same alerts retry; losing 8 times is unheard of."""


@dataclass
class IngestRequest:
    batch: Batch
    delivery: tuple[str, str] | None = None
    policy: IngestPolicy = PLAIN
    """What the ruleset in force asks of the ingest (storms, response clocks, notes)."""
    chunks: Callable[[], Iterator[Batch]] | None = None
    """Instead of ``batch``, for a request of very many alerts: its alerts a slice at a
    time, parsed and decided as they are written (called again if the run is retried)."""
    size: int = 0
    """How many alerts ``chunks`` holds."""
    answer: Future[IngestResult] = field(default_factory=Future)

    @property
    def keys(self) -> set[tuple[str, str]]:
        return {(a.source, a.fingerprint) for a, _ in self.batch}

    @property
    def alerts(self) -> int:
        return self.size if self.chunks is not None else len(self.batch)


def runs(group: list[IngestRequest]) -> Iterator[list[IngestRequest]]:
    """Consecutive requests that share no alert and the same settings: one Ingest each."""
    current: list[IngestRequest] = []
    seen: set[tuple[str, str]] = set()
    for request in group:
        if request.chunks is not None:  # alone: its alerts are not known until written
            if current:
                yield current
            yield [request]
            current, seen = [], set()
            continue
        keys = request.keys
        alike = not current or current[0].policy == request.policy
        if current and (keys & seen or not alike):
            yield current
            current, seen = [], set()
        current.append(request)
        seen |= keys
    if current:
        yield current


class GroupWrites(Database):
    """``write_group``: the transaction; ``ingest``: one request, through the same code."""

    def write_group(self, group: list[IngestRequest]) -> None:
        """Store the group in one transaction and answer every request in it.

        A request whose own writes fail gets that error; if the commit fails,
        every request gets it (nothing of the group was stored).
        """
        answers: dict[int, IngestResult | BaseException] = {}
        try:
            self.ensure_schema()
            with self._tx() as conn:
                now = self.clock.now()
                for run in runs(group):
                    self._write_run(conn, now, run, answers)
        except BaseException as exc:  # the commit, or the database, failed: nothing stored
            for request in group:
                request.answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for request in group:
            outcome = answers[id(request)]
            if isinstance(outcome, BaseException):
                request.answer.set_exception(outcome)
            else:
                request.answer.set_result(outcome)

    def ingest(
        self,
        batch: Batch,
        *,
        delivery: tuple[str, str] | None = None,
        policy: IngestPolicy = PLAIN,
    ) -> IngestResult:
        """Store one request's alerts, messages and outbox entries in one transaction.

        ``delivery`` is (source, the sender's delivery id): a retry of a delivery
        already stored changes nothing. ``pagerduty_notes`` queues a runbook note
        for each PagerDuty incident routed to a runbook.
        """
        request = IngestRequest(batch, delivery, policy)
        self.write_group([request])
        return request.answer.result()

    def _write_run(
        self,
        conn: Connection,
        now: float,
        run: list[IngestRequest],
        answers: dict[int, IngestResult | BaseException],
    ) -> None:
        """One savepoint for the run; on failure, one savepoint per request."""
        try:
            answers |= self._retrying(conn, now, run)
        except _DATABASE_DOWN:
            raise  # not this run's data: the whole group fails, and is retried by senders
        except Exception as exc:
            if len(run) == 1:
                answers[id(run[0])] = _refused(run[0], exc)
                return
            for request in run:
                try:
                    answers |= self._retrying(conn, now, [request])
                except _DATABASE_DOWN:
                    raise
                except Exception as own:
                    answers[id(request)] = _refused(request, own)

    def _retrying(
        self, conn: Connection, now: float, run: list[IngestRequest]
    ) -> dict[int, IngestResult]:
        for attempt in range(RACE_ATTEMPTS):
            try:
                with conn.begin_nested():
                    return _ingest(conn, now, run)
            except IntegrityError:
                # Another replica stored the same alert or message first; its row is
                # there now, so the next attempt updates it instead.
                if attempt == RACE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # noqa: S311
        raise AssertionError("unreachable")


def _ingest(conn: Connection, now: float, run: list[IngestRequest]) -> dict[int, IngestResult]:
    """One Ingest for the run's requests; deliveries seen before are duplicates."""
    first = run[0]
    ingest = Ingest(conn, now, first.policy)
    answers: dict[int, IngestResult] = {}
    fresh: list[IngestRequest] = []
    for request in run:
        if request.delivery is not None and not first_delivery(conn, now, *request.delivery):
            answers[id(request)] = IngestResult(request.alerts, 0, 0, duplicate=True)
        else:
            fresh.append(request)
    if not fresh:
        return answers
    if first.chunks is not None:  # a run of its own
        return {id(first): _ingest_chunks(conn, now, first, first.chunks)}
    whole = ingest.run([item for request in fresh for item in request.batch])
    if len(fresh) == 1:
        answers[id(fresh[0])] = whole
    else:
        for request in fresh:
            answers[id(request)] = ingest.outcome(request.batch)
    return answers


def _ingest_chunks(
    conn: Connection, now: float, request: IngestRequest, chunks: Callable[[], Iterator[Batch]]
) -> IngestResult:
    """A request of very many alerts, a slice at a time, each like a request of its own
    after the one before (in the same transaction)."""
    alerts = ignored = 0
    changed: set[int] = set()
    for batch in chunks():
        ingest = Ingest(conn, now, request.policy)
        result = ingest.run(batch)
        alerts += result.alerts
        ignored += result.ignored
        changed |= ingest.changed
    return IngestResult(alerts, len(changed), ignored)


def _refused(request: IngestRequest, exc: Exception) -> Exception:
    """The request's own error, rolled back to its savepoint; the rest of its group stays.

    A value the database refuses is the payload's fault (422: a retry cannot help);
    anything else is ours (503: nothing of this request was stored, retry). A request
    of chunks can be refused while it is parsed (its own 4xx).
    """
    if isinstance(exc, RequestError):
        return exc
    log.error(
        "%d alert(s) of one webhook could not be stored (%s: %s); the rest of its group was",
        request.alerts,
        type(exc).__name__,
        exc,
        exc_info=not isinstance(exc, DataError),
    )
    if isinstance(exc, DataError):
        reason = str(exc.orig).strip().splitlines()[0][:300] if exc.orig else type(exc).__name__
        return PayloadError("alerts", f"the database refused a value: {reason}", status_code=422)
    return StoreUnavailable(f"the alerts could not be stored: {type(exc).__name__}")


class GroupWriter:
    """The writer thread: requests queue here, and are written a group at a time."""

    def __init__(
        self,
        store: GroupWrites,
        max_group: int = MAX_GROUP,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.max_group = max_group
        self.on_group = on_group
        """Told each group's size (the router_ingest_group_requests histogram)."""
        self._queue: queue.SimpleQueue[IngestRequest | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0
        """Transactions written (with ``requests``: how well requests are grouped)."""
        self.requests = 0

    def submit(self, request: IngestRequest) -> Future[IngestResult]:
        """Queue a request; its future is answered once its group is committed."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="router-group-writer", daemon=True
                )
                self._thread.start()
        self._queue.put(request)
        return request.answer

    def waiting(self) -> int:
        """Requests queued for the next group."""
        return self._queue.qsize()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self.groups += 1
            self.requests += len(group)
            if self.on_group is not None:
                self.on_group(len(group))
            try:
                self.store.write_group(group)
            except BaseException as exc:  # write_group answers everyone; never die here
                log.exception("group writer: unexpected error")
                for request in group:
                    if not request.answer.done():
                        request.answer.set_exception(exc)
            if stop:
                return
