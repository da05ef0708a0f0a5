"""Logging for the CLI: seedctl's own messages to stderr, SDK chatter kept quiet, and a last-line
filter that redacts anything shaped like a secret.

The SDKs log request bodies at DEBUG (msrest does), and an import job's body carries BitLocker
keys, so SDK loggers never go below WARNING, not even with -v.
"""

from __future__ import annotations

import logging
from typing import IO

from seedctl.azure.redact import redact

SDK_LOGGERS = ("azure", "msrest", "msrestazure", "urllib3", "adal")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class PlainFormatter(logging.Formatter):
    """Without -v: an INFO line is just its message ("ARM 503 … retry 2/5 in 4 s"); a warning or
    error says so, as the CLI's own "Error: …" lines do."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"Error: {text}"
        if record.levelno >= logging.WARNING:
            return f"Warning: {text}"
        return text


class ConsoleHandler(logging.StreamHandler):
    """Writes through the live console while progress bars are shown (seedctl.reporter), so a log
    line lands above the bars instead of inside them."""

    def emit(self, record: logging.LogRecord) -> None:
        from seedctl import reporter

        if reporter.print_above_bars(self.format(record), stream=self.stream):
            return
        super().emit(record)


def configure(stream: IO[str], *, verbose: bool) -> None:
    handler = ConsoleHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s") if verbose else PlainFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_seedctl", False):
            root.removeHandler(old)
    handler._seedctl = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("seedctl").setLevel(logging.DEBUG if verbose else logging.INFO)
    # Retries are seedctl's business to report; the SDKs' own retry warnings are noise here.
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
