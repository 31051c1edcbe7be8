"""Keep secrets out of log records, the ``httpx`` logger's request lines included."""

from __future__ import annotations

import logging

from ._sansio import redact

__all__ = ["RedactingFilter", "install_log_redaction"]

#: Loggers of the HTTP stack that may print a request URL (a logger's filters see only
#: the records made on that very logger, so children are listed one by one).
_HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "aiohttp.client",
    "aiohttp.internal",
)


class RedactingFilter(logging.Filter):
    """Rewrites a record so ``access_token=`` and ``corpsecret=`` values read ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drop it."""
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to the HTTP stack's loggers (once)."""
    for name in _HTTP_LOGGERS:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)
