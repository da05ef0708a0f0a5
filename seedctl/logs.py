"""Logging for the CLI: seedctl's own messages to stderr, SDK chatter kept quiet, and a last-line
filter that redacts anything shaped like a secret.

The SDKs log request bodies at DEBUG (msrest does), and an import job's body carries BitLocker
keys, so SDK loggers never go below WARNING, not even with -v.
"""

from __future__ import annotations

import logging
from typing import IO

from seedctl.azure.errors import redact

SDK_LOGGERS = ("azure", "msrest", "msrestazure", "urllib3", "adal")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def configure(stream: IO[str], *, verbose: bool) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
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
