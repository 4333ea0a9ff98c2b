"""``/runbook``: answers computed from memory, well within Slack's 3 seconds.

/runbook [help]                       usage
/runbook RUN-001 | run-1              the entry, with a "Post in channel" button
/runbook list [category]              entries by category
/runbook why <alertname> [k=v ...]    route, runbook, level and channel it would get
/runbook oncall [NAME]                who is on call (answered in router/http/slack.py)
/runbook <words>                      the best five matches
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from datetime import UTC, datetime

from router import sources
from router.alert import Alert, SourceName
from router.clock import Clock, SystemClock
from router.config_values import RUNBOOK_ID
from router.decide import Ruleset
from router.render import Reply
from router.render.mrkdwn import MAX_SECTION_TEXT, escape, link, truncate
from router.render.runbook_entry import runbook_blocks
from router.runbooks.model import CATEGORIES

USAGE = """*`/runbook`* finds the procedure for what is on fire.
• `/runbook RUN-001` shows an entry (only to you), with a button to post it in the channel
• `/runbook connection pool exhausted` searches titles, alerts, symptoms and steps
• `/runbook list` or `/runbook list incident` lists the entries
• `/runbook why HighErrorRate env=prod severity=critical` shows the route, runbook, \
level and channel such an alert gets (`source=datadog` for another source)
• `/runbook status` drafts a status update for the newest alert firing in the channel
• `/runbook oncall` or `/runbook oncall db-primary` says who is on call and until when"""
SOURCES: tuple[SourceName, ...] = tuple(s.name for s in sources.SOURCES.values())


def _answer(text: str) -> Reply:
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)},
    }
    return Reply(truncate(text, 3000), [section])


class RunbookCommand:
    def __init__(self, ruleset: Ruleset, clock: Clock | None = None) -> None:
        self.ruleset = ruleset
        self.clock = clock or SystemClock()

    def answer(self, text: str) -> Reply:
        text = " ".join(text.split())
        head, _, rest = text.partition(" ")
        verb = head.lower()
        if verb in ("", "help", "-h", "--help"):
            return _answer(USAGE)
        if RUNBOOK_ID.fullmatch(head) and not rest:
            return self.entry(head)
        if verb == "list":
            return self.listing(rest)
        if verb == "why":
            return self.why(rest)
        return self.search(text)

    def entry(self, runbook_id: str) -> Reply:
        runbook = self.ruleset.catalog.get(runbook_id)
        if runbook is None:
            return _answer(f"There is no {escape(runbook_id.upper())}. Try `/runbook list`.")
        url = self.ruleset.runbook_url(runbook)
        return Reply(f"{runbook.id}: {escape(runbook.title)}", runbook_blocks(runbook, url))

    def listing(self, category: str) -> Reply:
        wanted = category.strip().title()
        if wanted and wanted not in CATEGORIES:
            return _answer(f"No category {escape(category)}; there are {', '.join(CATEGORIES)}.")
        groups: dict[str, list[str]] = defaultdict(list)
        for rb in self.ruleset.catalog:
            if not wanted or rb.category == wanted:
                label = link(self.ruleset.runbook_url(rb), f"{rb.id}: {rb.title}", 300)
                groups[rb.category or "Uncategorised"].append(f"• {label}")
        if not groups:
            return _answer(f"No {escape(wanted)} runbooks yet.")
        blocks = [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": truncate(f"*{name}*\n" + "\n".join(lines), MAX_SECTION_TEXT),
                },
            }
            for name, lines in sorted(groups.items())
        ][:50]
        count = sum(len(lines) for lines in groups.values())
        return Reply(f"{count} runbooks", blocks)

    def search(self, query: str) -> Reply:
        hits = self.ruleset.index.search(query, limit=5)
        if not hits:
            return _answer(
                f"No runbook matches “{escape(query)}”. Try other words, or `/runbook list`."
            )
        lines = []
        for hit in hits:
            rb = hit.runbook
            label = link(self.ruleset.runbook_url(rb), f"{rb.id}: {rb.title}", 300)
            why = f" ({escape('; '.join(hit.reasons))})" if hit.reasons else ""
            lines.append(f"• {label} — _{escape(rb.trigger or rb.category)}_{why}")
        text = f"Runbooks for “{escape(query)}”:\n" + "\n".join(lines)
        return _answer(text)

    def why(self, rest: str) -> Reply:
        try:
            args = shlex.split(rest)
        except ValueError as exc:
            return _answer(f"Could not read that: {escape(str(exc))}.\n{USAGE}")
        if not args or "=" in args[0]:
            return _answer("Usage: `/runbook why <alertname> [label=value ...] [source=...]`")
        labels = {"alertname": args[0]}
        source: SourceName = "alertmanager"
        for arg in args[1:]:
            key, sep, value = arg.partition("=")
            if not sep or not key:
                return _answer(f"`{escape(arg)}` is not label=value.")
            if key == "source":
                if value not in SOURCES:
                    return _answer(f"source must be one of {', '.join(SOURCES)}.")
                source = value
            else:
                labels[key] = value
        now = self.clock.now()
        alert = Alert(
            source=source,
            status="firing",
            name=args[0],
            fingerprint="why",
            group_key="why",
            labels=labels,
            starts_at=datetime.fromtimestamp(now, UTC),
        )
        more = len(labels) - 1
        lines = [f"`{escape(args[0])}` from {source} with {more} more label(s) would get:"]
        for d in self.ruleset.decide(alert, now):
            route = f"route `{escape(d.route)}`" if d.route else "no route (the defaults)"
            runbook = "*no runbook* (unmatched)"
            if d.runbook:
                rb = d.runbook.runbook
                runbook = link(
                    d.runbook.url, f"{rb.id}: {rb.title}" if rb else d.runbook.title, 300
                )
                if d.runbook.origin != "route":  # the route is named on the line already
                    runbook += f" ({escape(d.runbook.reason)})"
            lines.append(
                f"• {route} → {escape(d.channel)}, {runbook}, *{d.severity.level}* "
                f"(respond {escape(d.severity.respond)}): {escape(d.severity.reason)}"
            )
            if d.held:
                held = f"held, not posted now: {escape(d.held)}; posted then if it still fires"
                lines.append(f"   _{held}_")
        return _answer("\n".join(lines))
