"""runbook-router: alert webhooks in, runbook-bearing Slack messages out."""

__version__ = "0.1.0"
