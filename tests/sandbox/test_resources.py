"""Microsoft.Resources against the sandbox with the real ResourceManagementClient."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

VAULT_VERSION = "2023-04-01"


def test_resource_group_create_update_get_exists_list_delete(clients):
    rm = clients.rm
    created = rm.resource_groups.create_or_update("rg1", {"location": "westus", "tags": {"seedctl": "1"}})
    assert created.name == "rg1" and created.location == "westus" and created.tags == {"seedctl": "1"}
    assert created.properties.provisioning_state == "Succeeded"
    assert created.id == f"/subscriptions/{clients.sub}/resourceGroups/rg1"
    updated = rm.resource_groups.create_or_update("rg1", {"location": "westus", "tags": {"seedctl": "2"}})
    assert updated.tags == {"seedctl": "2"}
    assert rm.resource_groups.get("RG1").tags == {"seedctl": "2"}  # ARM names are case-insensitive
    assert rm.resource_groups.check_existence("rg1") is True
    assert rm.resource_groups.check_existence("absent") is False
    assert [g.name for g in rm.resource_groups.list()] == ["rg1"]
    rm.resource_groups.begin_delete("rg1").result()
    assert rm.resource_groups.check_existence("rg1") is False


def test_resource_group_errors(clients):
    with pytest.raises(ResourceNotFoundError) as err:
        clients.rm.resource_groups.get("nope")
    assert err.value.error.code == "ResourceGroupNotFound"
    clients.make_rg("rg1", "westus")
    with pytest.raises(HttpResponseError) as err:
        clients.rm.resource_groups.create_or_update("rg1", {"location": "eastus"})
    assert err.value.status_code == 409 and err.value.error.code == "InvalidResourceGroupLocation"


def test_provider_registration_goes_registering_then_registered(clients):
    rm = clients.rm
    assert rm.providers.get("Microsoft.ImportExport").registration_state == "NotRegistered"
    assert rm.providers.get("Microsoft.Storage").registration_state == "Registered"
    assert rm.providers.register("Microsoft.ImportExport").registration_state == "Registering"
    assert rm.providers.get("Microsoft.ImportExport").registration_state == "Registering"
    time.sleep(0.3)
    provider = rm.providers.get("Microsoft.ImportExport")
    assert provider.registration_state == "Registered"
    assert any(t.resource_type == "jobs" and "2016-11-01" in t.api_versions for t in provider.resource_types)
    names = {p.namespace for p in rm.providers.list()}
    assert {"Microsoft.ImportExport", "Microsoft.DataBox", "Microsoft.Storage"} <= names


def test_registration_delay_is_settable(sandbox, clients):
    sandbox.control.set_registration_delay(0)
    try:
        assert clients.rm.providers.register("Microsoft.DataBox").registration_state == "Registered"
    finally:
        sandbox.configure()


def test_vault_by_id_create_get_patch_404(clients):
    clients.make_rg()
    vid = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.RecoveryServices/vaults/vault1"
    with pytest.raises(ResourceNotFoundError) as err:
        clients.rm.resources.get_by_id(vid, api_version=VAULT_VERSION)
    assert err.value.error.code == "ResourceNotFound"
    vault = clients.rm.resources.begin_create_or_update_by_id(
        vid, api_version=VAULT_VERSION,
        parameters={"location": "westus", "tags": {"seedctl": "x"}, "sku": {"name": "RS0", "tier": "Standard"},
                    "properties": {"publicNetworkAccess": "Enabled"}}).result()
    assert vault.properties["provisioningState"] == "Succeeded"
    got = clients.rm.resources.get_by_id(vid, api_version=VAULT_VERSION)
    assert got.type == "Microsoft.RecoveryServices/vaults" and got.tags == {"seedctl": "x"}
    assert got.sku.name == "RS0"
    patched = clients.rm.resources.begin_update_by_id(vid, api_version=VAULT_VERSION,
                                                      parameters={"tags": {"seedctl": "y"}}).result()
    assert patched.tags == {"seedctl": "y"}
    listed = list(clients.rm.resources.list_by_resource_group("rg1"))
    assert [r.name for r in listed] == ["vault1"]


def test_vault_in_missing_group_is_resource_group_not_found(clients):
    vid = f"/subscriptions/{clients.sub}/resourceGroups/none/providers/Microsoft.RecoveryServices/vaults/v"
    with pytest.raises(ResourceNotFoundError) as err:
        clients.rm.resources.begin_create_or_update_by_id(vid, api_version=VAULT_VERSION,
                                                          parameters={"location": "westus"}).result()
    assert err.value.error.code == "ResourceGroupNotFound"


def test_api_version_checks_and_request_id(clients):
    r = clients.http.get(f"{clients.base}/subscriptions/{clients.sub}/resourcegroups")
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"
    r = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/resourcegroups", "2099-01-01"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidApiVersionParameter"
    r = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/resourcegroups", "2025-04-01"))
    assert r.status_code == 200 and r.headers["x-ms-request-id"]
    assert r.json() == {"value": []}


def test_missing_or_wrong_token_is_401(sandbox, clients):
    from azure.core.credentials import AccessToken
    from azure.mgmt.resource.resources import ResourceManagementClient

    class StaticToken:
        def __init__(self, token):
            self.token = token

        def get_token(self, *scopes, **kwargs):
            return AccessToken(self.token, int(time.time()) + 3600)

    r = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/resourcegroups", "2025-04-01"),
                         headers={"Authorization": ""})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    bad = ResourceManagementClient(StaticToken("wrong"), clients.sub, base_url=clients.base,
                                   connection_verify=sandbox.connection.ca_bundle)
    with pytest.raises(ClientAuthenticationError):
        bad.resource_groups.get("rg1")


def test_missing_subscription_registration_409(clients):
    clients.make_rg()
    path = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.ImportExport/jobs/j1"
    r = clients.http.get(clients.url(path, "2016-11-01"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "MissingSubscriptionRegistration" and "'Microsoft.ImportExport'" in error["message"]
