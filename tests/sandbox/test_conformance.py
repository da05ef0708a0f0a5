"""Conformance: every response body the sandbox returns for the operations seedctl uses validates
against the official REST API descriptions kept in ../shared/azure-rest-specs (OpenAPI 2.0
definitions, resolved with their $refs) and the hand-written Import/Export JSON Schema."""

from __future__ import annotations

import pytest
from official import BLOB, COMMON_ERROR, IE2016, IE2021, RESOURCES, SPECS, STORAGE, VAULTS, validate

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason=f"official REST descriptions not found at {SPECS} "
                                "(they are kept in ../shared/azure-rest-specs; set SEEDCTL_AZURE_REST_SPECS)")


KEY = "-".join(["123453"] * 8)
HASH = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def world(clients):
    """A resource group, vault, storage account, container and import job, created with the SDKs."""
    clients.make_rg()
    clients.register("Microsoft.ImportExport")
    account = clients.make_account(clients.name("cf"), tags={"seedctl": "1"})
    clients.sm.blob_containers.create("rg1", account.name, "seed", {})
    vid = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.RecoveryServices/vaults/v1"
    clients.rm.resources.begin_create_or_update_by_id(
        vid, api_version="2023-04-01", parameters={"location": "westus", "sku": {"name": "RS0", "tier": "Standard"},
                                                   "properties": {}}).result()
    job = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.ImportExport/jobs/job1"
    body = {"location": "westus", "tags": {"seedctl": "1"}, "properties": {
        "storageAccountId": account.id, "jobType": "Import", "logLevel": "Verbose",
        "returnAddress": {"recipientName": "Ops", "streetAddress1": "1 Main", "city": "Redmond",
                          "postalCode": "98052", "countryOrRegion": "USA", "phone": "1", "email": "a@b.c"},
        "driveList": [{"driveId": "D1", "bitLockerKey": KEY, "manifestFile": "\\DriveManifest.xml",
                       "manifestHash": HASH, "driveHeaderHash": ""}]}}
    r = clients.http.put(clients.url(job, "2016-11-01"), json=body)
    assert r.status_code == 201
    return clients, account, vid, job, body


def test_resources_shapes(world):
    clients, _, vid, _, _ = world
    s = f"/subscriptions/{clients.sub}"
    get = lambda path, v="2025-04-01": clients.http.get(clients.url(path, v)).json()  # noqa: E731
    validate(get(f"{s}/resourcegroups/rg1"), RESOURCES, "ResourceGroup")
    validate(get(f"{s}/resourcegroups"), RESOURCES, "ResourceGroupListResult")
    validate(get(f"{s}/providers/Microsoft.ImportExport"), RESOURCES, "Provider")
    validate(get(f"{s}/providers"), RESOURCES, "ProviderListResult")
    validate(clients.http.post(clients.url(f"{s}/providers/Microsoft.DataBox/register", "2025-04-01")).json(),
             RESOURCES, "Provider")
    validate(get(vid, "2023-04-01"), RESOURCES, "GenericResource")
    validate(get(vid, "2023-04-01"), VAULTS, "Vault")
    validate(get(f"{s}/resourcegroups/rg1/resources"), RESOURCES, "ResourceListResult")


def test_storage_shapes(world):
    clients, account, _, _, _ = world
    a = account.id
    v = "2026-09-01"
    validate(clients.http.get(clients.url(a, v)).json(), STORAGE, "StorageAccount")
    validate(clients.http.get(clients.url(f"/subscriptions/{clients.sub}/providers/Microsoft.Storage/storageAccounts",
                                          v)).json(), STORAGE, "StorageAccountListResult")
    validate(clients.http.post(clients.url(f"{a}/listKeys", v) + "&$expand=kerb").json(), STORAGE,
             "StorageAccountListKeysResult")
    validate(clients.http.post(clients.url(f"/subscriptions/{clients.sub}/providers/Microsoft.Storage/"
                                           "checkNameAvailability", v),
                               json={"name": account.name, "type": "Microsoft.Storage/storageAccounts"}).json(),
             STORAGE, "CheckNameAvailabilityResult")
    validate(clients.http.patch(clients.url(a, v), json={"tags": {"x": "y"}}).json(), STORAGE, "StorageAccount")
    c = f"{a}/blobServices/default/containers"
    validate(clients.http.get(clients.url(f"{c}/seed", v)).json(), BLOB, "BlobContainer")
    validate(clients.http.put(clients.url(f"{c}/two", v), json={"properties": {}}).json(), BLOB, "BlobContainer")
    validate(clients.http.get(clients.url(c, v)).json(), BLOB, "ListContainerItems")


def test_storage_lro_created_answer(clients):
    clients.make_rg()
    name = clients.name("lro")
    path = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/{name}"
    r = clients.http.put(clients.url(path, "2026-09-01"),
                         json={"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"})
    assert r.status_code == 202 and r.content == b""
    assert r.headers["Azure-AsyncOperation"].startswith(clients.base)
    assert r.headers["Location"].startswith(clients.base) and r.headers["x-ms-retry-after-ms"]
    status = clients.http.get(r.headers["Azure-AsyncOperation"]).json()
    assert status["status"] in ("InProgress", "Succeeded")


@pytest.mark.parametrize("version, file", [("2016-11-01", IE2016), ("2021-01-01", IE2021)])
def test_importexport_shapes(world, version, file):
    clients, _, _, job, body = world
    hand = "importexport-2016-11-01.schema.json"
    got = clients.http.get(clients.url(job, version)).json()
    validate(got, file, "JobResponse")
    validate(got, hand, "JobResponse")
    put = clients.http.put(clients.url(job, version), json=body)
    assert put.status_code == 200
    validate(put.json(), file, "JobResponse")
    patched = clients.http.patch(clients.url(job, version), json={"tags": {"a": "b"},
                                                                  "properties": {"logLevel": "Error"}}).json()
    validate(patched, file, "JobResponse")
    validate(patched, hand, "JobResponse")
    rg_list = clients.http.get(clients.url(job.rsplit("/", 1)[0], version)).json()
    validate(rg_list, file, "ListJobsResponse")
    validate(rg_list, hand, "ListJobsResponse")
    sub_list = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/providers/Microsoft.ImportExport/jobs",
                                            version)).json()
    validate(sub_list, file, "ListJobsResponse")
    keys = clients.http.post(clients.url(f"{job}/listBitLockerKeys", version)).json()
    validate(keys, file, "GetBitLockerKeysResponse")
    validate(keys, hand, "GetBitLockerKeysResponse")
    locations = clients.http.get(clients.url("/providers/Microsoft.ImportExport/locations", version)).json()
    validate(locations, file, "LocationsResponse")
    validate(locations, hand, "LocationsResponse")
    location = clients.http.get(clients.url("/providers/Microsoft.ImportExport/locations/westus", version)).json()
    validate(location, file, "Location")
    validate(location, hand, "Location")


def test_job_after_datacenter_still_conforms(sandbox, world):
    clients, _, _, job, _ = world
    r = clients.http.patch(clients.url(job, "2016-11-01"), json={"properties": {
        "state": "Shipping", "deliveryPackage": {"carrierName": "FedEx", "trackingNumber": "1"}}})
    assert r.status_code == 200
    sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    body = clients.http.get(clients.url(job, "2016-11-01")).json()
    validate(body, "importexport-2016-11-01.schema.json", "JobResponse")
    validate(body, IE2016, "JobResponse")


def test_error_envelopes(clients):
    s = f"/subscriptions/{clients.sub}"
    for r in (clients.http.get(clients.url(f"{s}/resourcegroups/none", "2025-04-01")),
              clients.http.get(clients.url(f"{s}/resourcegroups", "1999-01-01")),
              clients.http.get(clients.url(f"{s}/resourceGroups/none/providers/Microsoft.ImportExport/jobs/j",
                                           "2016-11-01"))):
        assert r.status_code >= 400 and r.headers["x-ms-request-id"]
        validate(r.json(), COMMON_ERROR, "ErrorResponse")
        validate(r.json(), "importexport-2016-11-01.schema.json", "ErrorResponse")
