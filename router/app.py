"""The HTTP service. Requests verify, parse, decide and store; nothing here calls Slack.

    request -> verify -> read (size-capped) -> parse -> decide -> store -> 202
    background: Dispatcher delivers the outbox

Error types map to HTTP statuses here and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from router import __version__, storable
from router.access import AccessControl, TrailingSlash
from router.alert import Alert
from router.clock import Clock, SystemClock
from router.decide import Decision, Ruleset, check_paging, load_ruleset
from router.dispatcher import Dispatcher
from router.errors import (
    ConfigError,
    PayloadError,
    PayloadTooLarge,
    Problem,
    RequestError,
    StoreUnavailable,
    Unauthorized,
)
from router.heartbeat import HeartbeatChecker
from router.limits import HeaderLimit
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.log import LogNotifier
from router.notifiers.message import MessageRenderer
from router.notifiers.pagerduty import PagerDuty
from router.notifiers.slack import SlackNotifier
from router.reload import Reloader
from router.runbooks.lint import lint_scan
from router.settings import Settings
from router.slackapp.actions import ActionRunner
from router.slackapp.command import RunbookCommand
from router.slackapp.interactions import handle as handle_interaction
from router.slackapp.signature import verify as verify_slack
from router.sources import SOURCES, Source
from router.store import HEARTBEAT, Store, StormPolicy
from router.store.migrate import SchemaTooNew
from router.web.pages import register as register_pages

log = logging.getLogger("router")

_JSON_TYPES = ("application/json", "text/json")


@dataclass
class Runtime:
    """What the handlers share. ``ruleset`` is swapped whole on reload."""

    settings: Settings
    ruleset: Ruleset
    store: Store
    metrics: Metrics
    dispatcher: Dispatcher
    clock: Clock
    pagerduty_ack: bool = False
    reload_lock: threading.Lock = field(default_factory=threading.Lock)
    _command: tuple[Ruleset, RunbookCommand] | None = None

    def renderer(self) -> MessageRenderer:
        data = self.ruleset.config.data
        return MessageRenderer(
            self.ruleset.catalog,
            data.severity.levels,
            data.defaults.stale_after_days,
            pagerduty_ack=self.pagerduty_ack,
            identity_labels=data.defaults.identity_labels,
        )

    def storm_policy(self) -> StormPolicy | None:
        data = self.ruleset.config.data
        storm = data.severity.storm
        if storm is None:
            return None
        channel = storm.channel or data.defaults.channel
        return StormPolicy(storm.alerts, storm.within, storm.escalate_to, channel, storm.min_level)

    def command(self) -> RunbookCommand:
        """/runbook over the current runbooks; its search index is built once per load."""
        ruleset = self.ruleset
        if self._command is None or self._command[0] is not ruleset:
            self._command = (ruleset, RunbookCommand(ruleset))
        return self._command[1]

    def reload(self) -> Ruleset:
        """Load routes and runbooks again; an unusable routes file keeps the running ones.

        A runbook that cannot be read is left out and logged; the rest load.
        """
        with self.reload_lock:
            ruleset = load_ruleset_for(self.settings)
            log_problems(ruleset)
            self.ruleset = ruleset
            self.command()  # build the search index now, not on someone's first /runbook
            self.measure_runbooks()
            self.metrics.reload_time.set(self.clock.now())
            return ruleset

    def reload_logged(self) -> Ruleset:
        """reload(), with the outcome in the reload metrics."""
        try:
            ruleset = self.reload()
        except ConfigError:
            self.metrics.reload_ok.set(0)
            raise
        self.metrics.reload_ok.set(1)
        return ruleset

    def measure_runbooks(self) -> None:
        """Runbook count, stale ones and lint errors, as gauges."""
        today = datetime.fromtimestamp(self.clock.now(), UTC).date()
        stale_after = self.ruleset.config.data.defaults.stale_after_days
        report = lint_scan(self.ruleset.catalog.scan, today, stale_after)
        self.metrics.runbooks.set(len(self.ruleset.catalog))
        self.metrics.runbook_load_errors.set(len(self.ruleset.problems))
        self.metrics.runbooks_stale.set(sum(1 for f in report.findings if f.rule == "RB004"))
        self.metrics.runbook_lint_errors.set(report.errors)


def load_ruleset_for(settings: Settings) -> Ruleset:
    """Routes and runbooks for serving, also checked against the configured routing keys.

    Lenient about runbooks (they are left out and reported, never fatal); strict
    about the routes file, which the server cannot route without.
    """
    ruleset = load_ruleset(settings.config, settings.runbooks, strict=False)
    problems = check_paging(ruleset.config, set(settings.routing_keys()))
    if problems:
        raise ConfigError(problems)
    return ruleset


def log_surfaces(settings: Settings) -> None:
    """Say at start who can reach what, so an open surface is never a surprise."""
    if settings.read_token is None and not settings.trusted_user_header:
        log.warning("pages and JSON reads are open to anyone who can connect (ROUTER_READ_TOKEN)")
    if settings.admin_token is None:
        log.info("admin endpoints /-/reload and /api/route are off (ROUTER_ADMIN_TOKEN)")
    if settings.metrics_token is None:
        log.info("/metrics is open to anyone who can connect (ROUTER_METRICS_TOKEN)")


def log_problems(ruleset: Ruleset) -> None:
    for problem in ruleset.problems:
        log.error("runbook left out or unresolved: %s", problem, extra={"problem": str(problem)})
    for warning in ruleset.config.warnings:
        log.warning("routes: %s", warning, extra={"problem": str(warning)})


def make_pagerduty(settings: Settings) -> PagerDuty | None:
    token = settings.pagerduty_api_token
    keys = settings.routing_keys()
    if token is None and not keys:
        return None
    for name in ("PAGERDUTY_API_URL", "PAGERDUTY_EVENTS_URL"):
        url = getattr(settings, name.lower())
        if url is not None and not url.startswith("https://"):
            raise ConfigError([Problem(name, None, "", "must be an https:// URL")])
    if token is not None and not settings.pagerduty_from_email:
        log.warning("PAGERDUTY_FROM_EMAIL is not set: PagerDuty may refuse notes without it")
    return PagerDuty(
        token.get_secret_value() if token else None,
        settings.pagerduty_from_email,
        keys,
        api_url=settings.pagerduty_api_url,
        events_url=settings.pagerduty_events_url,
    )


def make_notifier(settings: Settings) -> Notifier:
    if settings.slack_bot_token is None:
        log.warning("SLACK_BOT_TOKEN is not set: messages go to the log and /alerts only")
        return LogNotifier()
    return SlackNotifier(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body: {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body: over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes, content_type: str | None) -> Any:
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise PayloadError(
            "Content-Type", f"expected application/json, got {media}", status_code=415
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})", status_code=400) from None
    if not text.strip():
        raise PayloadError("body", "empty; expected a JSON object", status_code=400)
    try:
        return storable.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            "body",
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            status_code=400,
        ) from None
    except RecursionError:
        raise PayloadError("body", "JSON nested too deeply", status_code=400) from None


def _verify(rt: Runtime, source: Source, request: Request, body: bytes) -> None:
    if rt.ruleset.config.data.auth.get(source.name, "required") == "none":
        return
    secrets = rt.settings.secrets_for(source.secret_env)
    if not secrets:
        raise Unauthorized(
            f"{source.secret_env} is not set, so {source.name} webhooks are refused "
            f"(set it, or allow unauthenticated requests with auth: {{{source.name}: none}} "
            "in the routes file)"
        )
    source.verify(request.headers, body, secrets)


def _decide(rt: Runtime, alerts: list[Alert]) -> list[tuple[Alert, list[Decision]]]:
    ruleset = rt.ruleset
    return [(alert, ruleset.decide(alert)) for alert in alerts]


MAX_EXPLAINED_ALERTS = 1000
MAX_EXPLAIN_BYTES = 1024 * 1024
"""Both ways: the payload to explain, and the answer."""


def _parse_and_decide(rt: Runtime, source: Source, data: Any) -> list[tuple[Alert, list[Decision]]]:
    return _decide(rt, source.parse(data))


def _explain(ruleset: Ruleset, source: Source, data: Any) -> bytes:
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
    body = json.dumps({"alerts": explain_alerts(ruleset, alerts)}).encode()
    if len(body) > MAX_EXPLAIN_BYTES:
        raise PayloadTooLarge(f"the answer would be {len(body)} bytes; send fewer alerts")
    return body


_SLACK_ID = re.compile(r"^[A-Z0-9]{2,24}$")
_SLACK_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def reaction_acknowledges(event: dict[str, Any], reactions: list[str]) -> bool:
    """A ``reaction_added`` with one of the configured emoji, on a message, well-formed."""
    item = event.get("item")
    return (
        event.get("type") == "reaction_added"
        and event.get("reaction") in reactions
        and isinstance(item, dict)
        and item.get("type") == "message"
        and isinstance(event.get("user"), str)
        and bool(_SLACK_ID.match(event["user"]))
        and isinstance(item.get("channel"), str)
        and bool(_SLACK_ID.match(item["channel"]))
        and isinstance(item.get("ts"), str)
        and bool(_SLACK_TS.match(item["ts"]))
    )


def _count(rt: Runtime, batch: list[tuple[Alert, list[Decision]]]) -> None:
    """Metrics for alerts that were stored."""
    for alert, decisions in batch:
        rt.metrics.received.labels(alert.source).inc()
        for d in decisions:
            rt.metrics.routed.labels(alert.source, d.route or "default").inc()
            if d.runbook is None:
                rt.metrics.unmatched.labels(alert.source).inc()
                rt.metrics.unmatched_name(alert.name)
            if d.severity.unmapped:
                rt.metrics.severity_unmapped.labels(alert.source).inc()


def _log_stored(batch: list[tuple[Alert, list[Decision]]]) -> None:
    """One event per alert stored, with what it was and where it goes, as fields."""
    for alert, decisions in batch:
        for d in decisions:
            log.info(
                "stored %s alert %s (%s): %s, route %s, %s",
                alert.source,
                alert.name,
                alert.status,
                d.severity.level,
                d.route or "default",
                d.runbook.key if d.runbook else "no runbook",
                extra={
                    "source": alert.source,
                    "alertname": alert.name,
                    "fingerprint": alert.fingerprint,
                    "status": alert.status,
                    "route": d.route,
                    "runbook": d.runbook.key if d.runbook else None,
                    "severity": d.severity.level,
                    "channel": d.channel,
                },
            )


def create_app(
    settings: Settings | None = None,
    *,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    ruleset: Ruleset | None = None,
    run_dispatcher: bool = True,
    pagerduty: PagerDuty | None = None,
) -> FastAPI:
    """Build the app. Raises ConfigError when routes or runbooks are invalid."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    ruleset = ruleset or load_ruleset_for(settings)
    pagerduty = make_pagerduty(settings) if pagerduty is None else pagerduty
    store = Store.from_url(settings.database_url, clock)
    metrics = Metrics()
    notifier = notifier or make_notifier(settings)
    rt: Runtime

    def renderer() -> MessageRenderer:
        return rt.renderer()

    actions = ActionRunner(store, notifier, lambda: rt.ruleset, pagerduty)
    dispatcher = Dispatcher(
        store, notifier, renderer, metrics, clock=clock, pagerduty=pagerduty, actions=actions
    )
    ack = pagerduty is not None and pagerduty.rest is not None
    rt = Runtime(settings, ruleset, store, metrics, dispatcher, clock, pagerduty_ack=ack)
    heartbeats = HeartbeatChecker(store, lambda: rt.ruleset, clock)
    dispatcher.register(HEARTBEAT, heartbeats.check)
    dispatcher.add_chore(heartbeats.sync)  # at start, after a reload, once the database is up

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(store.ensure_schema)
        except SchemaTooNew as exc:  # never write to a database a newer router migrated
            log.critical("refusing to start: %s", exc)
            raise
        except StoreUnavailable as exc:  # start anyway: not ready, webhooks 503 until it is back
            log.error("database unavailable at start: %s", exc)
        await run_in_threadpool(rt.command)  # the /runbook search index, before any request
        with contextlib.suppress(StoreUnavailable):  # else the dispatcher's chores do it
            await run_in_threadpool(heartbeats.sync)
        await run_in_threadpool(rt.measure_runbooks)
        log_problems(rt.ruleset)
        log_surfaces(settings)
        for source, mode in rt.ruleset.config.data.auth.items():
            if mode == "none":
                log.warning(
                    "auth: none for %s: its webhooks are accepted without credentials", source
                )
        tasks = [asyncio.create_task(dispatcher.run())] if run_dispatcher else []
        if settings.reload_interval > 0:
            tasks.append(asyncio.create_task(reloader.watch(settings.reload_interval)))
        reloader.on_sighup()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            store.engine.dispose()

    reloader = Reloader(rt.reload_logged, settings.config, settings.runbooks)
    _initial_reload_metrics(rt)
    app = FastAPI(title="runbook-router", version=__version__, lifespan=lifespan)
    app.add_middleware(
        AccessControl,
        read_tokens=settings.tokens(settings.read_token),
        admin_tokens=settings.tokens(settings.admin_token),
        metrics_tokens=settings.tokens(settings.metrics_token),
        trusted_user_header=settings.trusted_user_header,
        trusted_proxies=[p for p in settings.trusted_proxies.split(",") if p.strip()],
        clock=clock,
    )
    app.add_middleware(TrailingSlash)
    app.add_middleware(HeaderLimit)
    app.state.runtime = rt

    @app.exception_handler(RequestError)
    async def _request_error(_request: Request, exc: RequestError) -> Response:
        return JSONResponse({"error": exc.message}, status_code=exc.status_code)

    @app.exception_handler(StoreUnavailable)
    async def _store_error(_request: Request, exc: StoreUnavailable) -> Response:
        log.error("store unavailable: %s", exc)
        return JSONResponse(
            {"error": "storage unavailable; nothing was stored, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def _receive(
        request: Request, source: Source, *, verify: bool, limit: int | None = None
    ) -> Any:
        """Credentials first: what needs no body is checked before a byte of it is read."""
        header = source.signature_header
        if verify and (header is None or not request.headers.get(header)):
            # Unsigned sources are checked in full; a signed one without its header is
            # refused here, naming the header or the variable.
            _verify(rt, source, request, b"")
        body = await _read_body(request, limit or settings.max_body_bytes)
        if verify and source.signature_header is not None:
            _verify(rt, source, request, body)
        return _json(body, request.headers.get("content-type"))

    def _not_a_replay(source: Source, data: Any) -> None:
        when = source.occurred_at(data)
        if when is None:
            return
        age = clock.now() - when.timestamp()
        if age > settings.replay_window:
            raise PayloadError(
                "event.occurred_at",
                f"{age / 3600:.0f} h old, beyond the {settings.replay_window / 3600:g} h "
                "replay window (ROUTER_REPLAY_WINDOW)",
            )

    @app.post("/webhooks/{source_name}", status_code=202)
    async def webhook(source_name: str, request: Request) -> Response:
        source = SOURCES.get(source_name)
        if source is None:
            known = ", ".join(sorted(SOURCES))
            return JSONResponse({"error": f"unknown source {source_name!r}; known: {known}"}, 404)
        code = 500
        try:
            data = await _receive(request, source, verify=True)
            # Parsing and routing are CPU work: off the event loop, so /healthz and
            # the other requests keep their turn however big this one is.
            batch = await run_in_threadpool(_parse_and_decide, rt, source, data)
            _not_a_replay(source, data)
            delivery_id = source.delivery_id(request.headers, data)
            result = await run_in_threadpool(
                functools.partial(
                    store.ingest,
                    batch,
                    delivery=(source.name, delivery_id) if delivery_id else None,
                    pagerduty_notes=pagerduty is not None and pagerduty.rest is not None,
                    storm=rt.storm_policy(),
                )
            )
            dispatcher.wake()
            code = 202
            if not result.duplicate:
                _count(rt, batch)  # after the commit: a refused batch counts nothing
                _log_stored(batch)
            return JSONResponse(
                {
                    "status": "duplicate" if result.duplicate else "accepted",
                    "alerts": result.alerts,
                    "messages_changed": result.changed_messages,
                    "stale_ignored": result.ignored,
                },
                status_code=202,
            )
        except RequestError as exc:
            code = exc.status_code
            raise
        except StoreUnavailable:
            code = 503
            raise
        finally:
            rt.metrics.requests.labels(source.name, str(code)).inc()

    async def _slack_form(request: Request) -> dict[str, str]:
        body = await _read_body(request, settings.max_body_bytes)
        secret = settings.slack_signing_secret
        verify_slack(request.headers, body, secret.get_secret_value() if secret else None, rt.clock)
        try:
            fields = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=100)
        except (UnicodeDecodeError, ValueError) as exc:
            raise PayloadError("body", f"not a form: {exc}", status_code=400) from None
        return {k: v[0] for k, v in fields.items()}

    @app.post("/slack/commands")
    async def slack_command(request: Request) -> Response:
        form = await _slack_form(request)
        if form.get("ssl_check"):
            return Response(status_code=200)
        return JSONResponse(rt.command().answer(form.get("text", "")))

    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Slack's Events API: the URL check, and reactions that acknowledge a message."""
        body = await _read_body(request, settings.max_body_bytes)
        secret = settings.slack_signing_secret
        verify_slack(request.headers, body, secret.get_secret_value() if secret else None, rt.clock)
        payload = _json(body, request.headers.get("content-type"))
        if not isinstance(payload, dict):
            raise PayloadError("body", "expected a JSON object")
        if payload.get("type") == "url_verification":
            return JSONResponse({"challenge": str(payload.get("challenge", ""))[:500]})
        event = payload.get("event")
        event_id = payload.get("event_id")
        if payload.get("type") != "event_callback" or not isinstance(event, dict):
            return Response(status_code=200)  # nothing we subscribe to
        if isinstance(event_id, str) and not await run_in_threadpool(
            store.first_delivery, "slack-event", event_id
        ):
            return Response(status_code=200)  # Slack's retry of an event already handled
        if reaction_acknowledges(event, rt.ruleset.config.data.acknowledge.reactions):
            item = event["item"]
            changed = await run_in_threadpool(
                store.acknowledge_in_slack, item["channel"], item["ts"], event["user"]
            )
            if changed:
                dispatcher.wake()
        return Response(status_code=200)

    @app.post("/slack/interactions")
    async def slack_interaction(request: Request) -> Response:
        form = await _slack_form(request)
        signature = request.headers.get("x-slack-signature", "")
        if not await run_in_threadpool(store.first_delivery, "slack", signature):
            return Response(status_code=200)  # the same signed request again: done already
        raw = form.get("payload")
        if raw is None:
            raise PayloadError("payload", "field required", status_code=400)
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PayloadError("payload", f"invalid JSON: {exc.msg}", status_code=400) from None
        prefix = settings.slack_response_url_prefix
        queued = await run_in_threadpool(handle_interaction, payload, store, rt.ruleset, prefix)
        if queued:
            dispatcher.wake()
        return Response(status_code=200)

    @app.post("/api/route")
    async def explain(request: Request, source: str = "alertmanager") -> Response:
        """A source payload in, the decision out; nothing stored or sent (admin token)."""
        src = SOURCES.get(source)
        if src is None:
            raise PayloadError("source", f"unknown source {source!r}", status_code=400)
        limit = min(settings.max_body_bytes, MAX_EXPLAIN_BYTES)
        data = await _receive(request, src, verify=False, limit=limit)
        body = await run_in_threadpool(_explain, rt.ruleset, src, data)
        return Response(body, media_type="application/json")

    @app.post("/-/reload")
    async def reload() -> Response:
        try:
            ruleset = await reloader.reload("POST /-/reload")
        except ConfigError as exc:
            return JSONResponse(
                {
                    "error": "config invalid; the running one is kept",
                    "problems": [str(p) for p in exc.problems],
                },
                status_code=400,
            )
        log.info(
            "reloaded: %d routes, %d runbooks", len(ruleset.table.routes), len(ruleset.catalog)
        )
        return JSONResponse(
            {
                "status": "reloaded",
                "routes": len(ruleset.table.routes),
                "runbooks": len(ruleset.catalog),
            }
        )

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        """Ready or not; why goes to the log, never to whoever asks (it names hosts)."""
        try:
            await run_in_threadpool(store.ping)
        except StoreUnavailable as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return PlainTextResponse(
            generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    register_pages(app, rt)
    return app


def _initial_reload_metrics(rt: Runtime) -> None:
    rt.metrics.reload_ok.set(1)
    rt.metrics.reload_time.set(rt.clock.now())


def explain_alerts(ruleset: Ruleset, alerts: list[Alert]) -> list[dict[str, Any]]:
    return [
        {
            "name": a.name,
            "status": a.status,
            "fingerprint": a.fingerprint,
            "group_key": a.group_key,
            "labels": a.labels,
            "decisions": [d.as_dict() for d in ruleset.decide(a)],
        }
        for a in alerts
    ]
