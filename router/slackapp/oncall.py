"""``/runbook oncall [NAME]``: who is on call for each ``oncall:`` entry, and until when.

The answers come from the on-call cache (router/oncall/lookup.py), with its short
wait for what is not cached; a lookup that fails says so and names the schedule.
"""

from __future__ import annotations

import difflib

from router.oncall.lookup import OnCall, OnCallNow
from router.render import Reply
from router.render.blocks import section, slack_date
from router.render.mrkdwn import MAX_SECTION_TEXT, escape, truncate

MAX_SHOWN = 20


def _reply(text: str) -> Reply:
    return Reply(truncate(text, 3000), [section(truncate(text, MAX_SECTION_TEXT)).to_dict()])


def _line(answer: OnCallNow) -> str:
    head = f"• *{escape(answer.name)}*"
    if not answer.people:
        why = escape(answer.failed or "nobody is named")
        return f"{head}: not known now ({why}); see {escape(answer.source)}"
    until = f" until {slack_date(answer.until)}" if answer.until else ""
    return f"{head}: {answer.mention()}{until} · {escape(answer.source)}"


def oncall_answer(oncall: OnCall | None, names: list[str], asked: str) -> Reply:
    """The answer, only to the asker; ``asked`` is the NAME typed, or empty for all."""
    if not names:
        text = (
            "No one is configured as on call: add `oncall:` entries to routes.yaml "
            "(a PagerDuty schedule or a rotation), then `/runbook oncall`."
        )
        return _reply(text)
    wanted = names
    if asked:
        if asked not in names:
            close = difflib.get_close_matches(asked, names, n=1)
            hint = f" Did you mean `{escape(close[0])}`?" if close else ""
            text = (
                f"There is no on-call entry {escape(asked)}.{hint} "
                f"There are: {escape(', '.join(names))}."
            )
            return Reply(
                truncate(text, 3000), [section(truncate(text, MAX_SECTION_TEXT)).to_dict()]
            )
        wanted = [asked]
    if oncall is None:
        answers = [OnCallNow(n, "routes.yaml", failed="no lookups here") for n in wanted]
    else:
        found = oncall.lookup(wanted[:MAX_SHOWN])
        answers = [found[n] for n in wanted[:MAX_SHOWN]]
    lines = [_line(a) for a in answers]
    if len(wanted) > MAX_SHOWN:
        lines.append(f"+{len(wanted) - MAX_SHOWN} more: `/runbook oncall NAME`")
    return _reply("*Who is on call now*\n" + "\n".join(lines))
