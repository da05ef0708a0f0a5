"""The sandbox's Microsoft.DataBox jobs (SKU DataBoxCustomerDisk) driven by the real
azure-mgmt-databox client that seedctl builds, plus raw HTTP where the wire itself is the point."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from databox_helpers import API_VERSION, KEY, make_env, mutated

from seedctl.sandbox import catalog


def wire(call: Any) -> list[tuple[str, str]]:
    """Run `call(hook)` and return (method, url) of every request the SDK sent."""
    seen: list[tuple[str, str]] = []
    call(lambda request: seen.append((request.http_request.method, request.http_request.url)))
    return seen


def test_the_sdk_sends_2025_07_01_and_the_sandbox_serves_it(dbx):
    assert dbx.databox._config.api_version == API_VERSION
    assert API_VERSION in catalog.DATABOX_VERSIONS
    sent = wire(lambda hook: dbx.databox.jobs.begin_create(dbx.rg, "apiver", dbx.body(),
                                                           raw_request_hook=hook).result())
    sent += wire(lambda hook: dbx.databox.jobs.get(dbx.rg, "apiver", expand="details", raw_request_hook=hook))
    sent += wire(lambda hook: list(dbx.databox.jobs.list_by_resource_group(dbx.rg, raw_request_hook=hook)))
    sent += wire(lambda hook: dbx.databox.jobs.mark_devices_shipped(
        "apiver", dbx.rg, {"deliverToDcPackageDetails": {"carrierName": "UPS", "trackingId": "1Z"}},
        raw_request_hook=hook))
    arm_calls = [u for _, u in sent if "/asyncoperations/" not in u]
    assert arm_calls and all(f"api-version={API_VERSION}" in u for u in arm_calls), sent
    assert any(m == "GET" and u.endswith("/jobs/apiver?api-version=2025-07-01&$expand=details") for m, u in sent), sent
    # an api-version the service does not have is refused in ARM's words
    r = dbx.http.get(dbx.url(dbx.job_path("apiver"), "2019-01-01"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_create_is_long_running_as_in_azure_and_polls_fast(dbx):
    """As the service answers in the Azure CLI's recording: 202 with a Location only, no body."""
    r = dbx.http.put(dbx.url(dbx.job_path("rawjob")), json=dbx.body())
    assert r.status_code == 202, r.text
    assert "Azure-AsyncOperation" not in r.headers and r.content == b""
    assert r.headers["Location"].startswith(dbx.sandbox.connection.arm_endpoint)
    assert "/providers/Microsoft.DataBox/locations/westus/operationResults/" in r.headers["Location"]
    assert r.headers["x-ms-retry-after-ms"] and "Retry-After" not in r.headers
    # readable at once (the order exists), then waiting for the customer's shipment details
    assert dbx.http.get(dbx.url(dbx.job_path("rawjob"))).json()["properties"]["status"] in (
        "DeviceOrdered", "AwaitingShipmentDetails")
    started = time.monotonic()
    job = dbx.create("sdkjob")
    assert time.monotonic() - started < 2
    assert job.name == "sdkjob" and job.sku.name == "DataBoxCustomerDisk"
    assert job.properties.status == "AwaitingShipmentDetails"
    assert job.properties.transfer_type == "ImportToAzure"
    assert job.properties.is_cancellable is True and job.properties.is_deletable is False
    assert job.tags == {"purpose": "test"} and job.location == "westus"


def test_get_shows_details_and_never_a_key(dbx):
    """The recording's GET (no $expand) has details; $expand adds the stages and packages."""
    dbx.create("detail")
    plain = dbx.databox.jobs.get(dbx.rg, "detail")
    assert plain.properties.details.import_disk_details_collection["DISK-01"].bit_locker_key is None
    assert plain.properties.details.job_stages is None and plain.properties.details.copy_progress is None
    job = dbx.databox.jobs.get(dbx.rg, "detail", expand="details")
    d = job.properties.details
    assert type(d).__name__ == "DataBoxCustomerDiskJobDetails"
    assert d.job_details_type == "DataBoxCustomerDisk"
    disk = d.import_disk_details_collection["DISK-01"]
    assert disk.manifest_file == "\\DriveManifest.xml" and disk.manifest_hash == "0" * 32
    assert disk.bit_locker_key is None
    assert d.contact_details.email_list == ["admin@example.com", "ops@example.com"]
    # x-ms-secret: the carrier account is in listCredentials only
    assert d.return_to_customer_package_details.carrier_account_number is None
    assert d.data_import_details[0].account_details.storage_account_id == dbx.account_id
    assert d.data_import_details[0].log_collection_level == "Verbose"
    # the datacenter to ship to is not on the job (no recording or official example has it):
    # regionConfiguration gives it (test_databox_service.py)
    assert d.datacenter_address is None
    assert [s.stage_name for s in d.job_stages][:3] == ["DeviceOrdered", "AwaitingShipmentDetails",
                                                        "ShippedToAzureDC"]
    assert d.copy_progress == [] and d.deliver_to_dc_package_details is None
    for raw in (dbx.http.get(dbx.url(dbx.job_path("detail")) + "&$expand=details").text,
                dbx.http.get(dbx.url(f"/subscriptions/{dbx.sub}/providers/Microsoft.DataBox/jobs")).text):
        assert KEY not in raw and "bitLockerKey" not in raw


def test_list_credentials_is_the_only_answer_with_the_keys(dbx):
    dbx.create("creds")
    creds = list(dbx.databox.jobs.list_credentials(dbx.rg, "creds"))
    secrets = creds[0].job_secrets
    assert type(secrets).__name__ == "CustomerDiskJobSecrets"
    assert [(s.disk_serial_number, s.bit_locker_key) for s in secrets.disk_secrets] == [("DISK-01", KEY)]


def test_list_by_resource_group_and_subscription(dbx, sandbox):
    dbx.create("list-a")
    dbx.create("list-b")
    other = make_env(sandbox)
    other.create("list-c")
    assert [j.name for j in dbx.databox.jobs.list_by_resource_group(dbx.rg)] == ["list-a", "list-b"]
    assert [j.name for j in dbx.databox.jobs.list()] == ["list-a", "list-b"]
    assert [j.name for j in other.databox.jobs.list()] == ["list-c"]
    # list items carry the details too, in the recorded list shape (stages, empty packages)
    assert all(j.properties.details.job_stages for j in dbx.databox.jobs.list())


def test_not_found_answers(dbx):
    with pytest.raises(ResourceNotFoundError) as e:
        dbx.databox.jobs.get(dbx.rg, "nosuchjob")
    assert e.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as e:
        dbx.databox.jobs.get("no-such-rg", "nosuchjob")
    assert e.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError):
        dbx.ship("nosuchjob")
    with pytest.raises(ResourceNotFoundError):
        dbx.databox.jobs.cancel(dbx.rg, "nosuchjob", {"reason": "x"})
    dbx.databox.jobs.begin_delete(dbx.rg, "nosuchjob").result()  # absent: 204, nothing to do


def test_an_existing_job_cannot_be_created_again(dbx):
    dbx.create("twice")
    with pytest.raises(ResourceExistsError) as e:
        dbx.create("twice", dbx.body())
    assert e.value.status_code == 409 and "Update job API" in e.value.error.message


def test_unregistered_provider_is_missing_subscription_registration(sandbox):
    env = make_env(sandbox, register=False)
    # raw HTTP: the SDK would register the provider itself and poll every 10 s
    r = env.http.put(env.url(env.job_path("unreg")), json=env.body())
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "MissingSubscriptionRegistration"
    assert "Microsoft.DataBox" in r.json()["error"]["message"]


def _drop(path: str):
    def fn(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for p in parents:
            node = node[p]
        del node[last]
    return fn


def _set(path: str, value: Any):
    def fn(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for p in parents:
            node = node[p]
        node[last] = value
    return fn


D = "properties.details"
DISK = {"manifestFile": "\\DriveManifest.xml", "manifestHash": "A" * 32, "bitLockerKey": KEY}
INVALID = {
    "other-sku": (_set("sku", {"name": "DataBox"}), "sku.name"),
    "export": (_set("properties.transferType", "ExportFromAzure"), "properties.transferType"),
    "details-type": (_set(f"{D}.jobDetailsType", "DataBoxDisk"), "details.jobDetailsType"),
    "no-disks": (_set(f"{D}.importDiskDetailsCollection", {}), "details.importDiskDetailsCollection"),
    "no-manifest-file": (_drop(f"{D}.importDiskDetailsCollection.DISK-01.manifestFile"), ".manifestFile"),
    "no-manifest-hash": (_drop(f"{D}.importDiskDetailsCollection.DISK-01.manifestHash"), ".manifestHash"),
    "no-key": (_drop(f"{D}.importDiskDetailsCollection.DISK-01.bitLockerKey"), ".bitLockerKey"),
    "no-contact": (_drop(f"{D}.contactDetails"), "details.contactDetails"),
    "no-emails": (_set(f"{D}.contactDetails.emailList", []), "details.contactDetails.emailList"),
    "no-phone": (_drop(f"{D}.contactDetails.phone"), "details.contactDetails"),
    "no-return-details": (_drop(f"{D}.returnToCustomerPackageDetails"), "details.returnToCustomerPackageDetails"),
    "managed-disk-target": (_set(f"{D}.dataImportDetails",
                                 [{"accountDetails": {"dataAccountType": "ManagedDisk"}}]), "dataAccountType"),
    "bad-location": (_set("location", "moon"), "location"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_bodies_are_refused_with_a_target(dbx_shared, case):
    dbx = dbx_shared
    fn, target = INVALID[case]
    with pytest.raises(HttpResponseError) as e:
        dbx.databox.jobs.begin_create(dbx.rg, f"bad-{case}"[:24], mutated(dbx.body(), fn)).result()
    assert e.value.status_code == 400, e.value
    assert target in (e.value.error.target or ""), (e.value.error.target, e.value.error.message)
    with pytest.raises(ResourceNotFoundError):
        dbx.databox.jobs.get(dbx.rg, f"bad-{case}"[:24])


def test_a_manifest_hash_and_key_the_service_accepted_are_accepted(dbx):
    """The recorded create (Azure CLI, 2025) sent manifestHash "xxxx" and bitLockerKey "xxx" and the
    service accepted them: the sandbox must not be stricter than the service."""
    body = dbx.body()
    body["properties"]["details"]["importDiskDetailsCollection"]["DISK-01"].update(
        {"manifestHash": "xxxx", "bitLockerKey": "xxx"})
    job = dbx.create("loosehash", body)
    assert job.properties.status == "AwaitingShipmentDetails"
    got = dbx.databox.jobs.get(dbx.rg, "loosehash")
    assert got.properties.details.import_disk_details_collection["DISK-01"].manifest_hash == "xxxx"


def test_missing_storage_account_and_bad_job_name(dbx):
    body = dbx.body()
    body["properties"]["details"]["dataImportDetails"] = [{"accountDetails": {
        "dataAccountType": "StorageAccount", "storageAccountId": dbx.account_id + "x"}}]
    with pytest.raises(HttpResponseError) as e:
        dbx.create("noaccount", body)
    assert e.value.status_code == 400 and e.value.error.code == "StorageAccountNotFound"
    r = dbx.http.put(dbx.url(dbx.job_path("ab")), json=dbx.body())
    assert r.status_code == 400 and r.json()["error"]["target"] == "jobName"


def test_mark_devices_shipped_moves_the_job_and_can_correct_the_tracking_id(dbx):
    dbx.create("ship")
    r = dbx.http.post(dbx.url(dbx.job_path("ship") + "/markDevicesShipped"),
                      json={"deliverToDcPackageDetails": {"carrierName": "FedEx"}})
    assert r.status_code == 400 and r.json()["error"]["target"] == "deliverToDcPackageDetails"
    dbx.ship("ship", "TRK-1")
    job = dbx.databox.jobs.get(dbx.rg, "ship", expand="details")
    assert job.properties.status == "ShippedToAzureDC"
    assert job.properties.details.deliver_to_dc_package_details.tracking_id == "TRK-1"
    assert job.properties.is_cancellable is True
    dbx.ship("ship", "TRK-2")  # corrected while in transit
    job = dbx.databox.jobs.get(dbx.rg, "ship", expand="details")
    assert job.properties.details.deliver_to_dc_package_details.tracking_id == "TRK-2"
    assert job.properties.status == "ShippedToAzureDC"
    dbx.advance("ship")  # the datacenter has the package
    with pytest.raises(ResourceExistsError) as e:
        dbx.ship("ship", "TRK-3")
    assert e.value.status_code == 409


def test_cancel_only_while_cancellable(dbx):
    dbx.create("cancel-me")
    with pytest.raises(HttpResponseError) as e:
        dbx.databox.jobs.cancel(dbx.rg, "cancel-me", {"reason": ""})
    assert e.value.status_code == 400
    dbx.databox.jobs.cancel(dbx.rg, "cancel-me", {"reason": "drives not ready"})
    job = dbx.databox.jobs.get(dbx.rg, "cancel-me", expand="details")
    assert job.properties.status == "Cancelled" and job.properties.cancellation_reason == "drives not ready"
    assert job.properties.is_cancellable is False and job.properties.is_deletable is True
    assert job.properties.details.job_stages[-1].stage_name == "Cancelled"
    with pytest.raises(ResourceExistsError):
        dbx.databox.jobs.cancel(dbx.rg, "cancel-me", {"reason": "again"})
    # once the datacenter has the disks, it is too late
    dbx.create("too-late")
    dbx.ship("too-late")
    dbx.advance("too-late", "AtAzureDC")
    with pytest.raises(ResourceExistsError) as e:
        dbx.databox.jobs.cancel(dbx.rg, "too-late", {"reason": "changed my mind"})
    assert "isCancellable" in e.value.error.message


def test_delete_only_in_a_final_status(dbx):
    dbx.create("del")
    with pytest.raises(ResourceExistsError) as e:
        dbx.databox.jobs.begin_delete(dbx.rg, "del").result()
    assert "isDeletable" in e.value.error.message
    dbx.databox.jobs.cancel(dbx.rg, "del", {"reason": "test"})
    r = dbx.http.delete(dbx.url(dbx.job_path("del")))
    assert r.status_code == 202 and r.headers["Location"]
    with pytest.raises(ResourceNotFoundError):
        dbx.databox.jobs.get(dbx.rg, "del")
    assert dbx.http.delete(dbx.url(dbx.job_path("del"))).status_code == 204
    dbx.create("del2")
    dbx.databox.jobs.cancel(dbx.rg, "del2", {"reason": "test"})
    assert dbx.databox.jobs.begin_delete(dbx.rg, "del2").result() is None


def test_update_is_long_running_and_changes_only_what_the_api_allows(dbx):
    dbx.create("upd")
    job = dbx.databox.jobs.begin_update(dbx.rg, "upd", {
        "tags": {"owner": "ops"},
        "properties": {"details": {"returnToCustomerPackageDetails": {"carrierName": "UPS",
                                                                       "carrierAccountNumber": "42"},
                                   "contactDetails": {"contactName": "New Admin", "phone": "1",
                                                      "emailList": ["new@example.com"]}}}}).result()
    assert job.tags == {"owner": "ops"}
    d = dbx.databox.jobs.get(dbx.rg, "upd", expand="details").properties.details
    assert d.return_to_customer_package_details.carrier_name == "UPS"
    assert d.contact_details.contact_name == "New Admin"
    r = dbx.http.patch(dbx.url(dbx.job_path("upd")), json={"tags": {}})
    assert r.status_code == 202 and r.headers["Location"] and "Azure-AsyncOperation" not in r.headers
    # the disks are fixed once the job exists
    with pytest.raises(HttpResponseError) as e:
        dbx.databox.jobs.begin_update(dbx.rg, "upd", {"properties": {"details": {
            "importDiskDetailsCollection": {"DISK-02": {}}}}}).result()
    assert e.value.status_code == 400 and "importDiskDetailsCollection" in e.value.error.message
    # a finished job keeps its details; tags still change
    dbx.databox.jobs.cancel(dbx.rg, "upd", {"reason": "test"})
    with pytest.raises(ResourceExistsError):
        dbx.databox.jobs.begin_update(dbx.rg, "upd", {"properties": {"details": {
            "returnToCustomerPackageDetails": {"carrierName": "DHL", "carrierAccountNumber": "1"}}}}).result()
    assert dbx.databox.jobs.begin_update(dbx.rg, "upd", {"tags": {"done": "yes"}}).result().tags == {"done": "yes"}


def test_a_failed_create_operation_raises_and_leaves_no_job(dbx):
    dbx.sandbox.control.inject_fault("lro_failed", method="PUT", path_regex=r"Microsoft\.DataBox/jobs/", count=1)
    with pytest.raises(HttpResponseError) as e:
        dbx.create("lrofail")
    assert e.value.error.code == "JobCreationFailed"
    with pytest.raises(ResourceNotFoundError):
        dbx.databox.jobs.get(dbx.rg, "lrofail")


def test_operations_list(dbx):
    names = [o.name for o in dbx.databox.operations.list()]
    assert "Microsoft.DataBox/jobs/markDevicesShipped/action" in names


def test_the_raw_get_is_the_rest_shape(dbx):
    dbx.create("shape")
    body = dbx.http.get(dbx.url(dbx.job_path("shape")) + "&$expand=details").json()
    assert set(body) >= {"id", "name", "type", "location", "tags", "sku", "identity", "properties", "systemData"}
    assert body["type"] == "Microsoft.DataBox/jobs" and body["identity"] == {"type": "None"}
    p = body["properties"]
    assert {"status", "transferType", "isCancellable", "isDeletable", "startTime", "details"} <= set(p)
    assert not any(k.startswith("_") for k in json.dumps(body).split('"') if k)


def test_seedctl_back_end_reads_lists_cancels_and_deletes(dbx):
    """DataBoxBackend (what plan, status and clean-up use) on jobs made with the SDK."""
    from types import SimpleNamespace

    from seedctl.resources.jobs import backend_for

    backend = backend_for("databox")
    ctx = SimpleNamespace(clients=dbx.clients, cache={})
    assert backend.get(ctx, dbx.rg, "nothing") is None
    dbx.create("be-one")
    dbx.ship("be-one", "TRK-9")
    job = backend.get(ctx, dbx.rg, "be-one")
    documented = {"api", "id", "name", "location", "state", "phase", "storage_account_id", "return_address",
                  "return_shipping", "diagnostics_path", "log_level", "backup_drive_manifest", "drives",
                  "delivery_package", "return_package", "shipping_address", "percent_complete",
                  "incomplete_blob_list_uri", "cancel_requested", "tags", "created_at"}
    assert documented <= set(job)
    assert (job["api"], job["state"], job["phase"]) == ("databox", "ShippedToAzureDC", "shipping")
    assert job["storage_account_id"] == dbx.account_id and job["log_level"] == "Verbose"
    assert job["drives"] == [{"drive_id": "DISK-01", "manifest_file": "\\DriveManifest.xml",
                              "manifest_hash": "0" * 32, "drive_header_hash": None, "state": "Specified",
                              "copy_status": None, "percent_complete": 0, "bytes_succeeded": 0,
                              "error_log_uri": None, "verbose_log_uri": None, "manifest_uri": None,
                              "failure_code": None}]
    assert job["delivery_package"]["tracking_number"] == "TRK-9" and job["delivery_package"]["drive_count"] == 1
    assert job["shipping_address"]["city"] == "Santa Clara" and job["shipping_address"]["postal_code"] == "95050"
    assert job["return_address"]["email"] == "admin@example.com" and job["notification_emails"] == ["ops@example.com"]
    assert job["return_shipping"]["carrier_name"] == "FedEx"  # the account number is x-ms-secret
    assert job["is_cancellable"] is True and job["created_at"]
    dbx.create("be-two")
    assert [j["name"] for j in backend.list_jobs(ctx, dbx.rg)] == ["be-one", "be-two"]
    assert all(j["drives"] for j in backend.list_jobs(ctx, dbx.rg))  # details read for each
    backend.cancel(ctx, dbx.rg, "be-one", "seedctl destroy")
    backend.cancel(ctx, dbx.rg, "be-one", "seedctl destroy")  # a retried cancel is no error
    assert backend.get(ctx, dbx.rg, "be-one")["phase"] == "cancelled"
    backend.delete(ctx, dbx.rg, "be-one")
    backend.delete(ctx, dbx.rg, "be-one")  # already gone
    assert [j["name"] for j in backend.list_jobs(ctx, dbx.rg)] == ["be-two"]
