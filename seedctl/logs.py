"""Logging for the CLI: seedctl's own messages to stderr, SDK chatter kept quiet, and a last-line
filter that redacts anything shaped like a secret.

The SDKs log request bodies at DEBUG, and an import job's body carries BitLocker
keys, so SDK loggers stay at ERROR, not even -v lowers them. What -v (--debug) shows instead is
seedctl's own account, written to be read:

- `seedctl.azure`: the cloud, subscription and credential a run uses; the tenant of the first
  token (its `tid` claim, never the token); azure-identity's one INFO line naming the credential
  that signed in ("DefaultAzureCredential acquired a token from AzureCliCredential") and its
  warning listing every credential it tried, so a sign-in failure says "Azure CLI not found on path";
- `seedctl.http`: every HTTP request to Azure — method, URL with every query value but a few
  harmless ones masked, status, time, and the service's request id for a support case — from one
  hook the client factory installs (`http_hooks`, on every client, seedctl's own ARM REST client
  included); no header, no body;
- `seedctl.retry`: each retry and its reason; `seedctl.plan` and `seedctl.apply`: each node's
  decision (why it is a no-op, why it is deferred) and each staging entry that is skipped.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from seedctl.azure.redact import MASK, redact

SDK_LOGGERS = ("azure", "msrest", "msrestazure", "urllib3", "adal", "msal")
# azure-identity says which credential signed in (INFO) and which ones failed and why (WARNING);
# neither carries a token. Shown with -v only.
IDENTITY_LOGGER = "azure.identity"


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


# -- HTTP requests to Azure -----------------------------------------------------------------------

http_log = logging.getLogger("seedctl.http")
azure_log = logging.getLogger("seedctl.azure")
# query values that are never secret and help a reader; every other value (a SAS signature, a
# continuation token, a marker) is masked, its name kept
SAFE_QUERY = frozenset({"api-version", "comp", "restype", "$top", "$filter", "$expand", "prefix", "include",
                        "maxresults", "timeout", "delimiter"})
_STARTED = "seedctl.http.started"
_tenants_seen: set[str] = set()
_tenants_lock = threading.Lock()


def safe_url(url: str) -> str:
    """`url` without user info and with every query value but SAFE_QUERY's masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url.split("?", 1)[0])
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(f"{k}={v if k.lower() in SAFE_QUERY else MASK}" if v else k
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def _token_tenant(authorization: str | None) -> str | None:
    """The `tid` claim of a bearer JWT (read, not verified: it is only shown), or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    pieces = authorization.split(" ", 1)[1].split(".")
    if len(pieces) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(pieces[1] + "=" * (-len(pieces[1]) % 4)))
    except (ValueError, TypeError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return str(tid) if tid else None


def _note_tenant(authorization: str | None) -> None:
    tenant = _token_tenant(authorization)
    if tenant:
        with _tenants_lock:
            if tenant in _tenants_seen:
                return
            _tenants_seen.add(tenant)
        azure_log.debug("signed in: the token is for tenant %s", tenant)


def _log_exchange(method: str, url: str, status: Any, seconds: float | None, request_id: str | None) -> None:
    took = f" in {seconds * 1000:.0f} ms" if seconds is not None else ""
    rid = f" (request id {request_id})" if request_id else ""
    http_log.debug("HTTP %s %s → %s%s%s", method, safe_url(url), status, took, rid)


def _on_request(request: Any) -> None:
    """azure-core's raw_request_hook (every try, after the credential policy on ARM clients)."""
    if not http_log.isEnabledFor(logging.DEBUG):
        return
    request.context[_STARTED] = time.monotonic()
    _note_tenant(request.http_request.headers.get("Authorization"))


def _on_response(response: Any) -> None:
    """azure-core's raw_response_hook: one line per answered request."""
    if not http_log.isEnabledFor(logging.DEBUG):
        return
    started = response.context.get(_STARTED)
    http, answer = response.http_request, response.http_response
    headers = answer.headers
    _log_exchange(http.method, http.url, answer.status_code,
                  time.monotonic() - started if started is not None else None,
                  headers.get("x-ms-request-id") or headers.get("x-ms-correlation-request-id"))


def http_hooks() -> dict[str, Any]:
    """Keyword arguments for a track-2 client (ARM and blob) that log each request at DEBUG."""
    return {"raw_request_hook": _on_request, "raw_response_hook": _on_response}


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
    # which credential signed in, and why the others did not: worth reading with -v
    logging.getLogger(IDENTITY_LOGGER).setLevel(logging.INFO if verbose else logging.ERROR)
