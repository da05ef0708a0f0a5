"""Credentials: azure-identity for the real clouds, the sandbox's fixed token locally."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class StaticTokenCredential:
    """A TokenCredential for the sandbox, which accepts one fixed local token."""

    def __init__(self, token: str) -> None:
        from seedctl.azure.redact import remember

        remember(token)
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:  # never show the token
        return "StaticTokenCredential(***)"


def default_credential(authority_host: str, tenant_id: str | None = None) -> Any:
    """DefaultAzureCredential: az login, environment service principal, managed identity and
    workload identity (CI) — in the order azure-identity documents."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {"authority": authority_host}
    if tenant_id:
        kwargs["additionally_allowed_tenants"] = [tenant_id]
    return DefaultAzureCredential(**kwargs)
