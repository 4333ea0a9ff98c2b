"""Logging: JSON lines for machines, plain text for ``make run``.

Nothing here logs request headers or bodies; credentials never reach a log line.
"""

from __future__ import annotations

import json
import logging
import re
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


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")
"""Control characters but tab and newline: shown escaped in text logs."""
CONTINUED = "    "
"""What starts each line of a text record after its first."""


class TextFormatter(logging.Formatter):
    """For a terminal (``make run``): a record begins at the left margin and every further
    line of it is indented, so nothing in a message, such as an alert's name with a
    newline in it, can pass for a record of its own. Other control characters (a
    carriage return, a terminal escape) are shown escaped."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = _CONTROL.sub(
            lambda m: m.group().encode("unicode_escape").decode(), super().format(record)
        )
        return text.replace("\n", "\n" + CONTINUED)


def configure(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
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
