"""Issue 24, item 4: `azure.tenant_id` reaches every token request, whatever the credential.

Real credentials (azure-identity's DefaultAzureCredential as seedctl builds it) and a real SDK call
(a resource group read answered by the canned ARM); what is checked is the token request each kind
of credential makes: the Azure CLI's command line, a service principal's token endpoint."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.pipeline.transport import RequestsTransport

from conformance.canned import CLOUD, SUB, CannedAdapter
from seedctl.azure.clients import AzureClients
from seedctl.azure.credentials import TenantPinnedCredential, default_credential
from seedctl.azure.retry import RetryPolicy

SPEC_TENANT = "bbbbbbbb-0000-0000-0000-000000000002"
HOME_TENANT = "aaaaaaaa-0000-0000-0000-000000000001"
RG = {"id": f"/subscriptions/{SUB}/resourceGroups/rg", "name": "rg", "location": "westus"}


def _arm_read(credential: Any) -> None:
    adapter = CannedAdapter()
    adapter.add("GET", r".*/resourcegroups/rg", RG)

    class Clients(AzureClients):
        def _track2_kwargs(self) -> dict[str, Any]:
            import requests

            session = requests.Session()
            session.mount("https://", adapter)
            return {**super()._track2_kwargs(), "transport": RequestsTransport(session=session, session_owner=False)}

    clients = Clients(CLOUD, SUB, credential, RetryPolicy.fast())
    assert clients.resource.resource_groups.get("rg").name == "rg"


@pytest.mark.skipif(sys.platform.startswith("win"), reason="the stand-in `az` is a POSIX shell script")
def test_the_azure_cli_is_asked_for_a_token_of_the_spec_tenant(tmp_path: Path, monkeypatch: Any) -> None:
    """`az login` as a guest: the CLI's default tenant is the home tenant; the spec names the
    subscription's. The CLI must be run with --tenant, or ARM answers InvalidAuthenticationTokenTenant."""
    calls = tmp_path / "az-calls.jsonl"
    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    token = {"accessToken": "cli-token-value", "expires_on": int(time.time()) + 3600, "tokenType": "Bearer",
             "tenant": SPEC_TENANT}
    az.write_text("#!/bin/sh\n"
                  f"{sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\" >> {calls}\n"
                  f"echo '{json.dumps(token)}'\n")
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{az.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")  # DefaultAzureCredential's CLI member only
    credential = default_credential("login.microsoftonline.com", SPEC_TENANT)
    assert isinstance(credential, TenantPinnedCredential)
    _arm_read(credential)
    argv = [json.loads(line) for line in calls.read_text().splitlines()]
    assert argv and all(a[a.index("--tenant") + 1] == SPEC_TENANT for a in argv), argv
    assert all("get-access-token" in a for a in argv)


def test_without_a_spec_tenant_the_cli_uses_its_own(tmp_path: Path, monkeypatch: Any) -> None:
    credential = default_credential("login.microsoftonline.com", None)
    assert not isinstance(credential, TenantPinnedCredential)


def test_a_service_principal_of_another_tenant_asks_the_spec_tenant(monkeypatch: Any) -> None:
    """AZURE_TENANT_ID names the principal's home tenant; the spec names the subscription's. The
    token request goes to the spec tenant's token endpoint (allowed by additionally_allowed_tenants),
    not to the home tenant's, and not refused by azure-identity."""
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    monkeypatch.setenv("AZURE_TENANT_ID", HOME_TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret-value")
    login = CannedAdapter()
    for tenant in (SPEC_TENANT, HOME_TENANT):
        login.add("GET", rf"/{tenant}/v2.0/\.well-known/openid-configuration", {
            "token_endpoint": f"https://login.canned.test/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"https://login.canned.test/{tenant}/oauth2/v2.0/authorize",
            "issuer": f"https://login.canned.test/{tenant}/v2.0"})
        login.add("POST", rf"/{tenant}/oauth2/v2.0/token", {"access_token": f"token-of-{tenant}",
                                                              "expires_in": 3600, "token_type": "Bearer"})
    import requests

    session = requests.Session()
    session.mount("https://", login)
    credential = default_credential("login.canned.test", SPEC_TENANT, disable_instance_discovery=True,
                                    transport=RequestsTransport(session=session, session_owner=False))
    _arm_read(credential)
    token_requests = [url for method, url in login.seen if method == "POST"]
    assert token_requests and all(f"/{SPEC_TENANT}/oauth2/v2.0/token" in url for url in token_requests), login.seen
