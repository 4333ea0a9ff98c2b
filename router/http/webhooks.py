"""Alert webhooks in; what the router would do with a payload, for the admin.

    request -> credentials -> body (size-capped) -> parse -> decide -> store -> 202

A big body is decoded, parsed and routed in a worker thread, so the event loop
keeps answering /healthz and other requests however big one batch is; the write
goes to the group writer (router/store/group.py). A request carries at most
ROUTER_MAX_ALERTS alerts (413 before the rest of its body is decoded); one of more
than CHUNK_ALERTS is parsed, decided and written a slice at a time by the writer,
in one transaction, so its memory is that of a slice, not of the whole request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from router.alert import Alert
from router.clock import Clock
from router.decide import Decision, Ruleset
from router.errors import (
    PayloadError,
    PayloadTooLarge,
    RequestError,
    StoreUnavailable,
    Unauthorized,
)
from router.http.bodies import TooMany, UnverifiedBodies, parse_json, read_body
from router.http.deps import runtime
from router.http.lean import LeanRoute
from router.http.refusals import RefusalLog
from router.metrics import Metrics
from router.records import ExplainedAlert
from router.settings import Settings
from router.sources import SOURCES, Parsed, Source
from router.store import IngestPolicy, IngestRequest, IngestResult

log = logging.getLogger("router")

MAX_EXPLAINED_ALERTS = 1000
MAX_EXPLAIN_BYTES = 1024 * 1024
"""Both ways: the payload to explain, and the answer."""

Batch = list[tuple[Alert, list[Decision]]]
T = TypeVar("T")
INLINE_BYTES = 64 * 1024
"""Bodies up to this size are decoded and routed on the event loop (see ``cpu``)."""
CHUNK_ALERTS = 1000
"""A request of more alerts is parsed, decided and written this many at a time."""

router = APIRouter()


class Writer(Protocol):
    def submit(self, request: IngestRequest) -> Future[IngestResult]: ...


class Waker(Protocol):
    def wake(self) -> None: ...


class WebhookService(Protocol):
    """What of the running service the webhook handlers use (the runtime has it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ruleset(self) -> Ruleset: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def unverified(self) -> UnverifiedBodies: ...

    @property
    def refusals(self) -> RefusalLog: ...

    @property
    def writer(self) -> Writer: ...

    @property
    def dispatcher(self) -> Waker: ...

    @property
    def pagerduty_rest(self) -> bool: ...


WebhookDep = Annotated[WebhookService, Depends(runtime)]


def open_source(rt: WebhookService, source: Source) -> bool:
    """routes.yaml says ``auth: {source: none}``: its requests are taken unverified."""
    return rt.ruleset.config.data.auth.get(source.name, "required") == "none"


def verify(rt: WebhookService, source: Source, request: Request, body: bytes) -> None:
    """The source's credentials, unless routes.yaml says ``auth: {source: none}``."""
    if open_source(rt, source):
        return
    secrets = rt.settings.secrets_for(source.secret_env)
    if not secrets:
        raise Unauthorized(
            f"{source.secret_env} is not set, so {source.name} webhooks are refused "
            f"(set it, or allow unauthenticated requests with auth: {{{source.name}: none}} "
            "in the routes file)"
        )
    source.verify(request.headers, body, secrets)


async def receive(
    rt: WebhookService, request: Request, source: Source, *, check: bool, limit: int | None = None
) -> bytes:
    """Credentials first: what needs no body is checked before a byte of it is read.

    A body that cannot be checked before it is read (signed, or ``auth: none``) is
    read within the budget of unverified bodies, a signed one under its own cap.
    """
    limit = limit or rt.settings.max_body_bytes
    header = source.signature_header
    unverified = open_source(rt, source) or header is not None
    if check and (header is None or not request.headers.get(header)):
        # Unsigned sources are checked in full; a signed one without its header is
        # refused here, naming the header or the variable.
        verify(rt, source, request, b"")
    if not check or not unverified:
        return await read_body(request, limit)
    if header is not None:
        limit = min(limit, source.signed_body_limit or limit)
    with rt.unverified.hold(request, limit):
        body = await read_body(request, limit)
        verify(rt, source, request, body)
    return body


async def cpu(body: bytes, work: Callable[[], T]) -> T:
    """Decoding, parsing and routing: on the event loop for a small body (a few hundred
    microseconds, less than a hop to a thread), in a worker thread for a big one, so
    /healthz and the other requests keep their turn however big one batch is."""
    if len(body) <= INLINE_BYTES:
        return work()
    return await run_in_threadpool(work)


def decode_and_decide(
    ruleset: Ruleset,
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    max_alerts: int,
) -> tuple[Parsed, Batch | None]:
    """The body decoded and read, and its alerts decided; None instead of them for a
    request of more than CHUNK_ALERTS (``decided_in_chunks`` does those as they are
    written)."""
    try:
        data = parse_json(body, headers.get("content-type"), listing=("alerts", max_alerts))
    except TooMany:
        raise PayloadTooLarge(
            f"alerts: more than {max_alerts} in one request (ROUTER_MAX_ALERTS)"
        ) from None
    parsed = source.read(data, headers, chunk=CHUNK_ALERTS)
    if parsed.later is not None:
        return parsed, None
    return parsed, [(alert, ruleset.decide(alert, now)) for alert in parsed.alerts]


@dataclass(frozen=True, slots=True)
class Routed:
    route: str | None
    runbook: str | None
    level: str
    channel: str
    unmapped: bool


@dataclass(frozen=True, slots=True)
class Noted:
    """What the log and the metrics keep of one stored alert (the alert itself is gone
    by then, for a request written in chunks)."""

    source: str
    name: str
    fingerprint: str
    status: str
    decisions: tuple[Routed, ...]


def noted(batch: Batch) -> list[Noted]:
    return [
        Noted(
            alert.source,
            alert.name,
            alert.fingerprint,
            alert.status,
            tuple(
                Routed(
                    d.route,
                    d.runbook.key if d.runbook else None,
                    d.severity.level,
                    d.channel,
                    d.severity.unmapped,
                )
                for d in decisions
            ),
        )
        for alert, decisions in batch
    ]


def decided_in_chunks(
    ruleset: Ruleset, later: Callable[[], Iterator[list[Alert]]], now: float, notes: list[Noted]
) -> Callable[[], Iterator[Batch]]:
    """The request's alerts, a slice at a time (``Parsed.later``), decided when the writer
    asks for them; what is noted of each goes to ``notes`` (afresh if the writer starts
    over)."""

    def chunks() -> Iterator[Batch]:
        notes.clear()
        for alerts in later():
            batch = [(alert, ruleset.decide(alert, now)) for alert in alerts]
            notes.extend(noted(batch))
            yield batch

    return chunks


def not_a_replay(rt: WebhookService, parsed: Parsed) -> None:
    """A signed event older than ROUTER_REPLAY_WINDOW is refused (a captured request)."""
    when = parsed.occurred_at
    if when is None:
        return
    age = rt.clock.now() - when.timestamp()
    window = rt.settings.replay_window
    if age > window:
        raise PayloadError(
            "event.occurred_at",
            f"{age / 3600:.0f} h old, beyond the {window / 3600:g} h "
            "replay window (ROUTER_REPLAY_WINDOW)",
        )


def count(rt: WebhookService, stored: Sequence[Noted]) -> None:
    """Metrics for alerts that were stored."""
    metrics = rt.metrics
    for alert in stored:
        metrics.received.labels(alert.source).inc()
        for d in alert.decisions:
            metrics.routed.labels(alert.source, d.route or "default").inc()
            if d.runbook is None:
                metrics.unmatched.labels(alert.source).inc()
                metrics.unmatched_name(alert.name)
            if d.unmapped:
                metrics.severity_unmapped.labels(alert.source).inc()


def report(rt: WebhookService, stored: Sequence[Noted]) -> None:
    count(rt, stored)
    log_stored(stored)


def log_stored(stored: Sequence[Noted]) -> None:
    """One event per alert stored, with what it was and where it goes, as fields."""
    if not log.isEnabledFor(logging.INFO):
        return  # the fields are not built for nothing under load
    for alert in stored:
        for d in alert.decisions:
            log.info(
                "stored %s alert %s (%s): %s, route %s, %s",
                alert.source,
                alert.name,
                alert.status,
                d.level,
                d.route or "default",
                d.runbook or "no runbook",
                extra={
                    "source": alert.source,
                    "alertname": alert.name,
                    "fingerprint": alert.fingerprint,
                    "status": alert.status,
                    "route": d.route,
                    "runbook": d.runbook,
                    "severity": d.level,
                    "channel": d.channel,
                },
            )


async def ingest(rt: WebhookService, source: Source, request: Request) -> Response:
    """Verify, parse, decide, store; 202 only once the alerts are durably stored."""
    body = await receive(rt, request, source, check=True)
    ruleset, headers, now = rt.ruleset, request.headers, rt.clock.now()
    most = rt.settings.max_alerts
    parsed, batch = await cpu(
        body, lambda: decode_and_decide(ruleset, source, body, headers, now, most)
    )
    not_a_replay(rt, parsed)
    delivery_id = parsed.delivery_id
    notes: list[Noted] = []
    later = parsed.later
    stored = IngestRequest(
        batch or [],
        delivery=(source.name, delivery_id) if delivery_id else None,
        policy=IngestPolicy.of(ruleset, rt.pagerduty_rest),
        chunks=decided_in_chunks(ruleset, later, now, notes) if later is not None else None,
        size=parsed.size,
    )
    # Answered once the group this request joined is committed (router/store/group.py).
    result = await asyncio.wrap_future(rt.writer.submit(stored))
    rt.dispatcher.wake()
    if not result.duplicate:  # after the commit: a refused batch counts nothing
        stored_notes = notes if batch is None else noted(batch)
        await cpu(body, lambda: report(rt, stored_notes))
    answer = {
        "status": "duplicate" if result.duplicate else "accepted",
        "alerts": result.alerts,
        "messages_changed": result.changed_messages,
        "stale_ignored": result.ignored,
    }
    return JSONResponse(answer, status_code=202)


async def webhook(source_name: str, request: Request) -> Response:
    rt: WebhookService = request.app.state.runtime  # a lean route: no dependencies solved
    source = SOURCES.get(source_name)
    if source is None:
        known = ", ".join(sorted(SOURCES))
        return JSONResponse({"error": f"unknown source {source_name!r}; known: {known}"}, 404)
    code = 500
    try:
        response = await ingest(rt, source, request)
        code = response.status_code
        return response
    except RequestError as exc:
        code = exc.status_code
        rt.refusals.refused(source.name, exc)
        raise
    except StoreUnavailable:
        code = 503
        raise
    finally:
        rt.metrics.requests.labels(source.name, str(code)).inc()


router.add_api_route(
    "/webhooks/{source_name}",
    webhook,
    methods=["POST"],
    status_code=202,
    route_class_override=LeanRoute,
)


def explain_alerts(
    ruleset: Ruleset, alerts: list[Alert], now: float | None = None
) -> list[ExplainedAlert]:
    """Each alert with the decisions it gets at ``now``, as /api/route and ``route`` print
    them: a decision held by its route's time intervals says until when."""
    return [
        ExplainedAlert(
            name=a.name,
            status=a.status,
            fingerprint=a.fingerprint,
            group_key=a.group_key,
            labels=a.labels,
            decisions=[d.record() for d in ruleset.decide(a, now)],
        )
        for a in alerts
    ]


def explain(ruleset: Ruleset, source: Source, data: Any, now: float | None = None) -> bytes:
    """/api/route's answer, bounded in alerts and in bytes like a webhook's body."""
    items = data.get("alerts") if isinstance(data, dict) else None
    if isinstance(items, list) and len(items) > MAX_EXPLAINED_ALERTS:  # before parsing them
        raise PayloadError(
            "alerts", f"{len(items)} alerts; explain at most {MAX_EXPLAINED_ALERTS} at a time"
        )
    alerts = source.parse(data)
    if len(alerts) > MAX_EXPLAINED_ALERTS:
        raise PayloadError(
            "alerts", f"{len(alerts)} alerts; explain at most {MAX_EXPLAINED_ALERTS} at a time"
        )
    explained = [e.model_dump(mode="json") for e in explain_alerts(ruleset, alerts, now)]
    body = json.dumps({"alerts": explained}).encode()
    if len(body) > MAX_EXPLAIN_BYTES:
        raise PayloadTooLarge(f"the answer would be {len(body)} bytes; send fewer alerts")
    return body


def instant(text: str | None, default: float) -> float:
    """``at``: an RFC 3339 time (``2026-11-23T03:00:00+01:00``, ``Z`` for UTC), or now."""
    if text is None:
        return default
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError("at", f"{text!r} is not an RFC 3339 time", status_code=400) from None
    if when.tzinfo is None:
        raise PayloadError("at", f"{text!r} needs its UTC offset (or Z)", status_code=400)
    return when.timestamp()


@router.post("/api/route")
async def explain_route(
    request: Request, rt: WebhookDep, source: str = "alertmanager", at: str | None = None
) -> Response:
    """A source payload in, the decision out (held or not, now or ``at``); nothing stored
    or sent (admin token)."""
    src = SOURCES.get(source)
    if src is None:
        raise PayloadError("source", f"unknown source {source!r}", status_code=400)
    now = instant(at, rt.clock.now())
    limit = min(rt.settings.max_body_bytes, MAX_EXPLAIN_BYTES)
    body = await receive(rt, request, src, check=False, limit=limit)
    ruleset, content_type = rt.ruleset, request.headers.get("content-type")
    answer = await cpu(body, lambda: explain(ruleset, src, parse_json(body, content_type), now))
    return Response(answer, media_type="application/json")
