"""Logging: JSON lines for machines, plain text for ``make run``.

Nothing here logs request headers or bodies; credentials never reach a log line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_NOT_FIELDS = _STANDARD | {"color_message"}
"""Record attributes that are not context: ``color_message`` is uvicorn's copy of the
message with ANSI colour codes, for terminals only."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Context fields never replace the event's own ts, level, logger and msg.
        event |= {
            k: v for k, v in record.__dict__.items() if k not in _NOT_FIELDS and k not in event
        }
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


def configure(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    quiet_clients()
    # Alembic says two lines per connection and one per revision; the store logs one
    # summary line instead (router/store/migrate.py). ROUTER_LOG_LEVEL=DEBUG shows them.
    if root.level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)


# Their debug lines carry request URLs and bodies: a response_url is a credential.
CLIENT_LOGGERS = ("slack_sdk", "urllib3", "httpx", "httpcore", "pagerduty")


def quiet_clients() -> None:
    """HTTP client libraries log at WARNING at most, whatever the router's level."""
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
