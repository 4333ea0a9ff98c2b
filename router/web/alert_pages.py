"""The alert pages: ``/alerts`` (what is firing now, filtered), one alert with its
decision, delivery, the message as Slack shows it and its timeline, and the
postmortem draft. The page machinery (templates, headers, errors) is pages.py's."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from router.clock import Clock
from router.config import LEVEL_NAMES
from router.decide import Ruleset
from router.errors import ParameterError
from router.http.deps import runtime
from router.notifiers.directory import NOTHING, Known, SlackDirectory
from router.records import (
    AlertDetail,
    AlertFilter,
    AlertRow,
    AlertSummary,
    Delivery,
    TimelineEntry,
)
from router.render.incident.postmortem import postmortem
from router.render.incident.timeline import timeline, who_text
from router.render.message import MessageRenderer
from router.store import MessageEvent, MessageView
from router.web import alert_list
from router.web.blockkit import blocks_html
from router.web.pages import not_found, page, wants_json


class AlertReads(Protocol):
    """What the alert pages read from the store (which implements it)."""

    def recent_alerts(self, where: AlertFilter | None = None) -> list[AlertSummary]: ...

    def alert_detail(self, alert_id: int) -> AlertDetail | None: ...

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def message_events(self, message_id: int) -> list[MessageEvent]: ...


class AlertService(Protocol):
    """What of the running service the alert pages use (the runtime has it)."""

    @property
    def store(self) -> AlertReads: ...

    @property
    def ruleset(self) -> Ruleset: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def directory(self) -> SlackDirectory | None: ...

    def renderer(self, *, wait: float | None = 0.0) -> MessageRenderer: ...


AlertDep = Annotated[AlertService, Depends(runtime)]

router = APIRouter()


def _known(
    rt: AlertService, who: Iterable[str | None], deliveries: Iterable[Delivery] = ()
) -> Known:
    """Slack's names for the stored actors and, when a message was posted, the
    workspace's address: as far as Slack answers in time."""
    if rt.directory is None:
        return NOTHING
    return rt.directory.known(who, workspace=any(d.slack_ts for d in deliveries))


def _postmortem_levels(rt: AlertService) -> set[str]:
    """Levels whose resolution brings a postmortem draft (``postmortem: true``)."""
    return {k for k, v in rt.ruleset.config.data.severity.levels.items() if v.postmortem}


def _alert_rows(rt: AlertService, where: AlertFilter) -> list[AlertRow]:
    listed = rt.store.recent_alerts(where)
    deliveries = [d for a in listed for d in a.deliveries]
    rows = alert_list.rows(
        listed,
        identity_labels=rt.ruleset.config.data.defaults.identity_labels,
        known=_known(rt, [d.acknowledged_by for d in deliveries], deliveries),
        postmortem_levels=_postmortem_levels(rt),
    )
    return alert_list.most_severe_first(rows) if where.state == "firing" else rows


def _alerts_page(
    request: Request,
    rt: AlertService,
    where: AlertFilter,
    rows: list[AlertRow],
    error: str | None = None,
) -> Response:
    data = rt.ruleset.config.data
    route_names, channels = alert_list.choices(rt.ruleset.table.routes, data.defaults.channel)
    tabs = [
        (state, label, "?" + urllib.parse.urlencode(alert_list.as_params(where, state=state)))
        for state, label in (
            ("firing", "Firing now"),
            ("resolved", "Resolved"),
            ("all", "All recent"),
        )
    ]
    context = {
        "heading": alert_list.HEADINGS[where.state],
        "now": rt.clock.now(),
        "alerts": rows,
        "where": where,
        "query": " ".join(where.words),
        "tabs": tabs,
        "levels": LEVEL_NAMES,
        "sources": alert_list.SOURCES,
        "route_names": route_names,
        "channels": channels,
        "error": error,
        "filtered": any(alert_list.as_params(where, state=None)),
    }
    return page(request, "alerts.html", context, status=422 if error else 200)


@router.get("/alerts", response_class=HTMLResponse)
async def alerts(request: Request, rt: AlertDep) -> Response:
    """Firing now unless ``state`` says otherwise; the filters are in web/alert_list.py."""
    try:
        where = alert_list.parse_filter(request.query_params)
    except ParameterError as exc:
        if wants_json(request):
            return JSONResponse({"error": exc.message, "parameter": exc.name}, status_code=422)
        return _alerts_page(request, rt, AlertFilter(state="firing"), [], error=exc.message)
    rows = await run_in_threadpool(_alert_rows, rt, where)
    if wants_json(request):
        return JSONResponse(
            {
                "filter": where.model_dump(mode="json"),
                "alerts": [row.model_dump(mode="json") for row in rows],
            }
        )
    return _alerts_page(request, rt, where, rows)


@router.get("/alerts/{alert_id}/postmortem.md")
async def postmortem_draft(request: Request, rt: AlertDep, alert_id: int) -> Response:
    """The postmortem draft of the alert's (first) message, as markdown to edit."""
    if not 0 < alert_id < 2**63:
        return not_found(request, f"alert {str(alert_id)[:30]}")
    draft = await run_in_threadpool(_postmortem, rt, alert_id)
    if draft is None:
        return not_found(request, f"a message for alert {alert_id}")
    return PlainTextResponse(draft, media_type="text/markdown; charset=utf-8")


def _message(rt: AlertService, alert_id: int) -> tuple[AlertDetail | None, MessageView | None]:
    """The stored alert, and its (first) Slack message."""
    detail = rt.store.alert_detail(alert_id)
    if detail is None or not detail.deliveries:
        return detail, None
    return detail, rt.store.load_message(detail.deliveries[0].message)


def _detail(rt: AlertService, alert_id: int) -> tuple[AlertDetail | None, MessageView | None]:
    """The stored alert with the timeline of its (first) message, people by name, and
    the links to its messages in Slack; and that message."""
    detail, view = _message(rt, alert_id)
    if detail is None or view is None:
        return detail, view
    entries = timeline(view, rt.store.message_events(view.id))
    acked = [d.acknowledged_by for d in detail.deliveries]
    known = _known(rt, [e.who for e in entries] + acked, detail.deliveries)
    steps = [
        TimelineEntry(
            at=e.at,
            what=e.what,
            who=e.who,
            by=who_text(e.who, slack=False, names=known.names) if e.who is not None else None,
        )
        for e in entries
    ]
    deliveries = alert_list.linked(detail.deliveries, known)
    return detail.model_copy(update={"timeline": steps, "deliveries": deliveries}), view


def _drawn(rt: AlertService, view: MessageView) -> Markup:
    """The message as Slack shows it now (also when no Slack token was set)."""
    names = _known(rt, [m.ack_by for m in view.members]).names
    return blocks_html(rt.renderer().render(view, rt.clock.now()).blocks, names)


def _postmortem(rt: AlertService, alert_id: int) -> str | None:
    _, view = _message(rt, alert_id)
    if view is None:
        return None
    runbook = rt.ruleset.catalog.get(view.runbook.id) if view.runbook.id else None
    events = rt.store.message_events(view.id)
    people = _known(rt, [m.ack_by for m in view.members]).names
    return postmortem(view, events, runbook, rt.clock.now(), people)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert(request: Request, rt: AlertDep, alert_id: int) -> Response:
    if not 0 < alert_id < 2**63:  # beyond any id; and beyond what the database takes
        return not_found(request, f"alert {str(alert_id)[:30]}")
    row, view = await run_in_threadpool(_detail, rt, alert_id)
    if row is None:
        return not_found(request, f"alert {alert_id}")
    if wants_json(request):
        return JSONResponse(row.model_dump(mode="json"))
    context = {
        "alert": row,
        "message": _drawn(rt, view) if view is not None else None,
        "postmortem": any(d.level in _postmortem_levels(rt) for d in row.deliveries),
        "raw": json.dumps(row.raw, indent=2, ensure_ascii=False),
        "labels": json.dumps(row.labels, indent=2, ensure_ascii=False),
    }
    return page(request, "alert.html", context)
