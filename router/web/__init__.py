"""Pages the router serves: runbooks (the target of Slack's runbook links) and alerts."""
