"""Microsoft.ImportExport against the sandbox with seedctl's own REST client (azure-mgmt-core's
pipeline, api-version 2016-11-01, bodies in the REST shape), plus 2021-01-01 over raw HTTP."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from seedctl.azure.importexport import API_VERSION

KEY = "-".join(["123453"] * 8)
HASH = "0123456789ABCDEF0123456789ABCDEF"


def _address() -> dict:
    return {"recipientName": "Ops", "streetAddress1": "1 Main St", "city": "Redmond", "postalCode": "98052",
            "countryOrRegion": "USA", "phone": "4250000000", "email": "ops@example.com"}


def _drive(i: int = 1, **kw) -> dict:
    return {"driveId": f"WD-{i:04d}", "bitLockerKey": KEY, "manifestFile": "\\DriveManifest.xml",
            "manifestHash": HASH, "driveHeaderHash": "", **kw}


@pytest.fixture
def ready(clients):
    clients.make_rg()
    account = clients.make_account(clients.name("ie"))
    clients.register("Microsoft.ImportExport")
    return clients, account


def _create(clients, account, name="job1", drives=None, **props):
    return clients.ie.jobs.create(name, "rg1", {
        "location": "westus", "tags": {"seedctl": "1"},
        "properties": {"storageAccountId": account.id, "jobType": "Import",
                       "driveList": drives if drives is not None else [_drive()], **props}})


def test_create_get_list_and_keys(ready):
    clients, account = ready
    job = _create(clients, account, returnAddress=_address(), logLevel="Verbose")
    p = job["properties"]
    assert p["state"] == "Creating" and job["location"] == "West US"
    assert p["provisioningState"] == "Succeeded"
    assert p["driveList"][0]["state"] == "Specified"
    assert "bitLockerKey" not in p["driveList"][0]  # never returned by PUT/GET
    assert p["shippingInformation"]["city"] == "Santa Clara"
    assert p["diagnosticsPath"] == "waimportexport" and job["tags"] == {"seedctl": "1"}
    got = clients.ie.jobs.get("job1", "rg1")
    assert got["id"] == job["id"] and "bitLockerKey" not in got["properties"]["driveList"][0]
    assert [j["name"] for j in clients.ie.jobs.list_by_resource_group("rg1")] == ["job1"]
    by_sub = clients.ie.rest.list(f"/subscriptions/{clients.sub}/providers/Microsoft.ImportExport/jobs", API_VERSION)
    assert [j["name"] for j in by_sub] == ["job1"]
    keys = clients.ie.jobs.list_bitlocker_keys("job1", "rg1")
    assert [(k["driveId"], k["bitLockerKey"]) for k in keys] == [("WD-0001", KEY)]


def test_replace_in_creating_answers_200(ready):
    clients, account = ready
    _create(clients, account)
    path = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.ImportExport/jobs/job1"
    r = clients.http.put(clients.url(path, API_VERSION), json={"location": "westus", "properties": {
        "storageAccountId": account.id, "jobType": "Import", "driveList": [_drive(1), _drive(2)]}})
    assert r.status_code == 200, r.text
    assert len(r.json()["properties"]["driveList"]) == 2


def test_paging_with_top(ready):
    clients, account = ready
    for i in range(5):
        _create(clients, account, name=f"job{i}")
    path = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.ImportExport/jobs"
    assert len(list(clients.ie.rest.list(path, API_VERSION, params={"$top": "2"}))) == 5
    assert len(clients.ie.jobs.list_by_resource_group("rg1")) == 5
    with pytest.raises(HttpResponseError):
        list(clients.ie.rest.list(path, API_VERSION, params={"$top": "101"}))


@pytest.mark.parametrize("drives, target", [
    ([], "driveList"),
    ([_drive(i) for i in range(11)], "driveList"),
    ([_drive(1), _drive(1)], "driveList[1].driveId"),
    ([{"driveId": "X1", "manifestFile": "\\m.xml", "manifestHash": HASH}], "driveList[0].bitLockerKey"),
    ([{"driveId": "X1", "bitLockerKey": KEY, "manifestFile": "\\m.xml", "manifestHash": "abc"}],
     "driveList[0].manifestHash"),
    ([{"driveId": "X1", "bitLockerKey": KEY, "manifestHash": HASH}], "driveList[0].manifestFile"),
])
def test_drive_list_rules(ready, drives, target):
    clients, account = ready
    with pytest.raises(HttpResponseError) as err:
        _create(clients, account, drives=drives)
    assert err.value.status_code == 400
    assert err.value.error.target == target


def test_storage_account_must_exist(ready):
    clients, account = ready
    with pytest.raises(HttpResponseError) as err:
        clients.ie.jobs.create("job1", "rg1", {"location": "westus", "properties": {
            "storageAccountId": account.id.replace(account.name, "missing0acct"), "jobType": "Import",
            "driveList": [_drive()]}})
    assert err.value.error.code == "StorageAccountNotFound"


def test_get_absent_job_is_404(ready):
    clients, _ = ready
    with pytest.raises(ResourceNotFoundError) as err:
        clients.ie.jobs.get("nope", "rg1")
    assert err.value.status_code == 404
    assert err.value.error.code == "ResourceNotFound"


def test_shipping_needs_address_and_package_then_locks_fields(sandbox, ready):
    clients, account = ready
    _create(clients, account)
    with pytest.raises(HttpResponseError) as err:
        clients.ie.jobs.update("job1", "rg1", {"properties": {"state": "Shipping"}})
    assert err.value.status_code == 400
    job = clients.ie.jobs.update("job1", "rg1", {"properties": {
        "state": "Shipping", "returnAddress": _address(),
        "deliveryPackage": {"carrierName": "FedEx", "trackingNumber": "1Z999", "driveCount": 1,
                            "shipDate": "2026-11-26"}}})
    assert job["properties"]["state"] == "Shipping"
    assert job["properties"]["deliveryPackage"]["trackingNumber"] == "1Z999"
    sandbox.control.advance_job("rg1", "job1", subscription=clients.sub)  # → Received (drive never arrived)
    for props in ({"driveList": [_drive(2)]}, {"cancelRequested": True}):
        with pytest.raises(HttpResponseError) as err:
            clients.ie.jobs.update("job1", "rg1", {"properties": props})
        assert err.value.status_code == 409
    with pytest.raises(HttpResponseError) as err:
        clients.ie.jobs.delete("job1", "rg1")
    assert err.value.status_code == 409
    tagged = clients.ie.jobs.update("job1", "rg1", {"tags": {"seedctl": "2"}})
    assert tagged["tags"] == {"seedctl": "2"}


def test_cancel_and_delete_in_creating(ready):
    clients, account = ready
    _create(clients, account)
    job = clients.ie.jobs.update("job1", "rg1", {"properties": {"cancelRequested": True}})
    assert job["properties"]["cancelRequested"] is True and job["properties"]["state"] == "Creating"
    noop = clients.ie.jobs.update("job1", "rg1", {"properties": {"state": ""}})
    assert noop["properties"]["state"] == "Creating"
    clients.ie.jobs.delete("job1", "rg1")
    assert clients.ie.jobs.list_by_resource_group("rg1") == []


def test_locations(clients):
    locations = clients.ie.locations.list()
    assert "West US" in [loc["name"] for loc in locations]
    west = clients.ie.locations.get("westus")
    assert west["id"] == "/providers/Microsoft.ImportExport/locations/westus"
    assert west["properties"]["supportedCarriers"] == ["FedEx"] and west["properties"]["city"] == "Santa Clara"
    assert clients.ie.locations.get("West US")["name"] == "West US"


def test_client_never_registers_the_provider(sandbox, clients):
    """The generated clients register a provider on MissingSubscriptionRegistration; seedctl's
    REST client must not (registration is a planned change, never a side effect of a read)."""
    clients.make_rg()
    sandbox.control.clear_request_log()
    with pytest.raises(HttpResponseError) as err:
        clients.ie.jobs.get("job1", "rg1")
    assert err.value.status_code == 409 and err.value.error.code == "MissingSubscriptionRegistration"
    assert not [p for m, p, s in sandbox.control.request_log() if m == "POST" and p.endswith("/register")]
    assert clients.rm.providers.get("Microsoft.ImportExport").registration_state == "NotRegistered"


def test_api_2021_01_01_over_http(ready):
    clients, account = ready
    path = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.ImportExport/jobs/j2021"
    body = {"location": "westus", "properties": {
        "storageAccountId": account.id, "jobType": "Import",
        "driveList": [{"driveId": "D1", "bitLockerKey": KEY, "manifestFile": "\\DriveManifest.xml",
                       "manifestHash": HASH, "driveHeaderHash": ""}]}}
    r = clients.http.put(clients.url(path, "2021-01-01"), json=body)
    assert r.status_code == 201, r.text
    assert "systemData" in r.json() and "bitLockerKey" not in r.json()["properties"]["driveList"][0]
    r = clients.http.post(clients.url(path + "/listBitLockerKeys", "2021-01-01"))
    assert r.json() == {"value": [{"driveId": "D1", "bitLockerKey": KEY}]}
    r = clients.http.delete(clients.url(path, "2021-01-01"))
    assert r.status_code == 200 and r.content == b""
    assert clients.http.delete(clients.url(path, "2021-01-01")).status_code == 204
