"""What the HTTP handlers and background tasks share, and how it is built from Settings.

The ruleset is swapped whole on reload (in ``Runtime.current``, which the delivery
handlers were given at start-up); everything that depends on one load (search
index, storm policy) hangs off the ruleset, so a request sees one consistent load
from start to end.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from router import heap
from router.alertmanagers import Alertmanagers
from router.clock import Clock
from router.decide import Ruleset, check_paging, load_ruleset
from router.deliveries.current import Current
from router.deliveries.reconcile import Reconciler
from router.dispatcher import Dispatcher
from router.errors import ConfigError, Problem
from router.http.bodies import UnverifiedBodies
from router.http.refusals import RefusalLog
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.directory import SlackDirectory
from router.notifiers.log import LogNotifier
from router.notifiers.pagerduty import PagerDuty
from router.notifiers.slack import SlackNotifier
from router.oncall.lookup import OnCall
from router.reload import Reloader
from router.render.message import MessageRenderer
from router.runbooks.lint import lint_scan
from router.settings import Settings
from router.slackapp.command import RunbookCommand
from router.slackapp.silence import SilenceDesk
from router.slackapp.socket_mode import SocketMode
from router.sources import SOURCES
from router.store import GroupWriter, Store

log = logging.getLogger("router")


@dataclass
class Runtime:
    """The running service: settings, the current ruleset, storage, metrics, delivery."""

    settings: Settings
    current: Current
    """The ruleset in force, swapped by ``reload``; the delivery handlers read it there."""
    store: Store
    metrics: Metrics
    dispatcher: Dispatcher
    clock: Clock
    pagerduty: PagerDuty | None = None
    directory: SlackDirectory | None = None
    """Slack's names for people and the workspace's address, for pages."""
    silences: SilenceDesk | None = None
    reconciler: Reconciler | None = None
    socket: SocketMode | None = None
    """Slack Socket Mode (SLACK_APP_TOKEN): Slack's requests over a connection we open."""
    oncall: OnCall | None = None
    """Who is on call (``oncall:`` in routes.yaml), for mentions and /runbook oncall."""
    reload_lock: threading.Lock = field(default_factory=threading.Lock)
    reloader: Reloader = field(init=False)
    writer: GroupWriter = field(init=False)
    """Webhooks are stored through it, a group of waiting requests per transaction."""
    refusals: RefusalLog = field(init=False)
    """Refused webhooks in the log, a line per source and reason every few seconds."""
    unverified: UnverifiedBodies = field(init=False)
    """The bytes bodies not yet verified may hold at once (ROUTER_MAX_UNVERIFIED_BYTES)."""

    ruleset: Ruleset = field(init=False)
    """The ruleset in force, as ``current`` holds it (``reload`` swaps both at once); an
    attribute, so a request reads it without a call into this module."""
    pagerduty_rest: bool = field(init=False)
    """PagerDuty's REST API is configured: incidents can be acknowledged and noted."""

    def __post_init__(self) -> None:
        self.ruleset = self.current.ruleset()
        self.pagerduty_rest = self.pagerduty is not None and self.pagerduty.rest is not None
        self.reloader = Reloader(self.reload_logged, self.settings.config, self.settings.runbooks)
        self.writer = GroupWriter(self.store, on_group=self.metrics.ingest_group.observe)
        self.refusals = RefusalLog(self.clock)
        self.unverified = UnverifiedBodies(self.settings.max_unverified_bytes)

    @property
    def alertmanagers(self) -> Alertmanagers:
        """The Alertmanager APIs (``ALERTMANAGER_URL`` and ``alertmanagers:``), built again
        after a reload that changes ``alertmanagers:``."""
        return self.current.alertmanagers()

    def renderer(self, *, wait: float | None = 0.0) -> MessageRenderer:
        """Messages as the current load draws them. Who is on call as cached (a page must
        not wait for PagerDuty); delivery draws with the lookups' own wait (``Current``)."""
        return self.current.renderer(wait=wait)

    def command(self) -> RunbookCommand:
        """/runbook over the current runbooks."""
        return RunbookCommand(self.ruleset, self.clock)

    def reload(self) -> Ruleset:
        """Load routes and runbooks again; an unusable routes file keeps the running ones.

        A runbook that cannot be read is left out and logged; the rest load.
        """
        with self.reload_lock:
            ruleset = load_ruleset_for(self.settings)
            log_problems(ruleset)
            _ = ruleset.index  # build the search index now, not on someone's first /runbook
            self.current.swap(ruleset)
            self.ruleset = ruleset
            self.measure_runbooks()
            self.metrics.reload_time.set(self.clock.now())
        heap.settle()  # the old ruleset freed, the new one out of full collections
        return ruleset

    def reload_logged(self) -> Ruleset:
        """reload(), with the outcome in the reload metrics."""
        try:
            ruleset = self.reload()
        except ConfigError:
            self.metrics.reload_ok.set(0)
            raise
        self.metrics.reload_ok.set(1)
        return ruleset

    def measure_runbooks(self) -> None:
        """Runbook count, stale ones and lint errors, as gauges."""
        today = datetime.fromtimestamp(self.clock.now(), UTC).date()
        stale_after = self.ruleset.config.data.defaults.stale_after_days
        report = lint_scan(self.ruleset.catalog.scan, today, stale_after)
        self.metrics.runbooks.set(len(self.ruleset.catalog))
        self.metrics.runbook_load_errors.set(len(self.ruleset.problems))
        self.metrics.runbooks_stale.set(sum(1 for f in report.findings if f.rule == "RB004"))
        self.metrics.runbook_lint_errors.set(report.errors)


def load_ruleset_for(settings: Settings) -> Ruleset:
    """Routes and runbooks for serving, also checked against the configured routing keys.

    Lenient about runbooks (they are left out and reported, never fatal); strict
    about the routes file, which the server cannot route without.
    """
    ruleset = load_ruleset(
        settings.config,
        settings.runbooks,
        strict=False,
        public_url=settings.public_url,
        serving_at=settings.serving_at,
    )
    problems = check_paging(ruleset.config, set(settings.routing_keys()))
    if problems:
        raise ConfigError(problems)
    return ruleset


def log_surfaces(settings: Settings, ruleset: Ruleset) -> None:
    """Say at start who can reach what, so an open surface is never a surprise."""
    if settings.read_token is None and not settings.trusted_user_header:
        log.warning("pages and JSON reads are open to anyone who can connect (ROUTER_READ_TOKEN)")
    if settings.admin_token is None:
        log.info("admin endpoints /-/reload and /api/route are off (ROUTER_ADMIN_TOKEN)")
    if settings.metrics_token is None:
        log.info("/metrics is open to anyone who can connect (ROUTER_METRICS_TOKEN)")
    oncall = ruleset.config.data.oncall
    if settings.pagerduty_api_token is None:
        for name, entry in oncall.items():
            if entry.pagerduty is not None:
                log.warning(
                    "oncall %s is a PagerDuty schedule but PAGERDUTY_API_TOKEN is not set: "
                    "its mentions name it in words",
                    name,
                )
    auth = ruleset.config.data.auth
    for source, mode in auth.items():
        if mode == "none":
            log.warning("auth: none for %s: its webhooks are accepted without credentials", source)
    for name, src in SOURCES.items():
        if auth.get(src.name) != "none" and not settings.secrets_for(src.secret_env):
            log.warning(
                "%s is not set: every /webhooks/%s request will be refused with 401 "
                "(set it, or auth: {%s: none} in %s)",
                src.secret_env,
                name,
                src.name,
                ruleset.config.path,
                extra={"source": src.name, "variable": src.secret_env},
            )


def start_line(rt: Runtime, listening: str) -> str:
    """What ``serve`` says once it serves: where, what it loaded, where things go."""
    ruleset, settings = rt.ruleset, rt.settings
    slack = "posting" if settings.slack_bot_token is not None else "log only"
    if rt.socket is not None:
        slack += ", requests over Socket Mode"
    line = (
        f"runbook-router serving on {listening} (routes: {len(ruleset.table.routes)}, "
        f"runbooks: {len(ruleset.catalog)}; {rt.store.describe()}; Slack: {slack})"
    )
    if ruleset.public_url != listening:
        line += f"; links point to {ruleset.public_url}"
    return line


def log_problems(ruleset: Ruleset) -> None:
    for problem in ruleset.problems:
        log.error("runbook left out or unresolved: %s", problem, extra={"problem": str(problem)})
    for warning in ruleset.config.warnings:
        log.warning("routes: %s", warning, extra={"problem": str(warning)})


def make_pagerduty(settings: Settings) -> PagerDuty | None:
    token = settings.pagerduty_api_token
    keys = settings.routing_keys()
    if token is None and not keys:
        return None
    for name in ("PAGERDUTY_API_URL", "PAGERDUTY_EVENTS_URL"):
        url = getattr(settings, name.lower())
        if url is not None and not url.startswith("https://"):
            raise ConfigError([Problem(name, None, "", "must be an https:// URL")])
    if token is not None and not settings.pagerduty_from_email:
        log.warning("PAGERDUTY_FROM_EMAIL is not set: PagerDuty may refuse notes without it")
    return PagerDuty(
        token.get_secret_value() if token else None,
        settings.pagerduty_from_email,
        keys,
        api_url=settings.pagerduty_api_url,
        events_url=settings.pagerduty_events_url,
    )


def make_notifier(settings: Settings) -> Notifier:
    if settings.slack_bot_token is None:
        log.warning("SLACK_BOT_TOKEN is not set: messages go to the log and /alerts only")
        return LogNotifier()
    return SlackNotifier(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
