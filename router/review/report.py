"""``runbook-router review``: the runbook index's quarterly review template, filled in.

The template (reviewed runbooks; a checklist for each runbook and overall;
findings and action items; approved by; the next review date) keeps its shape.
What the router knows it fills in: each runbook's use in the period, times to
acknowledge and resolve, feedback, the steps that did not work, staleness
(``Last Tested`` against ``stale_after_days``) and lint; the runbooks not used;
the alert names that fired most with no runbook; findings and action items drawn
from those. What only a person can check stays an open box. Markdown for a pull
request, JSON for tooling.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from pydantic import Field

from router.records import Record
from router.render.blocks import duration
from router.render.incident.timeline import utc
from router.review.use import DAY, Use, use_of
from router.runbooks import Catalog, Runbook
from router.runbooks.lint import check as lint_check
from router.store import UseFacts
from router.store.use import Unrouted

FOR_A_PERSON = (
    "Commands tested and working (copy-paste them where they run)",
    "Queries (PromQL, SQL) return valid results",
    "External links verified (dashboards, status pages, consoles)",
    "Example outputs current",
    "No references to deprecated components or APIs",
)
"""The template's checks for each runbook that only a person can make."""
OVERALL_FOR_A_PERSON = (
    "New application features require runbook updates",
    "Dependencies updated (Kubernetes, database versions)",
)


class Check(Record):
    item: str
    done: bool | None = None
    """True or False when the router could tell; None: left for a person."""


class NoRunbook(Record):
    name: str
    alerts: int
    incidents: int


class Finding(Record):
    runbook: str | None = None
    finding: str
    action: str
    owner: str | None = None


class RunbookReview(Record):
    id: str
    title: str
    owner: str
    path: str
    edit_url: str | None = None
    last_tested: str | None = None
    tested_days_ago: int | None = None
    stale: bool
    use: Use
    lint: list[str] = Field(default_factory=list)
    checklist: list[Check] = Field(default_factory=list)


class Review(Record):
    date: str
    since: str
    period_days: int
    database: str
    empty: bool
    """No alert at all in the period: nothing below comes from use."""
    runbooks: list[RunbookReview]
    unused: list[str]
    """Not used in the period (none said when the database has nothing from it)."""
    without_runbook: list[NoRunbook]
    overall: list[Check]
    findings: list[Finding]
    next_review: str


def next_review(today: date, months: int = 3) -> date:
    """Three months on, the same day (or the month's last)."""
    month = today.month - 1 + months
    year, month = today.year + month // 12, month % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def review(
    catalog: Catalog,
    facts: UseFacts,
    unrouted: Sequence[Unrouted],
    last_used: dict[str, float],
    *,
    now: float,
    period_days: int,
    stale_after_days: int,
    database: str,
    source_url: Callable[[Runbook, int | None], str | None] = lambda _rb, _line: None,
) -> Review:
    today = datetime.fromtimestamp(now, UTC).date()
    empty = facts.alerts == 0
    known = {rb.number for rb in catalog}
    reviewed: list[RunbookReview] = []
    findings: list[Finding] = []
    upkeep: list[Finding] = []
    for rb in catalog:
        use = use_of(
            rb.id,
            facts.messages,
            facts.said,
            now,
            last_used=last_used.get(rb.id),
            windows=(period_days,),
        )
        days = (today - rb.last_tested).days if rb.last_tested else None
        stale = rb.is_stale(today, stale_after_days)
        lint = [
            f"line {f.line}: {f.rule} {f.message}"
            for f in lint_check(rb, rb.path, known, today, stale_after_days, check_name=False)
            if f.rule != "RB004"  # staleness has its own line
        ]
        tested = f"{rb.last_tested.isoformat()}, {days} days ago" if rb.last_tested else "never"
        window = use.windows[0]
        failed = sorted({n.step for n in use.failed_steps} | {n.step for n in use.steps_wrong})
        checklist = [
            Check(item=f"Last Tested within {stale_after_days} days ({tested})", done=not stale),
            Check(
                item=f"Used in the period ({window.alerts} alerts, {window.incidents} incidents)"
                if window.incidents
                else "Used in the period: not once"
                if not empty
                else "Used in the period (the database has no alerts to tell)",
                done=bool(window.incidents) if not empty else None,
            ),
            Check(
                item="Steps that did not work are fixed: " + ", ".join(f"step {n}" for n in failed)
                if failed
                else "Every step worked when used"
                if window.incidents
                else "Every step worked when used (not used: nothing to tell)",
                done=False if failed else True if window.incidents else None,
            ),
            Check(
                item="runbook-router lint: no findings"
                if not lint
                else f"runbook-router lint: {len(lint)} finding(s) fixed",
                done=not lint,
            ),
            *(Check(item=item) for item in FOR_A_PERSON),
        ]
        reviewed.append(
            RunbookReview(
                id=rb.id,
                title=rb.title,
                owner=rb.owner,
                path=rb.path,
                edit_url=source_url(rb, None),
                last_tested=rb.last_tested.isoformat() if rb.last_tested else None,
                tested_days_ago=days,
                stale=stale,
                use=use,
                lint=lint,
                checklist=checklist,
            )
        )
        findings += _learned(rb, use, source_url)
        upkeep += _upkeep(rb, stale, tested, stale_after_days, lint)
    without = [NoRunbook(name=u.name, alerts=u.alerts, incidents=u.incidents) for u in unrouted]
    for u in without:
        findings.append(
            Finding(
                finding=f"{u.name} fired {u.alerts} time(s) ({u.incidents} incident(s)) "
                "with no runbook",
                action=f"Write one (runbook-router new RUN-nnn ...) listing {u.name} in its "
                "Alerts: line, or route it to an existing one",
            )
        )
    findings += upkeep
    unused = [r.id for r in reviewed if not r.use.used and not empty]
    if unused:
        findings.append(
            Finding(
                finding=f"Not used in the {period_days} days: {', '.join(unused)}",
                action="For each: check that its alerts still fire and reach it "
                "(runbook-router coverage), drill it, or retire it",
            )
        )
    incidents = sum(r.use.windows[0].incidents for r in reviewed)
    feedback = [r.use.feedback for r in reviewed]
    said = (
        f"{sum(f.helped for f in feedback)} 👍, {sum(f.did_not_help for f in feedback)} 👎, "
        f"{sum(f.steps_wrong for f in feedback)} steps reported wrong"
    )
    overall = [
        Check(
            item="Every alert that fired had a runbook"
            if not without
            else f"Alerts with no runbook have one: {', '.join(u.name for u in without)}",
            done=not without,
        ),
        Check(
            item=f"No new failure modes from incidents this quarter ({incidents} incidents: "
            "read their postmortem drafts)"
        ),
        *(Check(item=item) for item in OVERALL_FOR_A_PERSON),
        Check(item=f"Team feedback collected and addressed ({said}: see the findings)"),
    ]
    return Review(
        date=today.isoformat(),
        since=_day(now - period_days * DAY),
        period_days=period_days,
        database=database,
        empty=empty,
        runbooks=reviewed,
        unused=unused,
        without_runbook=without,
        overall=overall,
        findings=findings,
        next_review=next_review(today).isoformat(),
    )


def _learned(
    rb: Runbook, use: Use, source_url: Callable[[Runbook, int | None], str | None]
) -> list[Finding]:
    """What the responders told: steps that did not work, steps reported wrong, 👎."""
    out: list[Finding] = []
    lines = {s.number: s.line for s in rb.steps}

    def add(finding: str, action: str) -> None:
        out.append(Finding(runbook=rb.id, finding=finding, action=action, owner=rb.owner or None))

    for notes, what, verb in (
        (use.failed_steps, "did not work", "Fix"),
        (use.steps_wrong, "was reported wrong", "Correct"),
    ):
        for step in sorted({n.step for n in notes}):
            mine = [n for n in notes if n.step == step]
            why = "; ".join(f"“{n.note}”" for n in mine if n.note) or "no reason given"
            where = source_url(rb, lines.get(step))
            add(
                f"Step {step} ({mine[-1].title}) {what} {len(mine)} time(s): {why}",
                f"{verb} step {step} of {rb.id}" + (f" ({where})" if where else ""),
            )
    if use.feedback.did_not_help:
        fb = use.feedback
        add(
            f"{fb.did_not_help} of {fb.helped + fb.did_not_help} answers said it did not help",
            "Ask the responders what was missing, and add it",
        )
    return out


def _upkeep(
    rb: Runbook, stale: bool, tested: str, stale_after_days: int, lint: Sequence[str]
) -> list[Finding]:
    out: list[Finding] = []
    owner = rb.owner or None
    if stale:
        out.append(
            Finding(
                runbook=rb.id,
                finding=f"Last Tested {tested} (more than {stale_after_days} days)",
                action=f"Run a drill of {rb.id} and update Last Tested",
                owner=owner,
            )
        )
    if lint:
        out.append(
            Finding(
                runbook=rb.id,
                finding=f"runbook-router lint: {'; '.join(lint)}",
                action="Fix what lint reports",
                owner=owner,
            )
        )
    return out


# -- markdown ------------------------------------------------------------------------


def _box(check: Check) -> str:
    return f"- [{'x' if check.done else ' '}] {check.item}"


def _median(value: float | None, of: int) -> str:
    return f"{duration(value)} (of {of})" if value is not None else "— (none)"


def markdown(r: Review) -> str:
    """The template as markdown, for a pull request."""
    lines = [f"# Runbook Review - {r.date}", ""]
    lines.append(
        f"Filled in by `runbook-router review` from {r.database}: the {r.period_days} days "
        f"since {r.since}. Boxes the router could check are ticked or left open with the "
        "reason; the rest are for the reviewers."
    )
    if r.empty:
        lines += [
            "",
            f"**The database has no alerts from these {r.period_days} days**, so nothing below "
            "comes from use: no times, no feedback, no steps that did not work. Is "
            "ROUTER_DATABASE_URL the router's database?",
        ]
    lines += ["", "## Reviewed Runbooks", ""]
    for rb in r.runbooks:
        window = rb.use.windows[0]
        used = (
            f"{window.alerts} alerts, {window.incidents} incidents"
            if window.incidents
            else "not used"
        )
        stale = ", stale" if rb.stale else ""
        lines.append(f"- [ ] {rb.id}: {rb.title} ({used}{stale})")
    lines += ["", "## Review Checklist", "", "### For Each Runbook"]
    for rb in r.runbooks:
        lines += ["", *_runbook_section(rb)]
    lines += ["", "### Overall", "", *(_box(c) for c in r.overall)]
    lines += ["", "## Findings and Action Items", ""]
    if not r.findings:
        lines.append("Nothing found in what the router saw; add what the reviewers find.")
    for n, f in enumerate(r.findings, 1):
        owner = f" -> {f.owner}" if f.owner else ""
        about = f"**{f.runbook}**: " if f.runbook else ""
        lines.append(f"{n}. {about}{f.finding}")
        lines.append(f"   - [ ] {f.action}{owner}")
    if r.without_runbook:
        lines += ["", "Alert names that fired most with no runbook:", ""]
        lines += ["| Alert | Fired | Incidents |", "|---|---|---|"]
        lines += [f"| {u.name} | {u.alerts} | {u.incidents} |" for u in r.without_runbook]
    lines += [
        "",
        "## Approved By",
        "",
        "- Operations Lead: _______________",
        "- Engineering Lead: _______________",
        "",
        "## Next Review Date",
        "",
        r.next_review,
    ]
    return "\n".join(lines) + "\n"


def _runbook_section(rb: RunbookReview) -> list[str]:
    use = rb.use
    window = use.windows[0]
    edit = f" · [Edit runbook]({rb.edit_url})" if rb.edit_url else ""
    fb = use.feedback
    lines = [
        f"#### {rb.id}: {rb.title}",
        "",
        f"Owner: {rb.owner or 'none'} · Last Tested: {rb.last_tested or 'never'} · "
        f"`{rb.path}`{edit}",
        "",
    ]
    if not window.incidents:
        last = utc(use.last_used) if use.last_used else "never"
        return [
            *lines,
            f"Not used in the period (last used: {last}).",
            "",
            *map(_box, rb.checklist),
        ]
    lines += [
        "| | |",
        "|---|---|",
        f"| Alerts | {window.alerts} ({window.incidents} incidents) |",
        f"| Last used | {utc(use.last_used) if use.last_used else 'never'} |",
        f"| Median time to acknowledge | {_median(use.median_ack, use.acknowledged)} |",
        f"| Median time to resolve | {_median(use.median_resolve, use.resolved)} |",
        f"| Feedback | {fb.helped} 👍, {fb.did_not_help} 👎, {fb.steps_wrong} steps reported "
        "wrong |",
        f"| Checklist ticked | in {use.checklists} incident(s) |",
    ]
    if use.by_alert:
        lines += [
            "",
            "By alert: "
            + "; ".join(
                f"{a.name} {a.alerts}× ({a.feedback.helped} 👍, {a.feedback.did_not_help} 👎)"
                for a in use.by_alert
            ),
        ]
    notes = [("didn't work", n) for n in use.failed_steps]
    notes += [("reported wrong", n) for n in use.steps_wrong]
    if notes:
        lines += ["", "Steps that did not work:", ""]
        for what, n in notes:
            why = f": “{n.note}”" if n.note else " (no reason given)"
            lines.append(f"- Step {n.step}, {n.title}: {what}{why} ({_day(n.at)})")
    lines += ["", *(_box(c) for c in rb.checklist)]
    return lines
