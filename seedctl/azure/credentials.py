"""Credentials: azure-identity for the real clouds, the sandbox's fixed token locally, and the
adapter that lets the track-1 (msrest) Import/Export client use the same credential."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from msrest.authentication import BasicTokenAuthentication


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


class TrackOneCredential(BasicTokenAuthentication):
    """msrest Authentication backed by an azure-identity TokenCredential.

    msrest calls `signed_session` for every request; azure-identity caches tokens, so asking it
    each time is cheap and picks up refreshed tokens on long applies.
    """

    def __init__(self, credential: Any, scope: str) -> None:
        super().__init__({"access_token": ""})
        self._credential = credential
        self._scope = scope

    def signed_session(self, session: Any = None) -> Any:
        self.token = {"access_token": self._credential.get_token(self._scope).token}
        return super().signed_session(session)

    def __repr__(self) -> str:
        return "TrackOneCredential(***)"


def default_credential(authority_host: str, tenant_id: str | None = None) -> Any:
    """DefaultAzureCredential: az login, environment service principal, managed identity and
    workload identity (CI) — in the order azure-identity documents."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {"authority": authority_host}
    if tenant_id:
        kwargs["additionally_allowed_tenants"] = [tenant_id]
    return DefaultAzureCredential(**kwargs)
