"""Microsoft.Storage against the sandbox with the real StorageManagementClient and
azure-storage-blob on Azurite."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.storage.models import BlobContainer


def _names(x):
    return sorted(i.name for i in x)


def test_create_is_long_running_and_endpoint_points_at_azurite(sandbox, clients):
    """The endpoint ARM answers is the sandbox's public blob endpoint (HTTPS, as on Azure)."""
    acct = clients.name("sa")
    clients.make_rg()
    sandbox.control.clear_request_log()
    account = clients.make_account(acct, tags={"seedctl": "1"})
    assert account.provisioning_state == "Succeeded"
    assert account.primary_endpoints.blob == f"{sandbox.connection.blob_public_endpoint}/{acct}/"
    assert account.primary_endpoints.blob.startswith("https://127.0.0.1:")
    assert account.tags == {"seedctl": "1"} and account.sku.name == "Standard_LRS"
    log = sandbox.control.request_log()
    assert ("PUT", f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.Storage/"
            f"storageAccounts/{acct}", 202) in log
    assert any("/asyncoperations/" in path for _, path, _ in log)
    # Keys from listKeys work on Azurite at once (the account is known to it without a restart).
    blob = clients.blob(acct)
    blob.create_container("direct")
    blob.get_container_client("direct").upload_blob("a.txt", b"hello")
    assert blob.get_container_client("direct").download_blob("a.txt").readall() == b"hello"


def test_get_properties_list_keys_and_lists(clients):
    acct = clients.name("sa")
    clients.make_rg()
    clients.make_account(acct)
    props = clients.sm.storage_accounts.get_properties("rg1", acct)
    assert props.kind == "StorageV2" and props.location == "westus"
    keys = clients.sm.storage_accounts.list_keys("rg1", acct).keys_property
    assert [k.key_name for k in keys] == ["key1", "key2"] and keys[0].value != keys[1].value
    assert _names(clients.sm.storage_accounts.list_by_resource_group("rg1")) == [acct]
    assert _names(clients.sm.storage_accounts.list()) == [acct]


def test_check_name_availability(clients):
    acct = clients.name("sa")
    clients.make_rg()
    check = clients.sm.storage_accounts.check_name_availability
    t = "Microsoft.Storage/storageAccounts"
    assert check({"name": "freename1", "type": t}).name_available is True
    bad = check({"name": "Bad_Name", "type": t})
    assert bad.name_available is False and bad.reason == "AccountNameInvalid"
    clients.make_account(acct)
    taken = check({"name": acct, "type": t})
    assert taken.name_available is False and taken.reason == "AlreadyExists"


def test_name_taken_elsewhere_is_conflict(clients, make_clients):
    clients.make_rg()
    name = clients.name("g")
    clients.make_account(name)
    other = make_clients()
    other.make_rg("rg2")
    with pytest.raises(ResourceExistsError) as err:
        other.make_account(name, rg="rg2")
    assert err.value.error.code == "StorageAccountAlreadyTaken"


def test_invalid_name_and_missing_group(clients):
    with pytest.raises(ResourceNotFoundError) as err:
        clients.make_account(clients.name("a3"), rg="nogroup")
    assert err.value.error.code == "ResourceGroupNotFound"
    clients.make_rg()
    with pytest.raises(HttpResponseError) as err:
        clients.make_account("UPPER")
    assert err.value.status_code == 400 and err.value.error.code == "AccountNameInvalid"


def test_update_sku_and_tags_then_delete(clients):
    acct = clients.name("sa")
    clients.make_rg()
    clients.make_account(acct, tags={"a": "1"})
    updated = clients.sm.storage_accounts.update("rg1", acct, {"sku": {"name": "Standard_GRS"},
                                                                  "tags": {"a": "2"}})
    assert updated.sku.name == "Standard_GRS" and updated.tags == {"a": "2"}
    again = clients.sm.storage_accounts.get_properties("rg1", acct)
    assert again.sku.name == "Standard_GRS" and again.tags == {"a": "2"}
    clients.sm.storage_accounts.delete("rg1", acct)
    with pytest.raises(ResourceNotFoundError):
        clients.sm.storage_accounts.get_properties("rg1", acct)
    clients.sm.storage_accounts.delete("rg1", acct)  # absent: 204, no error


def test_recreated_account_is_empty(clients):
    acct = clients.name("sa")
    clients.make_rg()
    clients.make_account(acct)
    clients.sm.blob_containers.create("rg1", acct, "seed", {})
    clients.sm.storage_accounts.delete("rg1", acct)
    clients.make_account(acct)
    assert list(clients.sm.blob_containers.list("rg1", acct)) == []


def test_containers_mirror_azurite(clients):
    acct = clients.name("sa")
    clients.make_rg()
    clients.make_account(acct)
    bc = clients.sm.blob_containers
    created = bc.create("rg1", acct, "seed", BlobContainer(metadata={"seedctl": "1"}))
    assert created.name == "seed" and created.public_access == "None" and created.metadata == {"seedctl": "1"}
    assert bc.get("rg1", acct, "seed").metadata == {"seedctl": "1"}
    blob = clients.blob(acct)
    assert _names(blob.list_containers()) == ["seed"]
    blob.create_container("made-in-data-plane")
    assert _names(bc.list("rg1", acct)) == ["made-in-data-plane", "seed"]
    bc.delete("rg1", acct, "seed")
    assert _names(blob.list_containers()) == ["made-in-data-plane"]
    with pytest.raises(ResourceNotFoundError) as err:
        bc.get("rg1", acct, "seed")
    assert err.value.error.code == "ContainerNotFound"


def test_lro_failed_fault(sandbox, clients):
    acct = clients.name("sa")
    clients.make_rg()
    sandbox.control.inject_fault("lro_failed", path_regex=f"storageAccounts/{acct}$", count=1)
    with pytest.raises(HttpResponseError) as err:
        clients.make_account(acct)
    assert err.value.error.code == "StorageAccountCreationFailed"
    with pytest.raises(ResourceNotFoundError):
        clients.sm.storage_accounts.get_properties("rg1", acct)
    assert clients.make_account(acct).provisioning_state == "Succeeded"  # the fault fired once
