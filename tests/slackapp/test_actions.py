"""Button work as the dispatcher runs it: the stored message in, what Slack gets out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.decide import Ruleset, load_ruleset
from router.records import ThreadSteps
from router.slackapp.actions import ActionRunner
from router.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import make_alert

RUNBOOK = """\
# RUN-020: Node not ready
Category: Incident
Owner: Platform Team
Last Tested: 2026-11-01

## Procedure
### Step 1: Drain {{ $labels.node }}
Move the pods off {{ $labels.node }} in {{ $labels.cluster }}.
Commands:
```bash
kubectl drain {{ $labels.node }} --ignore-daemonsets
kubectl -n {{ $labels.namespace }} get pods -o wide
```
Verification:
- [ ] {{ $labels.node }} shows SchedulingDisabled

### Step 2: Check the kubelet
Commands:
```bash
journalctl -u kubelet --since -1h
```
"""
ROUTES = """\
defaults: {channel: "#ops", runbook_url: "https://router.example/runbooks/{id}"}
routes:
  - {name: nodes, matchers: ['alertname="NodeNotReady"'], runbook: RUN-020}
"""
HOSTILE = "<!channel> <@U123> <http://x|y>"
JANE = "U0JANE0001"


@pytest.fixture
def ruleset(tmp_path: Path) -> Ruleset:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "RUN-020-node-not-ready.md").write_text(RUNBOOK, encoding="utf-8")
    (tmp_path / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    return load_ruleset(tmp_path / "routes.yaml", runbooks, strict=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path}/router.db", FakeClock())
    s.create_schema()
    yield s
    s.engine.dispose()


def show_all_steps(store: Store, ruleset: Ruleset, *nodes: str) -> str:
    """Store one message for alerts on these nodes, click Show all steps: the reply's blocks."""
    alerts = [make_alert("NodeNotReady", node=n, cluster="eu-1") for n in nodes]
    store.ingest([(a, ruleset.decide(a)) for a in alerts])
    store.record_posted(1, "C0OPS", "1700000000.000100")
    slack = RecordingNotifier()
    ActionRunner(store, slack, lambda: ruleset, None).run(ThreadSteps(user_id=JANE, message_id=1))
    ((kind, channel, thread, reply),) = slack.calls
    assert (kind, channel, thread) == ("reply", "C0OPS", "1700000000.000100")
    return json.dumps(reply.blocks, ensure_ascii=False)


def test_show_all_steps_fills_each_command_once_per_node(store: Store, ruleset: Ruleset) -> None:
    text = show_all_steps(store, ruleset, "node-a", "node b", HOSTILE)
    drains = [
        "kubectl drain node-a --ignore-daemonsets",
        "kubectl drain 'node b' --ignore-daemonsets",  # quoted for the shell
        "kubectl drain '&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt;' --ignore-daemonsets",
    ]
    for drain in drains:
        assert text.count(drain) == 1
    # The label the alerts lack stays visibly unfilled, in each filling.
    assert text.count("kubectl -n {{ $labels.namespace }} get pods -o wide") == 3
    nodes = "node-a, node b, &lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt;"
    assert f"*Step 1: Drain {nodes}*" in text
    assert f"Move the pods off {nodes} in eu-1." in text
    assert text.count("journalctl -u kubelet --since -1h") == 1  # nothing to fill: once
    assert "more (" not in text
    # Nothing from an alert forms a mention or a link.
    for special in ("<!channel>", "<@U123>", "<http://x|y>"):
        assert special not in text
    assert f"asked by <@{JANE}>" in text


def test_past_three_fillings_the_rest_are_on_the_alert_page(store: Store, ruleset: Ruleset) -> None:
    text = show_all_steps(store, ruleset, "n1", "n2", "n3", "n4", "n5")
    assert [n for n in ("n1", "n2", "n3", "n4", "n5") if f"kubectl drain {n} " in text] == [
        "n1",
        "n2",
        "n3",
    ]
    assert text.count("+2 more (<https://router.example/alerts/1|see the alert page>)") == 1
    assert "*Step 1: Drain n1, n2, n3 +2 more*" in text
