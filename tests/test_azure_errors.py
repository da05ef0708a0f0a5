"""Say what is happening (issue 15): one log line per retry, a bounded budget, no SDK retries under
seedctl's, the network root cause in the one-line error, and redaction by what secrets are."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from seedctl.azure.credentials import StaticTokenCredential
from seedctl.azure.errors import root_cause, translate_error
from seedctl.azure.redact import MASK, redact, remember
from seedctl.azure.retry import RetryPolicy, call_with_retry
from seedctl.errors import AzureError


def _arm_client(url: str):  # a real SDK client, configured as seedctl configures them (no SDK retries)
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(StaticTokenCredential("local-test-token"), str(uuid.uuid4()), base_url=url,
                                    retry_total=RetryPolicy().sdk_retry_total, connection_timeout=5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- root cause -----------------------------------------------------------------------------------
def test_dns_failure_is_named_in_the_one_line_error() -> None:
    with pytest.raises(ServiceRequestError) as info:
        _arm_client("https://management.seedctl-test.invalid").resource_groups.get("rg")
    text = str(translate_error(info.value, "read resource group rg"))
    assert "DNS lookup failed for management.seedctl-test.invalid" in text
    assert "\n" not in text


def test_connection_refused_is_named() -> None:
    with pytest.raises(ServiceRequestError) as info:
        _arm_client(f"https://127.0.0.1:{_closed_port()}").resource_groups.get("rg")
    assert "connection refused for 127.0.0.1" in str(translate_error(info.value, "read resource group rg"))


def test_a_sign_in_failure_caused_by_the_network_blames_the_network() -> None:
    """azure-identity reports "authentication failed" when it cannot reach the authority host; the
    cause underneath (DNS here) is what the user must fix, not their credentials."""
    with pytest.raises(ServiceRequestError) as network:
        _arm_client("https://login.seedctl-test.invalid").resource_groups.get("rg")
    auth = ClientAuthenticationError(message="EnvironmentCredential: Authentication failed")
    auth.__cause__ = network.value
    text = str(translate_error(auth, "read resource group rg"))
    assert "DNS lookup failed for login.seedctl-test.invalid" in text
    assert "not signed in" not in text


def test_a_real_sign_in_refusal_still_says_sign_in() -> None:
    text = str(translate_error(ClientAuthenticationError(message="AADSTS7000215: Invalid client secret"), "read x"))
    assert "not signed in or the token was refused" in text


def test_tls_failure_against_a_server_with_an_unknown_ca(sandbox) -> None:
    with pytest.raises(ServiceRequestError) as info:  # no CA bundle given: the sandbox CA is unknown
        _arm_client(sandbox.connection.arm_endpoint).resource_groups.get("rg")
    assert "TLS: certificate verify failed" in root_cause(info.value)


def test_403_names_the_action_and_scope() -> None:
    from azure.core.exceptions import HttpResponseError

    class Response:
        status_code = 403
        reason = "Forbidden"
        headers: dict[str, str] = {}

        def text(self) -> str:
            return ""

    exc = HttpResponseError(message="The client 'x' with object id 'y' does not have authorization to perform "
                            "action 'Microsoft.Storage/storageAccounts/write' over scope '/subscriptions/s/"
                            "resourceGroups/rg' or the scope is invalid.", response=Response())
    text = str(translate_error(exc, "create storage account sa"))
    assert "may not perform Microsoft.Storage/storageAccounts/write" in text
    assert "Contributor role on /subscriptions/s/resourceGroups/rg" in text


# -- retries --------------------------------------------------------------------------------------
def test_each_retry_logs_one_line_and_sdk_retries_do_not_multiply(sandbox, caplog) -> None:
    """Two injected 503s on one PUT: exactly three requests reach the server (no SDK retries
    underneath) and exactly two retry lines are logged."""
    from seedctl.azure.clients import build_clients

    sub = str(uuid.uuid4())
    clients = build_clients("sandbox", sub, sandbox.environ)
    sandbox.control.clear_request_log()
    path = rf"/subscriptions/{sub}/resourcegroups/rg-retry"
    sandbox.control.inject_fault("503", method="PUT", path_regex=f"(?i){path}", count=2)
    try:
        with caplog.at_level(logging.INFO, logger="seedctl.retry"):
            call_with_retry(lambda: clients.resource.resource_groups.create_or_update(
                "rg-retry", {"location": "westus"}), "create resource group rg-retry", clients.policy)
    finally:
        sandbox.control.clear_faults()
    puts = [e for e in sandbox.control.request_log() if e[0] == "PUT" and "rg-retry" in e[1].lower()]
    assert len(puts) == 3, puts
    lines = [r.getMessage() for r in caplog.records if r.name == "seedctl.retry"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("ARM 503") and "on create resource group rg-retry: retry 1/11 in" in lines[0]
    assert "retry 2/11" in lines[1]


def test_the_retry_budget_bounds_the_total_time() -> None:
    now = [0.0]
    slept: list[float] = []
    calls = [0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def failing() -> None:
        calls[0] += 1
        now[0] += 2.0  # each try takes 2 s
        raise ConnectionResetError("connection reset by peer")

    policy = RetryPolicy(attempts=50, base_delay=1.0, max_delay=8.0, budget=30.0)
    with pytest.raises(AzureError) as info:
        call_with_retry(failing, "read vault v", policy, clock=lambda: now[0], sleep=sleep)
    assert now[0] <= 30.0 + 2.0  # no try starts after the budget; the last one may finish
    assert calls[0] < 50
    assert "could not reach Azure" in str(info.value) and "dropped" in str(info.value)


def test_a_permanent_error_is_not_retried() -> None:
    calls = [0]

    def failing() -> None:
        calls[0] += 1
        raise AzureError("nope", status=400, retryable=False)

    with pytest.raises(AzureError):
        call_with_retry(failing, "x", RetryPolicy(), sleep=lambda s: None)
    assert calls[0] == 1


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_delay=20.0)
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(0, 600.0) == 20.0
    assert RetryPolicy().sdk_retry_total == 0 and RetryPolicy.fast().sdk_retry_total == 0


# -- redaction ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "/home/operator/backups/OBS/catalog/part-0001-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP.bin",
    "https://seedsandboxstore.blob.core.windows.net/offline-seed/OBS/chunk-0001.dat",
    "/subscriptions/3f2b9c4e-8d1a-4e6b-9f0c-2a7d5e1b8c34/resourceGroups/rg-backup-weu/providers/"
    "Microsoft.Storage/storageAccounts/stseedweu01",
    "Content-MD5 Q2hlY2sgSW50ZWdyaXR5IQ== differs from 1B2M2Y8AsgTpgAmY7PhCfg==",
    'File "/work/venv/lib/python3.12/site-packages/azure/core/pipeline/transport/_requests_basic.py", line 1',
])
def test_ordinary_paths_urls_and_hashes_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(("text", "secret"), [
    ("https://a.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sig=AbCdEf%2Bgh1234567890%3D&se=2026", "AbCdEf%2Bgh"),
    ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=x", "Zm9vYmFy"),
    ("Authorization: Bearer abc.def-ghi_jkl", "abc.def"),
    ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl in the log", "eyJhbGci"),
    ("client_secret=s3cr3t-v4lue&grant_type=client_credentials", "s3cr3t"),
    ("key 123456-123456-123456-123456-123456-123456-123456-123456 refused", "123456-123456"),
])
def test_secrets_are_recognised_by_what_they_are(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned and MASK in cleaned


def test_known_secret_values_are_redacted_wherever_they_appear() -> None:
    value = f"short-{uuid.uuid4().hex[:10]}"  # no recognisable shape: only knowing it finds it
    assert redact(f"echoed back: {value}!") == f"echoed back: {value}!"
    remember(value)
    assert redact(f"echoed back: {value}!") == f"echoed back: {MASK}!"


def test_a_resolved_spec_secret_is_redacted_even_without_a_recognisable_shape(tmp_path) -> None:
    from seedctl.spec.model import SecretRef

    value = f"odd-format-{uuid.uuid4().hex[:12]}"
    (tmp_path / "k.key").write_text(value + "\n")
    (tmp_path / "k.key").chmod(0o600)
    assert SecretRef(file="k.key", base_dir=str(tmp_path)).resolve() == value
    assert value not in redact(f"the service said: {value} is wrong")


def test_seedctl_clients_never_register_a_provider_on_a_read(sandbox) -> None:
    """The generated clients' own pipeline registers a provider when a call meets 409
    MissingSubscriptionRegistration (and polls for 10 s): in a read-only plan that is a write.
    seedctl's clients are built without that policy: the 409 comes back and nothing is registered."""
    from azure.core.exceptions import HttpResponseError

    from seedctl.azure.clients import build_clients

    sub = str(uuid.uuid4())
    clients = build_clients("sandbox", sub, sandbox.environ)
    clients.resource.resource_groups.create_or_update("rg-unreg", {"location": "westus"})
    sandbox.control.clear_request_log()
    with pytest.raises(HttpResponseError) as err:
        clients.databox.jobs.get("rg-unreg", "job-unreg")
    assert err.value.status_code == 409 and err.value.error.code == "MissingSubscriptionRegistration"
    assert not [p for m, p, s in sandbox.control.request_log() if m == "POST" and p.endswith("/register")]
    assert clients.resource.providers.get("Microsoft.DataBox").registration_state == "NotRegistered"
