"""Credentials: azure-identity for the real clouds, the sandbox's fixed token locally."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class StaticTokenCredential:
    """A TokenCredential for the sandbox, which accepts one fixed local token.

    For the storage audience (blob data plane) it answers what Entra ID would: a JWT with the
    storage audience, an Entra issuer and a lifetime, which the sandbox's Azurite (`--oauth basic`)
    checks; it is signed with the sandbox token (Azurite's basic level does not check signatures)."""

    STORAGE_AUDIENCE = "https://storage.azure.com"

    def __init__(self, token: str) -> None:
        from seedctl.azure.redact import remember

        remember(token)
        self._token = token

    def _for(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        expires = int(time.time()) + 3600
        if any(scope.startswith(self.STORAGE_AUDIENCE) for scope in scopes):
            return self._storage_token(expires), expires
        return self._token, expires

    def _storage_token(self, expires: int) -> str:
        import base64
        import hashlib
        import hmac
        import json
        import uuid

        from seedctl.azure.redact import remember

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        tenant = str(uuid.uuid5(uuid.NAMESPACE_URL, "seedctl-sandbox:" + self._token))
        now = int(time.time())
        claims = {"aud": self.STORAGE_AUDIENCE, "iss": f"https://sts.windows.net/{tenant}/", "iat": now,
                  "nbf": now - 300, "exp": expires, "tid": tenant, "oid": tenant, "sub": "seedctl-sandbox",
                  "ver": "1.0"}
        signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
        signature = hmac.new(self._token.encode(), signing.encode("ascii"), hashlib.sha256).digest()
        token = f"{signing}.{b64(signature)}"
        remember(token)
        return token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token, expires = self._for(scopes)
        return AccessToken(token, expires)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        token, expires = self._for(scopes)
        return AccessTokenInfo(token, expires)

    def __repr__(self) -> str:  # never show the token
        return "StaticTokenCredential(***)"


class TenantPinnedCredential:
    """A TokenCredential that asks for every token in one tenant (the spec's `azure.tenant_id`).

    DefaultAzureCredential has no `tenant_id` (it raises TypeError), and the tenant its members use
    differs by kind: the Azure CLI and PowerShell credentials use the signed-in account's default
    tenant, an environment service principal uses AZURE_TENANT_ID. A guest account whose home tenant
    is not the subscription's then gets ARM's 401 InvalidAuthenticationTokenTenant. Passing
    `tenant_id` on each request reaches every member: the CLI runs `az account get-access-token
    --tenant`, PowerShell `Get-AzAccessToken -TenantId`, and a service principal or workload
    identity asks that tenant's token endpoint (allowed through `additionally_allowed_tenants`).
    Managed identity has no tenant to choose ("tenant_id: not used by this credential")."""

    def __init__(self, credential: Any, tenant_id: str) -> None:
        self._credential = credential
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        kwargs["tenant_id"] = kwargs.get("tenant_id") or self.tenant_id
        return self._credential.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        options = dict(options or {})
        options["tenant_id"] = options.get("tenant_id") or self.tenant_id
        if hasattr(self._credential, "get_token_info"):
            return self._credential.get_token_info(*scopes, options=options)
        token = self.get_token(*scopes, **options)
        return AccessTokenInfo(token.token, token.expires_on)

    def close(self) -> None:
        close = getattr(self._credential, "close", None)
        if close:
            close()

    def __repr__(self) -> str:
        return f"TenantPinnedCredential({self.tenant_id})"


def default_credential(authority_host: str, tenant_id: str | None = None, **options: Any) -> Any:
    """DefaultAzureCredential: az login, environment service principal, managed identity and
    workload identity (CI) — in the order azure-identity documents — pinned to `tenant_id` when the
    spec names one. `options` go to DefaultAzureCredential (tests pass a transport)."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {"authority": authority_host, **options}
    if not tenant_id:
        return DefaultAzureCredential(**kwargs)
    kwargs["additionally_allowed_tenants"] = [tenant_id]
    # the members that take a tenant at construction get it there too (interactive ones never run
    # here, but the shared token cache picks its account by tenant)
    for member in ("workload_identity_tenant_id", "shared_cache_tenant_id", "visual_studio_code_tenant_id",
                   "interactive_browser_tenant_id", "broker_tenant_id"):
        kwargs.setdefault(member, tenant_id)
    return TenantPinnedCredential(DefaultAzureCredential(**kwargs), tenant_id)
