from __future__ import annotations

import json

from router.render.runbook_entry import runbook_blocks, step_text
from router.runbooks import Runbook, parse_runbook
from router.runbooks.filled import filled_step

RUNBOOK = """\
# RUN-020: Node not ready
Owner: Platform Team

## Procedure
### Step 1: Drain {{ $labels.node }}
```bash
kubectl drain {{ $labels.node }}
```
"""


def runbook() -> Runbook:
    rb, problems = parse_runbook(RUNBOOK, "RUN-020.md")
    assert rb is not None
    assert not problems
    return rb


def test_an_entry_without_an_alert_shows_its_placeholders() -> None:
    """/runbook RUN-020 and Post in channel: nothing to fill from."""
    text = json.dumps(runbook_blocks(runbook(), "https://router.example/runbooks/RUN-020"))
    assert "*Step 1: Drain {{ $labels.node }}*" in text
    assert "kubectl drain {{ $labels.node }}" in text


def test_more_fillings_without_a_pages_address_say_where_in_words() -> None:
    nodes = [{"node": f"n{i}"} for i in range(5)]
    text = step_text(filled_step(runbook().steps[0], nodes))
    assert text.count("```") == 6  # three code blocks
    assert text.endswith("+2 more (see the alert page)")
