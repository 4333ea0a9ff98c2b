"""The runbook's part of an alert message, short enough for a phone's first screen.

The link with owner and Last Tested; the first step with its commands filled
from the group's alerts (once per distinct filling, three at most); the titles
of the next steps; "Do not" and the escalation in one line each. The whole
procedure is one click away (Show all steps, the runbook page).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from router.render.mrkdwn import code_block, escape, link, truncate
from router.runbooks import Runbook, Step
from router.runbooks.filled import MAX_FILLINGS, filled_step

FILLINGS_SHOWN = MAX_FILLINGS
"""A command filled differently by the group's alerts is shown this many times at most."""
MAX_COMMAND = 700
MAX_STEP_TEXT = 300
MAX_NEXT_TITLES = 6
MAX_DO_NOTS = 3
MAX_DO_NOT = 110
MAX_WHEN = 160
MAX_WHO = 200


def head(runbook: Runbook, url: str, now: float, stale_after_days: int) -> str:
    """``RUN-001: Title`` as a link, with owner and Last Tested (flagged when stale)."""
    title = f"*{link(url, f'{runbook.id}: {runbook.title}', 600)}*"
    tested = runbook.last_tested.isoformat() if runbook.last_tested else "never"
    meta = f"Owner: {escape(runbook.owner or 'unknown')} · Last tested: {tested}"
    if runbook.is_stale(datetime.fromtimestamp(now, UTC).date(), stale_after_days):
        meta += f" ⚠️ *stale* (older than {stale_after_days} days)"
    return f"{title}\n{meta}"


def first_step(step: Step, label_sets: Sequence[Mapping[str, str]], more: str = "") -> str:
    """The first step: title, its first line of text, every command once per distinct
    filling (three at most, then how many more and ``more``: where they are)."""
    filled = filled_step(step, label_sets, limit=FILLINGS_SHOWN)
    parts = [f"*Step {filled.number}: {escape(filled.title)}*"]
    if filled.text:
        parts.append(escape(truncate(filled.text[0], MAX_STEP_TEXT)))
    for command in filled.commands:
        shown = [f.rstrip("\n") for f in command.fillings]
        joiner = "\n\n" if any("\n" in f for f in shown) else "\n"
        block = code_block(joiner.join(shown), MAX_COMMAND)
        if command.more:
            block += f"\n_+{command.more} more{more}_"
        parts.append(block)
    return "\n".join(parts)


def next_steps(runbook: Runbook) -> str | None:
    """``Next: 2. Title · 3. Title``: the rest of the procedure at a glance."""
    rest = runbook.steps[1:]
    if not rest:
        return None
    titles = [f"{s.number}. {escape(truncate(s.title, 80))}" for s in rest[:MAX_NEXT_TITLES]]
    if len(rest) > MAX_NEXT_TITLES:
        titles.append(f"+{len(rest) - MAX_NEXT_TITLES} more")
    return "*Next:* " + " · ".join(titles)


def _short_do_not(item: str) -> str:
    """``Do not raise X during Y: it needs a restart`` -> ``raise X during Y``: the
    what, without the why (that is in the runbook)."""
    lowered = item.lower()
    for prefix in ("do not ", "don't ", "never "):
        if lowered.startswith(prefix):
            item = item[len(prefix) :]
            break
    return re.split(r":\s|\s[—–]\s|;\s", item, maxsplit=1)[0].strip()


def do_not_line(runbook: Runbook) -> str | None:
    """``⛔ Do not: raise max_connections… · restart the database…``"""
    if not runbook.do_not:
        return None
    items = [escape(truncate(_short_do_not(d), MAX_DO_NOT)) for d in runbook.do_not]
    shown = items[:MAX_DO_NOTS]
    if len(items) > MAX_DO_NOTS:
        shown.append(f"+{len(items) - MAX_DO_NOTS} more in the runbook")
    return "⛔ *Do not:* " + " · ".join(shown)


def escalation_line(runbook: Runbook) -> str | None:
    """``📣 Escalate if <when> → <who>``, from the runbook.

    Never the route's ``escalate_to``: a mention here would page that group with
    every post, before anyone had the time the level allows to acknowledge.
    """
    esc = runbook.escalation
    who = escape(truncate(esc.who, MAX_WHO)) if esc.who else ""
    if not esc.when and not who:
        return None
    when = f"if {escape(truncate(esc.when, MAX_WHEN))}" if esc.when else ""
    arrow = " → " if when and who else ""
    return f"📣 *Escalate* {when}{arrow}{who}".rstrip()
