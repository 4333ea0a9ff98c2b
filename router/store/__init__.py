"""Durable state: alerts, Slack messages and the outbox, with SQLAlchemy Core.

One webhook request is one transaction: the alerts, their membership in Slack
messages and the outbox entries are written together before the 2xx. The parts:

    database.py   engine, write transactions, reads that never wait for the writer
    group.py      webhooks in, a group per transaction (ingest.py plans; plan.py, storms.py,
                  policy.py); writes.py: delivery ids, heartbeats, storms that end
    outbox/       every outbox write: entries.py armed in the storing transaction,
                  claims.py the dispatcher's side (claim, lease, complete, retry, dead)
    messages.py   a Slack message as the renderer sees it
    acks.py       acknowledgements and button work
    events.py     the incident timeline: acknowledged, reminders, escalations, resolved
    holds.py      alerts held by their route's time intervals, until it opens
    silences.py   silences from Slack, and alerts as Alertmanager lists them (reconciling)
    runbook_posts.py  the checklist and "Did RUN-001 help?" in the thread, and their answers
    use.py        what the runbooks were used for: the runbook pages and ``review``
    retention.py  history past its time deleted, a bounded batch per transaction
    queries.py    reads for the pages
    migrate.py    Alembic revisions, run at start and by ``runbook-router migrate``

No consumer takes ``Store`` whole but the composition (app, runtime, cli): each
declares beside itself a ``Protocol`` of the methods it uses (``TickStore`` in
slackapp/checklist.py, ``AlertReads`` in web/alert_pages.py ...), which the store
implements by shape; tests/test_ports.py checks every one.
"""

from __future__ import annotations

from router.store.acks import Acknowledgements
from router.store.events import MessageEvent, MessageEvents
from router.store.group import GroupWriter, GroupWrites, IngestRequest
from router.store.ingest import IngestResult
from router.store.messages import (
    FeedbackQuestion,
    Member,
    MessageStore,
    MessageView,
    Tally,
    views_of,
)
from router.store.outbox import Claim, OutboxItem, OutboxQueue
from router.store.placement import STALE_REDELIVERY_WINDOW
from router.store.plan import message_key
from router.store.policy import IngestPolicy
from router.store.queries import Queries
from router.store.retention import Pruned, Retention
from router.store.runbook_posts import (
    CHECKLIST_POST,
    FEEDBACK_POST,
    PostedStep,
    RunbookPost,
    RunbookPosts,
)
from router.store.schema import (
    HEARTBEAT,
    HOLD,
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    RECONCILE,
    RESPONSE_CLOCK,
    RUNBOOK_POST,
    SLACK_ACTION,
    SLACK_MESSAGE,
    make_engine,
)
from router.store.silences import (
    Candidate,
    Mirror,
    MirrorOutcome,
    NewSilence,
    SilenceFacts,
    Silences,
    SilenceView,
)
from router.store.use import RunbookUse, Said, Unrouted, UsedMessage, UseFacts
from router.store.writes import AlertWrites

__all__ = [
    "CHECKLIST_POST",
    "FEEDBACK_POST",
    "HEARTBEAT",
    "HOLD",
    "PAGERDUTY_EVENT",
    "PAGERDUTY_NOTE",
    "RECONCILE",
    "RESPONSE_CLOCK",
    "RUNBOOK_POST",
    "SLACK_ACTION",
    "SLACK_MESSAGE",
    "STALE_REDELIVERY_WINDOW",
    "Candidate",
    "Claim",
    "FeedbackQuestion",
    "GroupWriter",
    "IngestPolicy",
    "IngestRequest",
    "IngestResult",
    "Member",
    "MessageEvent",
    "MessageView",
    "Mirror",
    "MirrorOutcome",
    "NewSilence",
    "OutboxItem",
    "PostedStep",
    "Pruned",
    "RunbookPost",
    "Said",
    "SilenceFacts",
    "SilenceView",
    "Store",
    "Tally",
    "Unrouted",
    "UseFacts",
    "UsedMessage",
    "make_engine",
    "message_key",
    "views_of",
]


class Store(
    GroupWrites,
    AlertWrites,
    OutboxQueue,
    MessageStore,
    Acknowledgements,
    MessageEvents,
    Silences,
    RunbookPosts,
    RunbookUse,
    Queries,
    Retention,
):
    """The database, one part per job (each a module here), over one engine and clock."""
