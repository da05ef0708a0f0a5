"""Turn every SDK exception (track 2: azure-core, track 1: msrest) into an AzureError that says
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
from msrest.exceptions import ClientRequestError, HttpOperationError

from seedctl.errors import AzureError

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceGroupNotFound", "NotFound", "ContainerNotFound",
                             "JobNotFound", "ParentResourceNotFound", "StorageAccountNotFound"})

# A BitLocker recovery password (8 groups of 6 digits), an account key or a bearer token could in
# principle be echoed back by a service message; strip anything that looks like one.
_SECRET_PATTERNS = (
    re.compile(r"\b\d{6}(?:-\d{6}){7}\b"),
    re.compile(r"[A-Za-z0-9+/]{40,}={0,2}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/-]+=*"),
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("(redacted)", text)
    return text


def _status_and_code(exc: BaseException) -> tuple[int | None, str | None, str]:
    """(HTTP status, ARM error code, service message) of an SDK exception."""
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = getattr(getattr(exc, "error", None), "code", None)
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or str(exc)
        return status, code, str(message)
    if isinstance(exc, HttpOperationError):
        status = getattr(exc.response, "status_code", None)
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or str(exc)
        return status, code, str(message)
    return None, None, str(exc)


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
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ClientRequestError, ConnectionError,
                        TimeoutError)):
        return True
    status, _, _ = _status_and_code(exc)
    return status in TRANSIENT_STATUSES


def translate_error(exc: BaseException, what: str, *, scope: str | None = None) -> AzureError:
    """An AzureError whose message names the operation (`what`) and the fix."""
    if isinstance(exc, AzureError):
        return exc
    status, code, message = _status_and_code(exc)
    message = redact(message.strip().splitlines()[0] if message.strip() else "")
    where = f" on {scope}" if scope else ""
    if isinstance(exc, ClientAuthenticationError) or status == 401:
        text = (f"{what} failed: not signed in or the token was refused ({message}). "
                "Sign in with `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID with a secret or "
                "federated token (workload identity in CI).")
    elif status == 403 or code in {"AuthorizationFailed", "LinkedAuthorizationFailed"}:
        role = "Reader" if what.startswith(("read", "get", "list")) else "Contributor"
        text = (f"{what} failed: permission denied{where} ({code or 403}). The signed-in identity needs "
                f"the {role} role{where or ' on the resource group'}; ask an owner to grant it.")
    elif code == "MissingSubscriptionRegistration":
        text = (f"{what} failed: the resource provider is not registered on the subscription. "
                "Add it to `providers:` in the spec (seedctl registers it), or run "
                "`az provider register --namespace <name>`.")
    elif is_not_found(exc):
        text = f"{what} failed: not found ({code or 404}): {message}"
    elif isinstance(exc, (ServiceRequestError, ServiceResponseError, ClientRequestError, ConnectionError)):
        text = (f"{what} failed: could not reach Azure ({type(exc).__name__}: {redact(str(exc))[:200]}). "
                "Check the network or proxy and run the command again; seedctl resumes where it stopped.")
    else:
        label = " ".join(str(part) for part in (status, code) if part)
        text = f"{what} failed: {label + ': ' if label else ''}{message}"
    return AzureError(text, code=code, status=status, retryable=is_transient(exc))
