"""The HTTP surface, one APIRouter per concern; router/app.py composes them.

webhooks.py    POST /webhooks/{source}, POST /api/route
slack.py       POST /slack/commands, /slack/events, /slack/interactions
operations.py  /healthz, /readyz, /metrics, POST /-/reload
router/web/pages.py  /runbooks, /alerts, /login (HTML, or JSON on Accept)
"""
