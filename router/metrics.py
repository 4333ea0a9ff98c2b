"""Prometheus metrics, ``router_`` prefixed, on a registry of the app's own."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

# The *_created series double every counter for no use on a dashboard.
disable_created_metrics()  # type: ignore[no-untyped-call]


MAX_UNMATCHED_NAMES = 50


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._unmatched_seen: set[str] = set()
        self._intake(self.registry)
        self._delivery(self.registry)
        self._config(self.registry)
        self._response(self.registry)
        self._alertmanager(self.registry)
        self._socket(self.registry)

    def _intake(self, r: CollectorRegistry) -> None:
        """Webhooks in, alerts routed."""
        self.requests = Counter(
            "router_webhook_requests",
            "Webhook requests by source and HTTP status.",
            ["source", "code"],
            registry=r,
        )
        self.received = Counter(
            "router_alerts_received", "Alerts received, by source.", ["source"], registry=r
        )
        self.routed = Counter(
            "router_alerts_routed",
            "Alert routings, by source and route ('default' when no route matched).",
            ["source", "route"],
            registry=r,
        )
        self.unmatched = Counter(
            "router_alerts_unmatched",
            "Alert routings that found no runbook.",
            ["source"],
            registry=r,
        )
        self.severity_unmapped = Counter(
            "router_severity_unmapped",
            "Alerts whose raw severity is not in the source's map (the default level applied).",
            ["source"],
            registry=r,
        )
        self.unmatched_names = Counter(
            "router_unmatched_alert_names",
            f"Alerts that reached no runbook, by alertname (the first {MAX_UNMATCHED_NAMES}"
            " names seen; later ones count as _other).",
            ["alertname"],
            registry=r,
        )

        self.ingest_group = Histogram(
            "router_ingest_group_requests",
            "Webhook requests stored per transaction (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )

    def _delivery(self, r: CollectorRegistry) -> None:
        """Slack and PagerDuty calls out, and the outbox behind them."""
        self.delivered = Counter(
            "router_notifications_delivered",
            "Slack calls that succeeded, by action.",
            ["action"],
            registry=r,
        )
        self.failed = Counter(
            "router_notifications_failed",
            "Slack calls that failed, by reason.",
            ["reason"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "router_notifications_dead_lettered",
            "Notifications given up on (permanent errors), by reason.",
            ["reason"],
            registry=r,
        )
        self.paced = Counter(
            "router_notifications_paced",
            "Slack calls put off to keep a channel under one message a second.",
            registry=r,
        )
        self.overdue = Counter(
            "router_deliveries_overdue",
            "Outbox entries still being delivered at the dispatcher's deadline (left to "
            "finish on their own while others are delivered).",
            registry=r,
        )
        self.latency = Histogram(
            "router_delivery_latency_seconds",
            "From storing a change to Slack accepting it.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=r,
        )
        self.outbox = Gauge(
            "router_outbox_entries",
            "Outbox entries by state (pending, done, dead).",
            ["state"],
            registry=r,
        )
        self.retention_deleted = Counter(
            "router_retention_deleted",
            "Rows deleted as past their time (ROUTER_RETENTION, ROUTER_OUTBOX_RETENTION), "
            "by table.",
            ["table"],
            registry=r,
        )

    def _response(self, r: CollectorRegistry) -> None:
        """The response-time clock: how fast people answered, and what it had to send."""
        minutes = (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
        self.time_to_ack = Histogram(
            "router_time_to_acknowledge_seconds",
            "From a message firing to its first acknowledgement, by level.",
            ["level"],
            buckets=minutes,
            registry=r,
        )
        self.time_to_resolve = Histogram(
            "router_time_to_resolve_seconds",
            "From a message firing to its last alert resolving, by level.",
            ["level"],
            buckets=minutes,
            registry=r,
        )
        self.reminders = Counter(
            "router_reminders_sent",
            "Status-update reminders posted in alert threads, by kind and level.",
            ["kind", "level"],
            registry=r,
        )
        self.escalations = Counter(
            "router_escalations_sent",
            "Escalations posted in alert threads (not acknowledged, not resolved in time).",
            ["kind", "level"],
            registry=r,
        )

    def _alertmanager(self, r: CollectorRegistry) -> None:
        """Alertmanager's API: reads when reconciling, silences from Slack."""
        self.alertmanager_up = Gauge(
            "router_alertmanager_up",
            "1 if the last read of the Alertmanager (any peer) answered, 0 if none did.",
            ["alertmanager"],
            registry=r,
        )
        self.alertmanager_reads = Counter(
            "router_alertmanager_reads",
            "Reads of an Alertmanager's alerts when reconciling, by outcome (ok, unreachable).",
            ["alertmanager", "outcome"],
            registry=r,
        )
        self.reconcile_resolved = Counter(
            "router_reconcile_resolved",
            "Alerts resolved because their Alertmanager no longer lists them.",
            ["alertmanager"],
            registry=r,
        )
        self.silences = Counter(
            "router_silences",
            "Silences made, extended and expired from Slack, by action.",
            ["alertmanager", "action"],
            registry=r,
        )
        self.silence_failures = Counter(
            "router_silence_failures",
            "Silences from Slack that Alertmanager refused or did not answer, by reason.",
            ["alertmanager", "reason"],
            registry=r,
        )

    def _socket(self, r: CollectorRegistry) -> None:
        """Slack Socket Mode (SLACK_APP_TOKEN): the connection and what came over it."""
        self.socket_connected = Gauge(
            "router_slack_socket_connected",
            "Socket Mode connections to Slack open and greeted (two while one replaces "
            "another; 0: Slack cannot reach this replica).",
            registry=r,
        )
        self.socket_connects = Counter(
            "router_slack_socket_connects",
            "Attempts to connect to Slack Socket Mode, by outcome (connected, refused: "
            "apps.connections.open said no, failed: no connection or no hello).",
            ["outcome"],
            registry=r,
        )
        self.socket_disconnects = Counter(
            "router_slack_socket_disconnects",
            "Socket Mode connections ended, by reason (Slack's refresh_requested, warning, "
            "link_disabled; dropped; other).",
            ["reason"],
            registry=r,
        )
        self.socket_envelopes = Counter(
            "router_slack_socket_envelopes",
            "Envelopes over Socket Mode, by type and outcome (acknowledged, duplicate, "
            "refused, unacknowledged, dropped).",
            ["type", "outcome"],
            registry=r,
        )

    def _config(self, r: CollectorRegistry) -> None:
        """Routes and runbooks as loaded."""
        self.reload_ok = Gauge(
            "router_config_last_reload_successful",
            "1 if the last reload of routes and runbooks worked, 0 if it was refused.",
            registry=r,
        )
        self.reload_time = Gauge(
            "router_config_last_reload_success_timestamp_seconds",
            "When routes and runbooks were last loaded.",
            registry=r,
        )
        self.runbooks = Gauge("router_runbooks", "RUN- entries loaded.", registry=r)
        self.runbooks_stale = Gauge(
            "router_runbooks_stale", "Runbooks whose Last Tested is older than allowed.", registry=r
        )
        self.runbook_lint_errors = Gauge(
            "router_runbook_lint_errors", "Lint errors in the loaded runbooks.", registry=r
        )
        self.runbook_load_errors = Gauge(
            "router_runbook_load_errors",
            "Runbook entries left out because they could not be read, and routes naming them.",
            registry=r,
        )

    def unmatched_name(self, alertname: str) -> None:
        """Count an unmatched alert by name, keeping the label set bounded."""
        name = alertname[:100] or "_unnamed"
        if name not in self._unmatched_seen:
            if len(self._unmatched_seen) >= MAX_UNMATCHED_NAMES:
                name = "_other"
            else:
                self._unmatched_seen.add(name)
        self.unmatched_names.labels(name).inc()
