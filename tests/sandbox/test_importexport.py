"""Microsoft.ImportExport against the sandbox with the real track-1 client
(azure-mgmt-storageimportexport 0.1.0, api-version 2016-11-01), plus 2021-01-01 over raw HTTP."""

from __future__ import annotations

import pytest
from azure.mgmt.storageimportexport.models import (
    DriveStatus,
    ErrorResponseException,
    JobDetails,
    PackageInfomation,
    PutJobParameters,
    ReturnAddress,
    UpdateJobParameters,
)

KEY = "-".join(["123453"] * 8)
HASH = "0123456789ABCDEF0123456789ABCDEF"


def _address() -> ReturnAddress:
    return ReturnAddress(recipient_name="Ops", street_address1="1 Main St", city="Redmond", postal_code="98052",
                         country_or_region="USA", phone="4250000000", email="ops@example.com")


def _drive(i: int = 1, **kw) -> DriveStatus:
    return DriveStatus(drive_id=f"WD-{i:04d}", bit_locker_key=KEY, manifest_file="\\DriveManifest.xml",
                       manifest_hash=HASH, drive_header_hash="", **kw)


@pytest.fixture
def ready(clients):
    clients.make_rg()
    account = clients.make_account(clients.name("ie"))
    clients.register("Microsoft.ImportExport")
    return clients, account


def _create(clients, account, name="job1", drives=None, **props):
    return clients.ie.jobs.create(name, "rg1", PutJobParameters(
        location="westus", tags={"seedctl": "1"},
        properties=JobDetails(storage_account_id=account.id, job_type="Import",
                              drive_list=drives if drives is not None else [_drive()], **props)))


def test_create_get_list_and_keys(ready):
    clients, account = ready
    job = _create(clients, account, return_address=_address(), log_level="Verbose")
    assert job.properties.state == "Creating" and job.location == "West US"
    assert job.properties.provisioning_state == "Succeeded"
    assert job.properties.drive_list[0].state == "Specified"
    assert job.properties.drive_list[0].bit_locker_key is None  # never returned by PUT/GET
    assert job.properties.shipping_information.city == "Santa Clara"
    assert job.properties.diagnostics_path == "waimportexport" and job.tags == {"seedctl": "1"}
    got = clients.ie.jobs.get("job1", "rg1")
    assert got.id == job.id and got.properties.drive_list[0].bit_locker_key is None
    assert [j.name for j in clients.ie.jobs.list_by_resource_group("rg1")] == ["job1"]
    assert [j.name for j in clients.ie.jobs.list_by_subscription()] == ["job1"]
    keys = list(clients.ie.bit_locker_keys.list("job1", "rg1"))
    assert [(k.drive_id, k.bit_locker_key) for k in keys] == [("WD-0001", KEY)]


def test_replace_in_creating_answers_200(ready):
    clients, account = ready
    _create(clients, account)
    raw = clients.ie.jobs.create("job1", "rg1", PutJobParameters(
        location="westus", properties=JobDetails(storage_account_id=account.id, job_type="Import",
                                                 drive_list=[_drive(1), _drive(2)])), raw=True)
    assert raw.response.status_code == 200
    assert len(raw.output.properties.drive_list) == 2


def test_paging_with_top(ready):
    clients, account = ready
    for i in range(5):
        _create(clients, account, name=f"job{i}")
    assert len(list(clients.ie.jobs.list_by_resource_group("rg1", top=2))) == 5
    with pytest.raises(ErrorResponseException):
        list(clients.ie.jobs.list_by_resource_group("rg1", top=101))


@pytest.mark.parametrize("drives, target", [
    ([], "driveList"),
    ([_drive(i) for i in range(11)], "driveList"),
    ([_drive(1), _drive(1)], "driveList[1].driveId"),
    ([DriveStatus(drive_id="X1", manifest_file="\\m.xml", manifest_hash=HASH)], "driveList[0].bitLockerKey"),
    ([DriveStatus(drive_id="X1", bit_locker_key=KEY, manifest_file="\\m.xml", manifest_hash="abc")],
     "driveList[0].manifestHash"),
    ([DriveStatus(drive_id="X1", bit_locker_key=KEY, manifest_hash=HASH)], "driveList[0].manifestFile"),
])
def test_drive_list_rules(ready, drives, target):
    clients, account = ready
    with pytest.raises(ErrorResponseException) as err:
        _create(clients, account, drives=drives)
    assert err.value.response.status_code == 400
    assert err.value.response.json()["error"]["target"] == target


def test_storage_account_must_exist(ready):
    clients, account = ready
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.create("job1", "rg1", PutJobParameters(location="westus", properties=JobDetails(
            storage_account_id=account.id.replace(account.name, "missing0acct"), job_type="Import",
            drive_list=[_drive()])))
    assert err.value.response.json()["error"]["code"] == "StorageAccountNotFound"


def test_get_absent_job_is_404(ready):
    clients, _ = ready
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.get("nope", "rg1")
    assert err.value.response.status_code == 404
    assert err.value.error.code == "ResourceNotFound"


def test_shipping_needs_address_and_package_then_locks_fields(sandbox, ready):
    clients, account = ready
    _create(clients, account)
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(state="Shipping"))
    assert err.value.response.status_code == 400
    job = clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(
        state="Shipping", return_address=_address(),
        delivery_package=PackageInfomation(carrier_name="FedEx", tracking_number="1Z999", drive_count=1,
                                           ship_date="2026-11-26")))
    assert job.properties.state == "Shipping" and job.properties.delivery_package.tracking_number == "1Z999"
    sandbox.control.advance_job("rg1", "job1", subscription=clients.sub)  # → Received (drive never arrived)
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(drive_list=[_drive(2)]))
    assert err.value.response.status_code == 409
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(cancel_requested=True))
    assert err.value.response.status_code == 409
    with pytest.raises(ErrorResponseException) as err:
        clients.ie.jobs.delete("job1", "rg1")
    assert err.value.response.status_code == 409
    tagged = clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(tags={"seedctl": "2"}))
    assert tagged.tags == {"seedctl": "2"}


def test_cancel_and_delete_in_creating(ready):
    clients, account = ready
    _create(clients, account)
    job = clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(cancel_requested=True))
    assert job.properties.cancel_requested is True and job.properties.state == "Creating"
    noop = clients.ie.jobs.update("job1", "rg1", UpdateJobParameters(state=""))
    assert noop.properties.state == "Creating"
    clients.ie.jobs.delete("job1", "rg1")
    assert list(clients.ie.jobs.list_by_resource_group("rg1")) == []


def test_locations(clients):
    locations = list(clients.ie.locations.list())
    assert "West US" in [loc.name for loc in locations]
    west = clients.ie.locations.get("westus")
    assert west.id == "/providers/Microsoft.ImportExport/locations/westus"
    assert west.supported_carriers == ["FedEx"] and west.city == "Santa Clara"
    assert clients.ie.locations.get("West US").name == "West US"


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
