"""Slack as a place engineers act from: the /runbook command and message buttons.

    POST /slack/commands      signature -> parse -> answer from memory (< 3 s)
    POST /slack/interactions  signature -> check against stored state -> queue work
                              in the outbox -> 200 at once

Nothing here calls Slack or PagerDuty inside the request: the dispatcher does.
"""
