"""Server-rendered pages, Jinja2 with autoescape; JSON with ``Accept: application/json``.

GET /runbooks[?q=words]   index by category, or search results (same search as /runbook)
GET /runbooks/{id}        the entry, rendered from its markdown, commands with Copy
GET /alerts               recent alerts: level and why, route, runbook, delivery state
GET /alerts/{id}          one alert: the decision and the payload as received
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from starlette.concurrency import run_in_threadpool

from router.runbooks import Runbook
from router.runbooks.model import CATEGORIES

if TYPE_CHECKING:
    from router.app import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class _Renderer(RendererHTML):
    """Commands (fenced code) get a Copy button. Raw HTML in runbooks stays escaped."""

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        html = super().fence(tokens, idx, options, env)
        button = '<button type="button" class="copy" aria-label="Copy command">Copy</button>'
        return f'<div class="code">{button}{html}</div>'


_MARKDOWN = MarkdownIt(
    "commonmark", {"html": False, "breaks": True}, renderer_cls=_Renderer
).enable("table")
_CHECKBOX = re.compile(r"<li>(<p>)?\[([ xX])\] ")


def render_markdown(text: str) -> str:
    """Runbook markdown as HTML; one line per header field, checklists as boxes."""
    html = _MARKDOWN.render(text)
    return _CHECKBOX.sub(
        lambda m: f"<li>{m.group(1) or ''}{'☐' if m.group(2) == ' ' else '☑'} ", html
    )


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else ""


def register(app: FastAPI, rt: Runtime) -> None:
    def today() -> Any:
        return datetime.fromtimestamp(rt.clock.now(), UTC).date()

    def summary(rb: Runbook) -> dict[str, Any]:
        stale_after = rt.ruleset.config.data.defaults.stale_after_days
        return {
            "id": rb.id,
            "title": rb.title,
            "category": rb.category or "Uncategorised",
            "owner": rb.owner,
            "last_tested": rb.last_tested.isoformat() if rb.last_tested else None,
            "stale": rb.is_stale(today(), stale_after),
            "trigger": rb.trigger,
            "url": f"/runbooks/{rb.id}",
        }

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def not_found(request: Request, what: str, why: str | None = None) -> Response:
        if wants_json(request):
            body = {"error": f"{what} not found"} | ({"unreadable": why} if why else {})
            return JSONResponse(body, status_code=404)
        return page(request, "not_found.html", {"what": what, "why": why}, status=404)

    def problems() -> list[dict[str, Any]]:
        """Entries left out (and routes naming them), for the page and its JSON."""
        return [
            {"file": p.file, "line": p.line, "key": p.key, "message": p.message, "text": str(p)}
            for p in rt.ruleset.problems
        ]

    @app.get("/runbooks", response_class=HTMLResponse)
    async def runbooks(request: Request, q: str = "") -> Response:
        query = " ".join(q.split())[:200]
        if query:
            hits = rt.command().index.search(query, limit=20)
            found = [summary(h.runbook) | {"score": h.score} for h in hits]
            if wants_json(request):
                return JSONResponse({"query": query, "runbooks": found})
            return page(request, "runbooks.html", {"query": query, "results": found, "groups": {}})
        entries = [summary(rb) for rb in rt.ruleset.catalog]
        if wants_json(request):
            return JSONResponse({"runbooks": entries, "problems": problems()})
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in entries:
            groups[entry["category"]].append(entry)
        order = [c for c in CATEGORIES if c in groups] + sorted(set(groups) - set(CATEGORIES))
        return page(
            request,
            "runbooks.html",
            {
                "query": "",
                "results": None,
                "groups": {c: groups[c] for c in order},
                "problems": problems(),
            },
        )

    @app.get("/runbooks/{runbook_id}", response_class=HTMLResponse)
    async def runbook(request: Request, runbook_id: str) -> Response:
        rb = rt.ruleset.catalog.get(runbook_id)
        if rb is None:
            why = rt.ruleset.catalog.unreadable(runbook_id)
            return not_found(request, f"runbook {runbook_id[:40]}", why)
        if wants_json(request):
            return JSONResponse(rb.model_dump(mode="json") | summary(rb))
        return page(
            request, "runbook.html", {"rb": summary(rb), "html": render_markdown(rb.source)}
        )

    @app.get("/alerts", response_class=HTMLResponse)
    async def alerts(request: Request, limit: int = 100) -> Response:
        rows = await run_in_threadpool(rt.store.recent_alerts, max(1, min(limit, 1000)))
        if wants_json(request):
            return JSONResponse({"alerts": rows})
        for row in rows:
            row["received"] = _when(row["received_at"])
        return page(request, "alerts.html", {"alerts": rows})

    @app.get("/alerts/{alert_id}", response_class=HTMLResponse)
    async def alert(request: Request, alert_id: int) -> Response:
        row = await run_in_threadpool(rt.store.alert_detail, alert_id)
        if row is None:
            return not_found(request, f"alert {alert_id}")
        if wants_json(request):
            return JSONResponse(row)
        context = {
            "alert": row,
            "received": _when(row["received_at"]),
            "updated": _when(row["updated_at"]),
            "raw": json.dumps(row["raw"], indent=2, ensure_ascii=False),
            "labels": json.dumps(row["labels"], indent=2, ensure_ascii=False),
        }
        return page(request, "alert.html", context)
