"""Issue 24, item 1 in the sandbox: the public blob endpoint takes Entra ID tokens (Azurite's
`--oauth basic`, HTTPS only) and answers the storage service's refusals — shared key disabled, no
data role, a firewall — while the internal endpoint the simulated datacenter uses does not; and the
built-in shared-key policy denies storage account writes as Azure Policy does."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from seedctl.azure.credentials import StaticTokenCredential


def _public(sandbox, account: str, credential) -> BlobServiceClient:
    return BlobServiceClient(f"{sandbox.connection.blob_public_endpoint}/{account}", credential=credential,
                             connection_verify=sandbox.connection.ca_bundle, retry_total=0)


def _key(clients, account: str) -> dict:
    key = clients.sm.storage_accounts.list_keys(clients.rg_of[account], account).keys_property[0].value
    return {"account_name": account, "account_key": key}


def _refusal(fn) -> str:
    with pytest.raises(HttpResponseError) as err:
        fn()
    assert err.value.status_code == 403
    return str(getattr(err.value.error_code, "value", err.value.error_code))


@pytest.fixture
def account(sandbox, clients):
    clients.make_rg()
    name = clients.name("da")
    clients.make_account(name)
    yield name
    sandbox.control.set_data_role(name, True)


def test_entra_id_works_on_the_public_endpoint_only(sandbox, clients, account):
    token = StaticTokenCredential(sandbox.connection.token)
    entra = _public(sandbox, account, token)
    entra.create_container("viaentra")
    entra.get_container_client("viaentra").upload_blob("a.txt", b"hello")
    assert _public(sandbox, account, _key(clients, account)).get_container_client("viaentra") \
        .download_blob("a.txt").readall() == b"hello"
    with pytest.raises(ValueError, match="HTTPS"):  # the SDK never sends a token over http ...
        BlobServiceClient(f"{sandbox.connection.blob_endpoint}/{account}", credential=token)
    # ... and Azurite refuses one there too: bearer tokens only on the public (HTTPS) endpoint
    jwt = token.get_token("https://storage.azure.com/.default").token
    r = requests.get(f"{sandbox.connection.blob_endpoint}/{account}/viaentra?restype=container",
                     headers={"Authorization": f"Bearer {jwt}", "x-ms-version": "2021-08-06"})
    assert r.status_code in (401, 403) and "not allowed with HTTP" in r.text


def test_shared_key_disabled_refuses_keys_but_not_entra_id(sandbox, clients, account):
    props = clients.sm.storage_accounts.get_properties("rg1", account)
    assert props.allow_shared_key_access is None  # not set unless a request sets it
    clients.sm.storage_accounts.update("rg1", account, {"properties": {"allowSharedKeyAccess": False}})
    keyed = _public(sandbox, account, _key(clients, account))  # listKeys still answers
    assert _refusal(lambda: keyed.create_container("bykey")) == "KeyBasedAuthenticationNotPermitted"
    _public(sandbox, account, StaticTokenCredential(sandbox.connection.token)).create_container("byentra")
    # the internal endpoint (the simulated import service) still writes with the key
    internal = BlobServiceClient(f"{sandbox.connection.blob_endpoint}/{account}", credential=_key(clients, account))
    assert "byentra" in [c.name for c in internal.list_containers()]
    clients.sm.storage_accounts.update("rg1", account, {"properties": {"allowSharedKeyAccess": True}})
    keyed.create_container("bykey")


def test_no_data_role_refuses_entra_id_but_not_the_key(sandbox, clients, account):
    sandbox.control.set_data_role(account, False)
    entra = _public(sandbox, account, StaticTokenCredential(sandbox.connection.token))
    assert _refusal(lambda: entra.create_container("xxx")) == "AuthorizationPermissionMismatch"
    _public(sandbox, account, _key(clients, account)).create_container("xxx")
    sandbox.control.set_data_role(account, True)
    assert entra.get_container_client("xxx").exists()


def test_a_firewall_refuses_this_computer(sandbox, clients, account):
    clients.sm.storage_accounts.update("rg1", account, {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [{"value": "203.0.113.7"}]}}})
    for credential in (StaticTokenCredential(sandbox.connection.token), _key(clients, account)):
        assert _refusal(lambda c=credential: _public(sandbox, account, c).create_container("yyy")) \
            == "AuthorizationFailure"
    clients.sm.storage_accounts.update("rg1", account, {"properties": {"networkAcls": {
        "defaultAction": "Deny", "ipRules": [{"value": "127.0.0.1"}]}}})
    _public(sandbox, account, _key(clients, account)).create_container("yyy")


def test_the_shared_key_deny_policy_refuses_unset_and_true(sandbox, clients):
    clients.make_rg()
    sandbox.control.assign_policy(clients.sub, "deny-shared-key", "Deny")
    name = clients.name("pol")
    for properties in ({}, {"allowSharedKeyAccess": True}):
        with pytest.raises(HttpResponseError) as err:
            clients.make_account(name, properties={"minimumTlsVersion": "TLS1_2", **properties})
        assert err.value.status_code == 403 and err.value.error.code == "RequestDisallowedByPolicy"
        (info,) = err.value.error.additional_info
        assert info.type == "PolicyViolation"
        assert info.info["policyDefinitionDisplayName"] == "Storage accounts should prevent shared key access"
    account = clients.make_account(name, properties={"allowSharedKeyAccess": False})
    assert account.allow_shared_key_access is False
    with pytest.raises(HttpResponseError) as err:  # judged on the account as the PATCH would leave it
        clients.sm.storage_accounts.update("rg1", name, {"properties": {"allowSharedKeyAccess": True}})
    assert err.value.error.code == "RequestDisallowedByPolicy"
    clients.sm.storage_accounts.update("rg1", name, {"tags": {"a": "b"}})  # still compliant: allowed


def test_an_audit_assignment_refuses_nothing(sandbox, clients):
    clients.make_rg()
    sandbox.control.assign_policy(clients.sub, "deny-shared-key", "Audit")
    assert clients.make_account(clients.name("aud")).provisioning_state == "Succeeded"
