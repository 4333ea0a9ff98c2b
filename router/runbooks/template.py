"""A new RUN- entry (``new``): every section of the format, each to be filled in.

What a person has to write says TODO. ``lint`` reports each line that still
does (RB017), so a new entry fails lint until it is filled; the parser reads a
header field that still starts with TODO as not given, so a new entry is a
valid one (``check`` passes, it claims no alert names, its Category and Last
Tested are unset rather than wrong). There is no template file in the runbooks
folder on purpose: the folder holds runbooks, and this module is the template;
``catalog.write_entry`` puts a new entry into the folder.
"""

from __future__ import annotations

import re
import unicodedata

UNFILLED = re.compile(r"\bTODO\b")
"""Template text nobody has replaced yet."""
MAX_SLUG = 60

_TEMPLATE = """\
# {id}: {title}
Category: TODO one of Incident, Deployment, Maintenance, Recovery, Escalation
Trigger: TODO the alert or event that starts this procedure
Owner: TODO the team that keeps this runbook true
Last Tested: TODO the day someone last followed it end to end, as YYYY-MM-DD
Alerts: TODO the alert names this entry answers, comma-separated (or delete the line)

## Scope
- **Handles**: TODO what this procedure fixes
- **Does NOT handle**: TODO what it does not, and which runbook does

## Prerequisites
- [ ] TODO access, credentials and dashboards needed before Step 1

## Procedure
### Step 1: TODO confirm what the alert says
TODO what to look at first, and what it tells you.
Commands:
```bash
# TODO the command to paste
```
Verification:
- [ ] TODO what you see when this step worked

### Step 2: TODO fix it
TODO the change that brings the service back.
Commands:
```bash
# TODO the command to paste
```
Verification:
- [ ] TODO how you know it is fixed

## Do not
- TODO what makes it worse

## Escalation
- **When to escalate**: TODO when this procedure is not enough
- **Who to contact**: TODO a team, a Slack channel or a PagerDuty schedule
- **What to provide**: TODO what they need to know first

## Post-Incident
- [ ] TODO what to do once it is over (timeline, tickets, corrections to this runbook)

Linked IDs: TODO related entries (MON-, DEP-, RISK-), or delete the line
"""


def is_unfilled(value: str) -> bool:
    """A header value that is still the template's: read as not given."""
    return UNFILLED.match(value.strip()) is not None


def slug(title: str) -> str:
    """``Redis memory high`` -> ``redis-memory-high``: ASCII, for a file name."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:MAX_SLUG].rstrip("-")


def entry(runbook_id: str, title: str) -> str:
    """The markdown of a new entry: the title given, every other part to fill in."""
    return _TEMPLATE.format(id=runbook_id, title=title)
