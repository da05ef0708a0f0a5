"""Talking to Azure: clouds and credentials, one client factory, error translation, retries.

Names are loaded on first use: importing `seedctl.azure.redact` (the CLI's error path) must not
pull in the Azure SDKs."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AzureClients": "seedctl.azure.clients", "build_clients": "seedctl.azure.clients",
    "is_not_found": "seedctl.azure.errors", "translate_error": "seedctl.azure.errors",
    "RetryPolicy": "seedctl.azure.retry", "call_with_retry": "seedctl.azure.retry",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'seedctl.azure' has no attribute {name!r}")
