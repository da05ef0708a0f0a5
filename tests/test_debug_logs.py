"""-v / --debug (issue 25 item 3): the credential, tenant and subscription, each HTTP request with its
status and time, retries and decisions — redacted. The secret-leak scan over every -v output is
tests/reliability/test_secret_leaks.py; these are the pieces and what a reader sees."""

from __future__ import annotations

import base64
import json
import logging
from types import SimpleNamespace

import pytest

from seedctl.azure.errors import attempted_credentials
from seedctl.cli import build_parser
from seedctl.logs import _on_request, _on_response, _token_tenant, safe_url


def _jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_debug_is_verbose() -> None:
    assert build_parser().parse_args(["--debug", "plan"]).verbose is True
    assert build_parser().parse_args(["plan", "--debug"]).verbose is True


@pytest.mark.parametrize(("url", "shown"), [
    ("https://management.azure.com/subscriptions/s/providers/Microsoft.DataBox?api-version=2025-07-01",
     "https://management.azure.com/subscriptions/s/providers/Microsoft.DataBox?api-version=2025-07-01"),
    ("https://a.blob.core.windows.net/c/b?sv=2024-01-01&sig=SECRETSIGNATURE%3D&se=2026-01-01&comp=list",
     "https://a.blob.core.windows.net/c/b?sv=(redacted)&sig=(redacted)&se=(redacted)&comp=list"),
    ("https://user:password@host:8443/x?marker=abc", "https://host:8443/x?marker=(redacted)"),
])
def test_urls_are_logged_without_query_secrets(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_the_tenant_is_read_from_the_token_and_the_token_never_logged(caplog) -> None:
    token = _jwt({"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "x"})
    assert _token_tenant(f"Bearer {token}") == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert _token_tenant("Bearer not-a-jwt") is None and _token_tenant(None) is None
    request = SimpleNamespace(context={}, http_request=SimpleNamespace(
        headers={"Authorization": f"Bearer {token}"}, method="GET",
        url="https://management.azure.com/subscriptions/s?api-version=1"))
    response = SimpleNamespace(context=request.context, http_request=request.http_request,
                               http_response=SimpleNamespace(status_code=403, headers={"x-ms-request-id": "rid-1"}))
    with caplog.at_level(logging.DEBUG, logger="seedctl"):
        _on_request(request)
        _on_response(response)
    text = caplog.text
    assert "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47" in text
    assert "HTTP GET https://management.azure.com/subscriptions/s?api-version=1 → 403 in" in text
    assert "request id rid-1" in text
    assert token not in text and token.split(".")[1] not in text


def test_the_rest_client_requests_are_logged_the_same_way(caplog) -> None:
    """seedctl's own ARM REST client (classic Import/Export, locks) gets the same hooks."""
    from conformance.canned import CannedAdapter, CannedClients

    adapter = CannedAdapter()
    adapter.add("GET", r"/providers/Microsoft.ImportExport/locations/westus", {"name": "West US"})
    with caplog.at_level(logging.DEBUG, logger="seedctl"):
        CannedClients(adapter).importexport.locations.get("westus")
    assert "HTTP GET https://management.canned.test/providers/Microsoft.ImportExport/locations/westus" \
           "?api-version=2016-11-01 → 200 in" in caplog.text


def test_nothing_is_logged_without_debug(caplog) -> None:
    request = SimpleNamespace(context={}, http_request=SimpleNamespace(headers={}, method="GET", url="https://x/"))
    with caplog.at_level(logging.INFO, logger="seedctl"):
        _on_request(request)
    assert "HTTP" not in caplog.text and not request.context


SIGN_IN_FAILURE = """DefaultAzureCredential failed to retrieve a token from the included credentials.
Attempted credentials:
\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not fully configured.
Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this issue.
\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable.
\tAzureCliCredential: Azure CLI not found on path
To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."""


def test_a_sign_in_failure_says_why_each_credential_failed() -> None:
    from azure.core.exceptions import ClientAuthenticationError

    from seedctl.azure.errors import translate_error

    assert attempted_credentials(SIGN_IN_FAILURE) == [
        "EnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not "
        "fully configured",
        "ManagedIdentityCredential: ManagedIdentityCredential authentication unavailable",
        "AzureCliCredential: Azure CLI not found on path"]
    text = str(translate_error(ClientAuthenticationError(SIGN_IN_FAILURE), "read resource provider X"))
    assert "Azure CLI not found on path" in text and "az login" in text


@pytest.mark.sandbox
def test_verbose_plan_logs_the_subscription_each_request_and_each_decision(tmp_path, sandbox) -> None:
    from worlds import make_world

    world = make_world(tmp_path, sandbox)
    quiet = world.cli("plan")
    assert "DEBUG" not in quiet.err and "HTTP GET" not in quiet.err
    loud = world.cli("--debug", "plan")
    assert loud.code == 0, loud.err
    err = loud.err
    assert "seedctl.azure: cloud sandbox (https://127.0.0.1:" in err and world.subscription_id in err
    assert "seedctl.http: HTTP GET https://127.0.0.1:" in err and "?api-version=" in err and "→ 404 in" in err
    assert f'seedctl.plan: resource_group["{world.resource_group}"]: create' in err
    assert "seedctl.plan: staging[\"staging\"]: no-op (what is there matches the spec)" in err
    assert world.sandbox.connection.token not in err
