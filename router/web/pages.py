"""Server-rendered pages, Jinja2 with autoescape; JSON with ``Accept: application/json``.

GET /runbooks[?q=words]   index by category, or search results (same search as /runbook);
                          ``?sort=last_used|negative``: by use (web/runbook_use.py)
GET /runbooks/{id}        the entry, rendered from its markdown, commands with Copy, and its
                          use; ``?alert=<id>``: its placeholders filled from that alert's labels
GET /alerts               firing now (or ?state=resolved|all), filtered: web/alert_list.py
GET /alerts/{id}          one alert: the decision, its timeline, the payload as received
"""

from __future__ import annotations

import hmac
import re
import secrets
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from starlette.concurrency import run_in_threadpool

from router.access import SESSION_COOKIE, SESSION_SECONDS, safe_next, sign_session
from router.decide import Ruleset
from router.http.deps import runtime
from router.records import (
    AlertDetail,
    FilledFor,
    LoadProblem,
    RunbookHit,
    RunbookSummary,
)
from router.render.blocks import duration
from router.runbooks import Runbook
from router.runbooks.filled import filled_step
from router.runbooks.model import CATEGORIES
from router.runbooks.placeholders import fill
from router.settings import Settings
from router.web import runbook_use
from router.web.runbook_links import runbook_links


class PageReads(runbook_use.UseReads, Protocol):
    """What the runbook pages read from the store (which implements it)."""

    def alert_detail(self, alert_id: int) -> AlertDetail | None: ...


class PageService(runbook_use.UseService, Protocol):
    """What of the running service the runbook pages use (the runtime has it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ruleset(self) -> Ruleset: ...

    @property
    def store(self) -> PageReads: ...


PageDep = Annotated[PageService, Depends(runtime)]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class _Renderer(RendererHTML):
    """Commands (fenced code) get a Copy button. Raw HTML in runbooks stays escaped."""

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        html = super().fence(tokens, idx, options, env)
        button = '<button type="button" class="copy" aria-label="Copy command">Copy</button>'
        return f'<div class="code">{button}{html}</div>'


_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "breaks": True}, renderer_cls=_Renderer)
    .enable("table")
    .use(runbook_links)
)
_CHECKBOX = re.compile(r"<li>(<p>)?\[([ xX])\] ")


def _fill_tokens(tokens: Sequence[Token], labels: Mapping[str, str]) -> None:
    """Placeholders filled after parsing, so a value is text to escape, never markdown:
    commands (fenced or indented code) for the shell, everything else as text."""
    for token in tokens:
        if token.type in ("fence", "code_block"):
            token.content = fill(token.content, labels, quote=True)
        for child in token.children or ():
            if child.type in ("text", "code_inline"):
                child.content = fill(child.content, labels)


def render_markdown(text: str, labels: Mapping[str, str] | None = None) -> str:
    """Runbook markdown as HTML; one line per header field, checklists as boxes.

    ``labels``: an alert's, to fill the entry's placeholders from.
    """
    env: EnvType = {}
    tokens = _MARKDOWN.parse(text, env)
    if labels is not None:
        _fill_tokens(tokens, labels)
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, env)
    return _CHECKBOX.sub(
        lambda m: f"<li>{m.group(1) or ''}{'☐' if m.group(2) == ' ' else '☑'} ", html
    )


def security_headers(nonce: str) -> dict[str, str]:
    """Only this page's own style and script run; no framing, no sniffing, no referrer."""
    policy = (
        "default-src 'none'; "
        f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def when(ts: float | None) -> str:
    """A stored time as pages show it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else ""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


TEMPLATES.env.globals.update(when=when, iso=iso, duration=duration)


router = APIRouter()


def today(rt: PageService) -> Any:
    return datetime.fromtimestamp(rt.clock.now(), UTC).date()


def summary(rt: PageService, rb: Runbook) -> RunbookSummary:
    stale_after = rt.ruleset.config.data.defaults.stale_after_days
    return RunbookSummary(
        id=rb.id,
        title=rb.title,
        category=rb.category or "Uncategorised",
        owner=rb.owner,
        last_tested=rb.last_tested.isoformat() if rb.last_tested else None,
        stale=rb.is_stale(today(rt), stale_after),
        trigger=rb.trigger,
        url=f"/runbooks/{rb.id}",
    )


def _json(records: list[RunbookSummary] | list[RunbookHit] | list[LoadProblem]) -> list[Any]:
    return [r.model_dump(mode="json") for r in records]


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(16)
    response = TEMPLATES.TemplateResponse(
        request, name, context | {"csp_nonce": nonce}, status_code=status
    )
    response.headers.update(security_headers(nonce))
    return response


def not_found(request: Request, what: str, why: str | None = None) -> Response:
    if wants_json(request):
        body = {"error": f"{what} not found"} | ({"unreadable": why} if why else {})
        return JSONResponse(body, status_code=404)
    return page(request, "not_found.html", {"what": what, "why": why}, status=404)


def bad_request(request: Request, field: str, message: str, status: int = 422) -> Response:
    """A query parameter that cannot be used: the status and a message naming it."""
    text = f"{field}: {message}"
    if wants_json(request):
        return JSONResponse({"error": text}, status_code=status)
    return page(request, "bad_request.html", {"message": text}, status=status)


def filled_for(detail: AlertDetail) -> FilledFor:
    return FilledFor(id=detail.id, name=detail.name, url=f"/alerts/{detail.id}")


_ALERT_ID = re.compile(r"[1-9][0-9]{0,18}")


def alert_id(value: str) -> int | None:
    """``?alert=`` as a stored alert's id, or None when it cannot be one."""
    if not _ALERT_ID.fullmatch(value) or (number := int(value)) >= 2**63:
        return None
    return number


def problems(rt: PageService) -> list[LoadProblem]:
    """Entries left out (and routes naming them), for the page and its JSON."""
    return [
        LoadProblem(file=p.file, line=p.line, key=p.key, message=p.message, text=str(p))
        for p in rt.ruleset.problems
    ]


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, rt: PageDep, next: str = "/runbooks") -> Response:
    return page(request, "login.html", {"next": safe_next(next), "failed": False})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, rt: PageDep) -> Response:
    body = (await request.body())[:4096]
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
    target = safe_next(form.get("next", "/runbooks"))
    tokens = rt.settings.tokens(rt.settings.read_token)
    supplied = form.get("token", "")
    if not tokens or not any(hmac.compare_digest(supplied.encode(), t.encode()) for t in tokens):
        context = {"next": target, "failed": True}
        return page(request, "login.html", context, status=401)
    expires = int(rt.clock.now()) + SESSION_SECONDS
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign_session(tokens[0], expires),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/runbooks", response_class=HTMLResponse)
async def runbooks(request: Request, rt: PageDep, q: str = "", sort: str = "category") -> Response:
    query = " ".join(q.split())[:200]
    if sort not in runbook_use.SORTS:
        return bad_request(request, "sort", f"{sort[:30]!r}: one of {', '.join(runbook_use.SORTS)}")
    if query:
        hits = rt.ruleset.index.search(query, limit=20)
        found = [RunbookHit(**summary(rt, h.runbook).model_dump(), score=h.score) for h in hits]
        if wants_json(request):
            return JSONResponse({"query": query, "runbooks": _json(found)})
        return page(request, "runbooks.html", {"query": query, "results": found, "groups": {}})
    entries = [summary(rt, rb) for rb in rt.ruleset.catalog]
    uses = None
    if sort != "category":
        uses = await run_in_threadpool(runbook_use.all_use, rt, [e.id for e in entries])
    if uses is not None:
        entries = runbook_use.sorted_by(entries, uses, sort)
    if wants_json(request):
        body: dict[str, Any] = {"runbooks": _json(entries), "problems": _json(problems(rt))}
        if uses is not None:
            body |= {"sort": sort, "use": {k: v.model_dump(mode="json") for k, v in uses.items()}}
        return JSONResponse(body)
    if uses is not None:
        context = {"query": "", "results": entries, "groups": {}, "problems": problems(rt)}
        return page(request, "runbooks.html", context | {"sort": sort, "uses": uses})
    groups: dict[str, list[RunbookSummary]] = defaultdict(list)
    for entry in entries:
        groups[entry.category].append(entry)
    order = [c for c in CATEGORIES if c in groups] + sorted(set(groups) - set(CATEGORIES))
    return page(
        request,
        "runbooks.html",
        {
            "query": "",
            "results": None,
            "groups": {c: groups[c] for c in order},
            "problems": problems(rt),
        },
    )


@router.get("/runbooks/{runbook_id}", response_class=HTMLResponse)
async def runbook(
    request: Request, rt: PageDep, runbook_id: str, alert: str | None = None
) -> Response:
    """The entry; with ``alert``, filled from that stored alert's labels."""
    rb = rt.ruleset.catalog.get(runbook_id)
    if rb is None:
        why = rt.ruleset.catalog.unreadable(runbook_id)
        return not_found(request, f"runbook {runbook_id[:40]}", why)
    filled: AlertDetail | None = None
    if alert is not None:
        number = alert_id(alert)
        if number is None:
            return bad_request(
                request, "alert", f"{alert[:30]!r} is not an alert id (the number in /alerts/ID)"
            )
        filled = await run_in_threadpool(rt.store.alert_detail, number)
        if filled is None:
            return not_found(request, f"alert {number}")
    use = await run_in_threadpool(runbook_use.runbook_use, rt, rb.id)
    edit_url = rt.ruleset.source_url(rb)
    if wants_json(request):
        body = rb.model_dump(mode="json") | summary(rt, rb).model_dump(mode="json")
        body |= {"edit_url": edit_url, "use": use.model_dump(mode="json") if use else None}
        if filled is not None:
            steps = [filled_step(step, [filled.labels]) for step in rb.steps]
            body |= {
                "filled_for": filled_for(filled).model_dump(mode="json"),
                "filled_steps": [step.model_dump(mode="json") for step in steps],
            }
        return JSONResponse(body)
    context = {
        "rb": summary(rt, rb),
        "html": render_markdown(rb.source, filled.labels if filled else None),
        "filled_for": filled_for(filled) if filled else None,
        "edit_url": edit_url,
        "use": use,
        "people": await run_in_threadpool(runbook_use.people, rt, use) if use else {},
        "step_links": {s.number: rt.ruleset.source_url(rb, s.line) for s in rb.steps},
    }
    return page(request, "runbook.html", context)
