"""Turn every SDK exception (azure-core's) into an AzureError that says
what failed and what to do. Secrets never reach these messages: callers name the operation, and
service messages are passed through `redact` first."""

from __future__ import annotations

import re

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from seedctl.azure.denials import explain
from seedctl.azure.redact import redact
from seedctl.errors import AzureError

__all__ = ["redact", "root_cause", "is_not_found", "is_transient", "translate_error", "describe_failure"]

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# 409s that mean "not now", not "no": another operation holds the resource. ARM's generic code, and
# the storage resource provider's own ("An operation is currently performing on this storage account
# that requires exclusive access"). Every apply step re-reads first, so trying again is safe.
BUSY_CODES = frozenset({"AnotherOperationInProgress", "StorageAccountOperationInProgress",
                        "OperationInProgress", "ConcurrentOperationInProgress"})
NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceGroupNotFound", "NotFound", "ContainerNotFound",
                             "JobNotFound", "ParentResourceNotFound", "StorageAccountNotFound"})


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything under it: __cause__/__context__, azure-core's
    inner_exception, urllib3's `reason`, and the args of wrapper errors."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack and len(seen) < 30:
        current = stack.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        for attr in ("__cause__", "__context__", "inner_exception", "reason", "exc_value"):
            nested = getattr(current, attr, None)
            if isinstance(nested, BaseException):
                stack.append(nested)
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
    return seen


_HOST = re.compile(r"host='([^']+)'|(?:https?://)([^/:\s'\"]+)")


def root_cause(exc: BaseException) -> str | None:
    """A short, specific reason for a network-level failure (DNS, TLS, proxy, refused, timeout),
    found anywhere in the exception chain or its text; None when there is none."""
    import socket
    import ssl

    chain = _chain(exc)
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)
    host_match = _HOST.search(text)
    host = next((g for g in host_match.groups() if g), None) if host_match else None
    at = f" for {host}" if host else ""
    lowered = text.lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or any(s in lowered for s in (
            "name or service not known", "nodename nor servname", "getaddrinfo failed",
            "temporary failure in name resolution", "no address associated", "failed to resolve",
            "nameresolutionerror")):
        return f"DNS lookup failed{at} (no network, or the name cannot be resolved)"
    if "proxyerror" in lowered or "unable to connect to proxy" in lowered or "tunnel connection failed" in lowered:
        return f"the proxy refused or could not reach{at or ' the host'} (check HTTPS_PROXY / NO_PROXY)"
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate verify failed" in lowered \
            or "sslerror" in lowered:
        why = "certificate verify failed" if "certificate verify failed" in lowered else "TLS handshake failed"
        return (f"TLS: {why}{at} (a TLS-inspecting proxy needs its CA in REQUESTS_CA_BUNDLE; "
                "check the system clock)")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in lowered:
        return f"connection refused{at}"
    if any(isinstance(e, (TimeoutError, socket.timeout)) for e in chain) or "timed out" in lowered:
        return f"timed out{at}"
    if "connection reset" in lowered or "connection aborted" in lowered or "remotedisconnected" in lowered:
        return f"the connection was dropped{at}"
    return None


_ACTION = re.compile(r"perform action '([^']+)' over scope '([^']+)'")


def _status_and_code(exc: BaseException) -> tuple[int | None, str | None, str]:
    """(HTTP status, error code, service message) of an SDK exception: ARM's `error.code`, or the
    storage SDK's `error_code` (its errors carry no ARM error body)."""
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or _storage_code(exc)
        message = getattr(error, "message", None) or exc.reason or str(exc)
        if getattr(error, "message", None) is None and _storage_code(exc):
            message = str(exc.message or exc.reason or exc)  # the storage SDK's "<text>\nErrorCode:<code>"
        return status, code, str(message)
    return None, None, str(exc)


def _storage_code(exc: BaseException) -> str | None:
    """azure-storage-blob's `error_code`: a StorageErrorCode (a str enum) or the service's text."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code)) or None


def is_not_found(exc: BaseException) -> bool:
    """True only for a genuine 404 'this object does not exist'. Authorization, network and
    other errors are never 'absent' (a plan must stop on them, not create duplicates)."""
    status, code, _ = _status_and_code(exc)
    if status != 404:
        return False
    return code is None or code in NOT_FOUND_CODES or code.endswith("NotFound")


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: throttling, server errors, timeouts and dropped connections."""
    if isinstance(exc, AzureError):
        return exc.retryable
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return True
    status, code, _ = _status_and_code(exc)
    return status in TRANSIENT_STATUSES or (status == 409 and code in BUSY_CODES)


_ADVICE = ("Visit", "See ", "To mitigate", "Please", "You must", "For more", "http")


def attempted_credentials(text: str) -> list[str]:
    """"AzureCliCredential: Azure CLI not found on path", one per credential DefaultAzureCredential
    tried, from the text of its failure (its first line alone hides why each one failed)."""
    lines = []
    for raw in text.splitlines():
        if not raw.startswith("\t") or ":" not in raw:
            continue
        name, reason = raw.strip().split(":", 1)
        # the sentences that say why; links and general advice dropped
        said = [part.strip().rstrip(".") for part in reason.strip().split(". ")]
        said = [part for part in said if part and not part.startswith(_ADVICE)][:2]
        lines.append(redact(f"{name}: {'. '.join(said)}"))
    return lines


def translate_error(exc: BaseException, what: str, *, scope: str | None = None) -> AzureError:
    """An AzureError whose message names the operation (`what`) and the fix."""
    if isinstance(exc, AzureError):
        return exc
    status, code, message = _status_and_code(exc)
    message = redact(message.strip().splitlines()[0] if message.strip() else "")
    where = f" on {scope}" if scope else ""
    cause = root_cause(exc)
    network = isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError))
    if cause and (network or isinstance(exc, ClientAuthenticationError)):
        # sign-in fails too when the network does; the cause, not "not signed in", is what to fix
        text = (f"{what} failed: could not reach Azure: {cause}. Check the network or proxy and run the "
                "command again; seedctl resumes where it stopped.")
    elif (denial := explain(code, status, message, what,
                            additional_info=getattr(getattr(exc, "error", None), "additional_info", None))):
        text = denial
    elif isinstance(exc, ClientAuthenticationError) or status == 401:
        tried = attempted_credentials(str(exc))
        detail = ("; it tried:\n" + "\n".join(f"  - {line}" for line in tried) + "\n") if tried else ". "
        text = (f"{what} failed: not signed in or the token was refused ({message}){detail}"
                "Sign in with `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID with a secret or "
                "federated token (workload identity in CI).")
    elif status == 403 or code == "AuthorizationFailed":
        role = "Reader" if what.startswith(("read", "get", "list")) else "Contributor"
        denied = _ACTION.search(message) or _ACTION.search(str(exc))
        if denied:
            action, denied_scope = denied.groups()
            where = f" on {denied_scope}"
            detail = f"{code or 403}: the identity may not perform {action}"
        else:
            detail = f"{code or 403}"
        text = (f"{what} failed: permission denied{where} ({detail}). The signed-in identity needs "
                f"the {role} role{where or ' on the resource group'}; ask an owner to grant it.")
    elif code == "MissingSubscriptionRegistration":
        text = (f"{what} failed: the resource provider is not registered on the subscription. "
                "Add it to `providers:` in the spec (seedctl registers it), or run "
                "`az provider register --namespace <name>`.")
    elif is_not_found(exc):
        text = f"{what} failed: not found ({code or 404}): {message}"
    elif network:
        text = (f"{what} failed: could not reach Azure ({type(exc).__name__}: {redact(str(exc))[:200]}). "
                "Check the network or proxy and run the command again; seedctl resumes where it stopped.")
    else:
        label = " ".join(str(part) for part in (status, code) if part)
        text = f"{what} failed: {label + ': ' if label else ''}{message}"
    return AzureError(text, code=code, status=status, retryable=is_transient(exc))


def describe_failure(exc: BaseException) -> str:
    """A few words for a retry line: "ARM 503 ServerBusy", "DNS lookup failed for …"."""
    if isinstance(exc, AzureError):
        return " ".join(str(p) for p in ("ARM", exc.status, exc.code) if p) if exc.status else str(exc)[:80]
    cause = root_cause(exc)
    if cause:
        return cause
    status, code, _ = _status_and_code(exc)
    if status:
        return " ".join(str(p) for p in ("ARM", status, code) if p)
    return type(exc).__name__
