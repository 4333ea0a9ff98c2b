"""For whoever runs the router: liveness, readiness, metrics and reload."""

from __future__ import annotations

import logging
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from router.decide import Ruleset
from router.deliveries.reconcile import Reconciler
from router.errors import ConfigError, StoreUnavailable
from router.http.deps import runtime
from router.metrics import Metrics
from router.slackapp.socket_mode import SocketMode

log = logging.getLogger("router")

router = APIRouter()


class Pingable(Protocol):
    def ping(self) -> None: ...


class Reloads(Protocol):
    async def reload(self, why: str) -> Ruleset: ...


class OperatedService(Protocol):
    """What of the running service the operator's endpoints use (the runtime has it)."""

    @property
    def store(self) -> Pingable: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def socket(self) -> SocketMode | None: ...

    @property
    def reconciler(self) -> Reconciler | None: ...

    @property
    def reloader(self) -> Reloads: ...


OperatedDep = Annotated[OperatedService, Depends(runtime)]


@router.get("/healthz")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(rt: OperatedDep) -> Response:
    """Ready or not; why goes to the log, never to whoever asks (it names hosts).

    With Socket Mode, the connection's state is shown beside it. It does not decide
    readiness: webhooks are taken whether or not Slack can reach this replica.
    """
    socket = {"slack_socket": rt.socket.state} if rt.socket is not None else {}
    try:
        await run_in_threadpool(rt.store.ping)
    except StoreUnavailable as exc:
        log.warning("not ready: %s", exc)
        return JSONResponse({"status": "unavailable", **socket}, status_code=503)
    if rt.reconciler is not None and (note := rt.reconciler.readiness_note()):
        log.warning("ready, but no answer from alertmanager %s: nothing is resolved from it", note)
    return JSONResponse({"status": "ready", **socket})


@router.get("/metrics")
async def metrics(rt: OperatedDep) -> Response:
    return PlainTextResponse(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.post("/-/reload")
async def reload(rt: OperatedDep) -> Response:
    """Load routes and runbooks again (admin token); an invalid config keeps the running one."""
    try:
        ruleset = await rt.reloader.reload("POST /-/reload")
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems]
        body = {"error": "config invalid; the running one is kept", "problems": problems}
        return JSONResponse(body, status_code=400)
    routes, runbooks = len(ruleset.table.routes), len(ruleset.catalog)
    log.info("reloaded: %d routes, %d runbooks", routes, runbooks)
    return JSONResponse({"status": "reloaded", "routes": routes, "runbooks": runbooks})
