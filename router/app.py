"""The composition root: builds the service from Settings and mounts its HTTP routers.

    request -> verify -> read (size-capped) -> parse -> decide -> store -> 202
    background: Dispatcher delivers the outbox

The handlers live in router/http/ and router/web/; error types map to HTTP
statuses here and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from router import __version__, heap
from router.access import AccessControl, TrailingSlash
from router.alertmanagers import build as build_alertmanagers
from router.chores import every, retention, store_chores
from router.clock import Clock, SystemClock
from router.decide import Ruleset
from router.deliveries import register_all
from router.deliveries.current import Current
from router.deliveries.heartbeat import HeartbeatChecker
from router.deliveries.reconcile import Reconciler
from router.dispatcher import Dispatcher
from router.errors import Overloaded, RequestError, StoreUnavailable
from router.http import operations, slack, webhooks
from router.limits import HeaderLimit
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.directory import SlackDirectory
from router.notifiers.pagerduty import PagerDuty
from router.oncall.lookup import OnCall
from router.runtime import (
    Runtime,
    load_ruleset_for,
    log_problems,
    log_surfaces,
    make_notifier,
    make_pagerduty,
)
from router.settings import Settings
from router.slackapp.actions import ActionRunner
from router.slackapp.silence import SilenceDesk
from router.slackapp.socket_mode import ConnectionsOpen, SocketMode
from router.store import Store
from router.store.kinds import OutboxKind
from router.store.migrate import SchemaTooNew
from router.web import alert_pages, apidocs, pages

log = logging.getLogger("router")
ONCALL_PREFETCH = 15.0
"""Seconds between checks that each PagerDuty on-call answer is looked up before it is due."""


def build_runtime(
    settings: Settings,
    *,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    ruleset: Ruleset | None = None,
    pagerduty: PagerDuty | None = None,
    alertmanager_transport: httpx.BaseTransport | None = None,
) -> tuple[Runtime, HeartbeatChecker | None]:
    """Wire storage, delivery and the current ruleset together.

    What the handlers read of the ruleset in force they read from ``current``, which a
    reload swaps: after start-up, no delivery comes back here or to router/runtime.py.
    """
    clock = clock or SystemClock()
    ruleset = ruleset or load_ruleset_for(settings)
    pagerduty = make_pagerduty(settings) if pagerduty is None else pagerduty
    store = Store.from_url(settings.database_url, clock)
    metrics = Metrics()
    notifier = notifier or make_notifier(settings)
    current = Current(
        ruleset,
        functools.partial(build_alertmanagers, settings, transport=alertmanager_transport),
        pagerduty_ack=pagerduty is not None and pagerduty.rest is not None,
    )
    directory = SlackDirectory(notifier, clock)
    # The modal's metadata is signed with a key from a secret of the app's own: the
    # signing secret, or under Socket Mode alone (no signing secret) the app token.
    secret = settings.slack_signing_secret or settings.slack_app_token
    silences = SilenceDesk(
        store,
        notifier,
        current.alertmanagers,
        current.ruleset,
        metrics,
        clock,
        secret.get_secret_value() if secret else None,
        directory,
    )
    actions = ActionRunner(store, notifier, current.ruleset, pagerduty, clock, silences)
    dispatcher = Dispatcher(store, metrics, clock=clock)
    oncall = OnCall(current.oncall_entries, pagerduty, notifier, clock)
    current.oncall = oncall
    for chore in store_chores(store, clock):
        dispatcher.add_chore(chore)
    keep = retention(store, clock, metrics, settings.retention, settings.outbox_retention)
    if keep is not None:
        dispatcher.add_chore(keep)
    dispatcher.add_chore(every(ONCALL_PREFETCH, clock, oncall.prefetch))  # found when asked
    registered = register_all(  # and the timers' chores: at start, after a reload
        dispatcher,
        store,
        notifier,
        current.renderer,  # delivery: a short wait for who is on call
        metrics,
        pagerduty=pagerduty,
        actions=actions,
        ruleset=current.ruleset,
        oncall=oncall,
        alertmanagers=current.alertmanagers,
        reconcile_interval=settings.reconcile_interval,
        reconcile_warmup=settings.reconcile_warmup,
    )
    rt = Runtime(
        settings,
        current,
        store,
        metrics,
        dispatcher,
        clock,
        pagerduty,
        directory,
        silences=silences,
        reconciler=registered.handler(OutboxKind.RECONCILE, Reconciler),
    )
    _ = rt.alertmanagers  # a bad ALERTMANAGER_URL stops the start (ConfigError)
    rt.oncall = oncall
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        opener = ConnectionsOpen(app_token, settings.slack_api_url)
        rt.socket = SocketMode(opener, lambda r: slack.socket_envelope(rt, r), metrics=metrics)
    metrics.reload_ok.set(1)
    metrics.reload_time.set(clock.now())
    return rt, registered.handler(OutboxKind.HEARTBEAT, HeartbeatChecker)


async def _start(rt: Runtime, heartbeats: HeartbeatChecker | None) -> None:
    """Schema, search index and gauges before the first request; logs what is open."""
    try:
        await run_in_threadpool(rt.store.ensure_schema)
    except SchemaTooNew as exc:  # never write to a database a newer router migrated
        log.critical("refusing to start: %s", exc)
        raise
    except StoreUnavailable as exc:  # start anyway: not ready, webhooks 503 until it is back
        log.error("database unavailable at start: %s", exc)
    await run_in_threadpool(lambda: rt.ruleset.index)  # /runbook search, before any request
    if heartbeats is not None:
        with contextlib.suppress(StoreUnavailable):  # else the dispatcher's chores do it
            await run_in_threadpool(heartbeats.sync)
    await run_in_threadpool(rt.measure_runbooks)
    log_problems(rt.ruleset)
    log_surfaces(rt.settings, rt.ruleset)
    heap.settle()  # what start built stays: out of the collector's full passes


def _lifespan(
    rt: Runtime, heartbeats: HeartbeatChecker | None, run_dispatcher: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await _start(rt, heartbeats)
        tasks = [asyncio.create_task(rt.dispatcher.run())] if run_dispatcher else []
        if rt.socket is not None:  # Slack's requests over a connection of our own
            tasks.append(asyncio.create_task(rt.socket.run()))
        if rt.settings.reload_interval > 0:
            tasks.append(asyncio.create_task(rt.reloader.watch(rt.settings.reload_interval)))
        rt.reloader.on_sighup()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            rt.dispatcher.close()
            await run_in_threadpool(rt.writer.close)  # what is queued is written first
            rt.store.engine.dispose()

    return lifespan


async def _request_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Overloaded) else None
    return JSONResponse({"error": exc.message}, status_code=exc.status_code, headers=headers)


async def _store_error(_request: Request, exc: Exception) -> Response:
    log.error("store unavailable: %s", exc)
    return JSONResponse(
        {"error": "storage unavailable; nothing was stored, retry later"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def create_app(
    settings: Settings | None = None,
    *,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    ruleset: Ruleset | None = None,
    run_dispatcher: bool = True,
    pagerduty: PagerDuty | None = None,
    alertmanager_transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """Build the app. Raises ConfigError when routes or runbooks are invalid."""
    settings = settings or Settings()
    rt, heartbeats = build_runtime(
        settings,
        notifier=notifier,
        clock=clock,
        ruleset=ruleset,
        pagerduty=pagerduty,
        alertmanager_transport=alertmanager_transport,
    )
    app = FastAPI(
        title="runbook-router",
        version=__version__,
        lifespan=_lifespan(rt, heartbeats, run_dispatcher),
        docs_url=None,  # FastAPI's pages load from a CDN: web/apidocs.py serves its own
        redoc_url=None,
    )
    app.add_middleware(
        AccessControl,
        read_tokens=settings.tokens(settings.read_token),
        admin_tokens=settings.tokens(settings.admin_token),
        metrics_tokens=settings.tokens(settings.metrics_token),
        trusted_user_header=settings.trusted_user_header,
        trusted_proxies=[p for p in settings.trusted_proxies.split(",") if p.strip()],
        clock=rt.clock,
    )
    app.add_middleware(TrailingSlash)
    app.add_middleware(HeaderLimit)
    app.state.runtime = rt
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(StoreUnavailable, _store_error)
    for module in (webhooks, slack, operations, pages, alert_pages, apidocs):
        app.include_router(module.router)
    app.mount(apidocs.STATIC_URL, apidocs.assets(), name="apidocs")
    return app
