"""Log formats and the admins' mail, for settings.LOGGING.

Production logs are one line per event (a traceback stays on its event's line), as text or
as JSON (LOG_FORMAT=json), so a log collector never splits an error from its cause. Reporting
an error by mail can never break the response that is being answered.
"""

import json
import logging
from datetime import UTC, datetime

from django.utils.log import AdminEmailHandler


class LineFormatter(logging.Formatter):
    """time level logger message, on one line: newlines in a message or traceback escaped."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            event["traceback"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


class ForeignHostIsAWarning(logging.Filter):
    """Django logs a request for a host not in ALLOWED_HOSTS as an error, with a traceback.
    Scanners send them all day: it is a warning, and its message says all there is."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


class SafeAdminEmailHandler(AdminEmailHandler):
    """Mails errors to ADMINS. A mail server that cannot be reached is logged and forgotten:
    the request being answered gets its response all the same."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        except Exception as exc:  # any failure to mail: the response still goes out
            logging.getLogger("config.logs").warning("could not mail the admins: %r", exc)
