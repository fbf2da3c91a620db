"""Logging: text or one JSON object a line, with the request's id and principal attached.

The request id and principal live in context variables, set by the HTTP middleware, so any
log line written while a request is handled carries them without being passed around.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)
PRINCIPAL: contextvars.ContextVar[str | None] = contextvars.ContextVar("principal",
                                                                       default=None)
# Fields a log call may pass in `extra=` that the JSON lines carry.
EXTRA = ("incident_id", "alert_id", "report_id", "source", "route", "method", "status",
         "duration_ms")
# Libraries that log a line per scheduler run or per request: quieter unless debugging.
CHATTY = ("apscheduler.executors.default", "apscheduler.scheduler")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and what is known."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for key, var in (("request_id", REQUEST_ID), ("principal", PRINCIPAL)):
            value = var.get() or getattr(record, key, None)
            if value is not None:
                doc[key] = value
        for key in EXTRA:
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = REQUEST_ID.get()
        return f"{line} [request {rid}]" if rid else line


class Repeats(logging.Filter):
    """Lets one copy of a message through per `every_s`: a server out of file descriptors
    logs the same accept() error thousands of times a second otherwise."""

    def __init__(self, every_s: float = 10.0) -> None:
        super().__init__()
        self.every_s = every_s
        self._last: dict[tuple[str, str], float] = {}
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.getMessage())   # the same words, not the same template
        last = self._last.get(key)
        if last is not None and record.created - last < self.every_s:
            self.dropped += 1
            return False
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = record.created
        return True


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Install the root handler (replacing any) in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    handler.addFilter(Repeats())
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG
                                         else logging.WARNING)
