"""Data Box back end: `Microsoft.DataBox/jobs` with SKU `DataBoxCustomerDisk` (azure-mgmt-databox).

What current backup agents use (MARS 2.0.9250.0 and later, DPM 2019 UR1 / MABS v3 UR1): the
Import/Export service now runs on the Data Box resource. Bodies are built and read in the REST
shape (camelCase JSON), which the SDK's hybrid models accept and give back with `as_dict()`; that
keeps this module a readable map of the wire format.
"""

from __future__ import annotations

import logging
from typing import Any

from seedctl.azure.errors import is_not_found
from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.errors import AzureError
from seedctl.resources.jobs import base
from seedctl.resources.jobs.whatif import Verdict, address_line, return_carrier

log = logging.getLogger("seedctl.databox")

SKU = "DataBoxCustomerDisk"

# Every value of the official `StageName` enum (databox.json 2025-07-01), each placed on purpose
# (tests/readers check this against the SDK's enum, so a new value fails a test, not a plan).
STATUS_TO_PHASE = {
    # the order exists and the disks are still with the customer
    "DeviceOrdered": base.CREATED, "Created": base.CREATED, "AwaitingShipmentDetails": base.CREATED,
    "DevicePrepared": base.CREATED, "ReadyToReceiveAtAzureDC": base.CREATED,
    # "dispatched to / delivered to the user of the order": a Microsoft device travelling *to* the
    # customer, before any data; nothing has reached the datacenter yet
    "Dispatched": base.CREATED, "Delivered": base.CREATED,
    # on the way to the datacenter: shipped by the customer, or picked up by the carrier
    "ShippedToAzureDC": base.SHIPPING, "PickedUp": base.SHIPPING,
    "AtAzureDC": base.RECEIVED,
    "DataCopy": base.TRANSFERRING,
    # the copy is over; the disks go back to the customer
    "PreparingToShipFromAzureDC": base.PACKAGING, "ReadyToDispatchFromAzureDC": base.PACKAGING,
    "ShippedToCustomer": base.PACKAGING,
    "Completed": base.COMPLETED,
    "CompletedWithErrors": base.COMPLETED_WITH_ERRORS, "CompletedWithWarnings": base.COMPLETED_WITH_ERRORS,
    "Cancelled": base.CANCELLED, "Aborted": base.CANCELLED,
    "Failed_IssueDetectedAtAzureDC": base.FAILED, "Failed_IssueReportedAtCustomer": base.FAILED,
}

# Every value of the official `CopyStatus` enum (a disk's copy progress) → the classic drive state
# that status shows for both back ends (see base.DRIVE_STATES). None: no copy progress yet.
COPY_TO_DRIVE_STATE = {
    None: "Specified", "NotStarted": "Received", "InProgress": "Transferring", "Completed": "Completed",
    # the copy ran and some files failed: the classic "completed, see the error log"
    "CompletedWithErrors": "CompletedMoreInfo",
    # "no copy triggered as device was not returned / received": the disk never arrived
    "NotReturned": "NeverReceived", "DriveNotReceived": "NeverReceived",
    # the disk arrived and could not be copied (COPY_FAILURES says why)
    "Failed": "CompletedMoreInfo", "HardwareError": "CompletedMoreInfo", "DeviceFormatted": "CompletedMoreInfo",
    "DeviceMetadataModified": "CompletedMoreInfo", "StorageAccountNotAccessible": "CompletedMoreInfo",
    "UnsupportedData": "CompletedMoreInfo", "UnsupportedDrive": "CompletedMoreInfo",
    "OtherServiceError": "CompletedMoreInfo", "OtherUserError": "CompletedMoreInfo",
    "DriveNotDetected": "CompletedMoreInfo", "DriveCorrupted": "CompletedMoreInfo",
    "MetadataFilesModifiedOrRemoved": "CompletedMoreInfo",
}

# The copy statuses that mean the disk's data was not imported, in the enum's own words.
COPY_FAILURES = {
    "Failed": "data copy failed; no data was copied",
    "HardwareError": "the disk has hit hardware issues",
    "DeviceFormatted": "data copy failed: the disk was formatted by the user",
    "DeviceMetadataModified": "data copy failed: the disk's metadata was modified by the user",
    "StorageAccountNotAccessible": "data copy failed: the storage account was not accessible during the copy",
    "UnsupportedData": "data copy failed: the disk's data content is not supported",
    "UnsupportedDrive": "no copy: the disk type is not supported",
    "OtherServiceError": "the copy failed due to a service error",
    "OtherUserError": "the copy failed due to a user error",
    "DriveNotDetected": "the copy failed due to a disk detection error",
    "DriveCorrupted": "the copy failed: the disk is corrupted",
    "MetadataFilesModifiedOrRemoved": "the copy failed: metadata files were modified or removed",
}

# Fields a GET does not give back: `PackageCarrierDetails.carrierAccountNumber` is `x-ms-secret`.
# When it is missing from the answer, the plan cannot compare it (see normalize).
SECRET_FIELDS = {"return_shipping": ("carrier_account_number",)}


def _package(pkg: dict[str, Any] | None, drive_count: int | None = None,
             ship_date: str | None = None) -> dict[str, Any] | None:
    """A package in the classic words. Data Box keeps only carrier and tracking id: one package
    carries all the job's disks, and the date it was marked shipped is its stage time."""
    if not pkg or not pkg.get("trackingId"):
        return None
    return {"carrier_name": pkg.get("carrierName"), "tracking_number": pkg.get("trackingId"),
            "drive_count": drive_count, "ship_date": ship_date}


def _delivery(details: dict[str, Any]) -> dict[str, Any] | None:
    """The package going to the datacenter. The description has two places for it: the customer
    disk's own `deliverToDcPackageDetails` (what markDevicesShipped fills) and the generic
    `deliveryPackage` of every job. Either one filled means the disks were marked shipped;
    reading only one would send markDevicesShipped again on every apply."""
    return (_package(details.get("deliverToDcPackageDetails"))
            or _package(details.get("deliveryPackage")))


def _canonical(table: dict[Any, Any], value: Any) -> Any:
    """The enum value as the table spells it: ARM compares enum values without regard to case."""
    if not isinstance(value, str) or value in table:
        return value
    folded = {k.lower(): k for k in table if isinstance(k, str)}
    return folded.get(value.lower(), value)


def _with_counts(pkg: dict[str, Any] | None, drive_count: int | None,
                 ship_date: str | None) -> dict[str, Any] | None:
    return None if pkg is None else {**pkg, "drive_count": drive_count, "ship_date": ship_date}


def _stage_date(details: dict[str, Any], stage: str) -> str | None:
    for entry in details.get("jobStages") or []:
        if entry.get("stageName") == stage and entry.get("stageTime"):
            return str(entry["stageTime"])[:10]
    return None


class DataBoxBackend:
    api = "databox"
    provider_namespace = "Microsoft.DataBox"

    def get(self, ctx: Any, resource_group: str, name: str) -> dict[str, Any] | None:
        if not base.provider_registered(ctx, self.provider_namespace):
            return None
        client = ctx.clients.databox
        # details (disks, account, copy progress, logs) come only with $expand=details
        job = read_or_none(lambda: client.jobs.get(resource_group, name, expand="details"),
                           f"read Data Box job {name}", ctx.clients.policy)
        if job is None:
            return None
        normalized = self.normalize(job.as_dict())
        if normalized["shipping_address"] is None and normalized["location"]:
            # No job GET (recorded or documented) carries datacenterAddress: ask regionConfiguration.
            # The address informs; a failure to get it does not stop the read.
            try:
                normalized["shipping_address"] = self.shipping_address(ctx, normalized["location"])
            except AzureError as exc:
                # a Reader (a CI plan) may not POST regionConfiguration: expected, so not a warning
                (log.info if exc.status == 403 else log.warning)(
                    "the datacenter address for %s could not be read: %s", normalized["location"], exc)
        return normalized

    def normalize(self, job: dict[str, Any]) -> dict[str, Any]:
        props = job.get("properties") or {}
        details = props.get("details") or {}
        status = _canonical(STATUS_TO_PHASE, props.get("status") or "DeviceOrdered")
        phase = STATUS_TO_PHASE.get(status, base.FAILED)
        disks = details.get("importDiskDetailsCollection") or {}
        progress = {p.get("serialNumber"): p for p in details.get("copyProgress") or []}
        logs = {entry.get("serialNumber"): entry for entry in details.get("copyLogDetails") or []}
        drives = []
        for serial in sorted(disks):
            disk, prog, log = disks[serial] or {}, progress.get(serial, {}), logs.get(serial, {})
            total = prog.get("totalBytesToProcess") or 0
            done = prog.get("bytesProcessed") or 0
            copy_status = _canonical(COPY_TO_DRIVE_STATE, prog.get("copyStatus"))
            # a status the enum does not have yet: the copy is over and something is not right
            state = COPY_TO_DRIVE_STATE.get(copy_status, "CompletedMoreInfo")
            if state == "Received" and phase in (base.CREATED, base.SHIPPING):
                state = "Specified"  # "copy not started" before the disk has even arrived
            drives.append({
                "drive_id": serial, "manifest_file": disk.get("manifestFile"),
                "manifest_hash": disk.get("manifestHash"), "drive_header_hash": None,
                "state": state, "copy_status": copy_status,
                # percent of the disk's data imported; a disk processed with nothing on it is done
                "percent_complete": (int(100 * done / total) if total
                                     else 100 if state in ("Completed", "CompletedMoreInfo") else 0),
                "bytes_succeeded": done, "error_log_uri": log.get("errorLogLink"),
                "verbose_log_uri": log.get("verboseLogLink"),
                "manifest_uri": disk.get("backupManifestCloudPath"),
                # Data Box copy statuses are coarse; the disk's error code carries the classic reason
                # (BitLockerKeyInvalid, ManifestCorrupted, ...) that status explains
                "failure_code": (prog.get("error") or {}).get("code"),
            })
        contact = details.get("contactDetails") or {}
        ship = details.get("shippingAddress") or {}
        return_address = {k: v for k, v in {
            "recipient": contact.get("contactName"), "street1": ship.get("streetAddress1"),
            "street2": ship.get("streetAddress2"), "city": ship.get("city"),
            "state_or_province": ship.get("stateOrProvince"), "postal_code": ship.get("postalCode"),
            "country_or_region": ship.get("country"), "phone": contact.get("phone"),
            "email": (contact.get("emailList") or [None])[0]}.items() if v is not None}
        ret = details.get("returnToCustomerPackageDetails") or {}
        imports = details.get("dataImportDetails") or [{}]
        account = (imports[0].get("accountDetails") or {}) if imports else {}
        dc = details.get("datacenterAddress") or {}
        tags = dict(job.get("tags") or {})
        return {
            "api": self.api, "id": job.get("id"), "name": job.get("name"), "location": job.get("location"),
            "state": status, "phase": phase,
            "storage_account_id": account.get("storageAccountId"),
            "return_address": return_address or None,
            # only what the GET gave back: the account number is a secret the service may omit
            "return_shipping": ({k: v for k, v in {"carrier_name": ret.get("carrierName"),
                                                  "carrier_account_number": ret.get("carrierAccountNumber")
                                                  }.items() if v is not None} if ret else None),
            # what the plan must not compare (base.same_fields): secret fields the GET left out
            "unobserved": {} if ret.get("carrierAccountNumber") else dict(SECRET_FIELDS),
            "diagnostics_path": None, "log_level": imports[0].get("logCollectionLevel") if imports else None,
            "backup_drive_manifest": bool(details.get("enableManifestBackup")),
            "notification_emails": list((contact.get("emailList") or [])[1:]),
            "drives": drives,
            "delivery_package": _with_counts(_delivery(details), len(disks) or None,
                                             _stage_date(details, "ShippedToAzureDC")
                                             or _stage_date(details, "PickedUp")),
            "return_package": _package(details.get("returnPackage"), len(disks) or None),
            "shipping_address": _datacenter(dc),
            "percent_complete": (sum(d["percent_complete"] for d in drives) // len(drives)) if drives else 0,
            "incomplete_blob_list_uri": None,
            "cancel_requested": status == "Cancelled",
            "is_cancellable": bool(props.get("isCancellable")),
            "is_deletable": bool(props.get("isDeletable")),
            "tags": tags,
            "created_at": tags.get("seedctl-created") or props.get("startTime"),
        }

    # -- writes --------------------------------------------------------------------------------
    @staticmethod
    def _contact_and_address(desired: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        addr = desired["return_address"]
        contact = {"contactName": addr["recipient"], "phone": addr["phone"],
                   "emailList": [addr["email"], *desired.get("notification_emails", [])]}
        shipping = {k: v for k, v in {
            "streetAddress1": addr["street1"], "streetAddress2": addr.get("street2"), "city": addr["city"],
            "stateOrProvince": addr.get("state_or_province"), "postalCode": addr["postal_code"],
            "country": addr["country_or_region"], "addressType": "Commercial"}.items() if v is not None}
        return contact, shipping

    def create(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               bitlocker_keys: dict[str, str]) -> None:
        contact, shipping = self._contact_and_address(desired)
        ship = desired["return_shipping"]
        body = {
            "location": desired["location"], "tags": desired["tags"], "sku": {"name": SKU},
            "properties": {
                "transferType": "ImportToAzure",
                "details": {
                    "jobDetailsType": SKU,
                    "contactDetails": contact,
                    "shippingAddress": shipping,
                    "dataImportDetails": [{
                        "accountDetails": {"dataAccountType": "StorageAccount",
                                           "storageAccountId": desired["storage_account_id"]},
                        **({"logCollectionLevel": desired["log_level"]} if desired.get("log_level") else {}),
                    }],
                    "importDiskDetailsCollection": {
                        d["drive_id"]: {"manifestFile": d["manifest_file"], "manifestHash": d["manifest_hash"],
                                        "bitLockerKey": bitlocker_keys[d["drive_id"]]}
                        for d in desired["drives"]},
                    "returnToCustomerPackageDetails": {"carrierName": ship["carrier_name"],
                                                       "carrierAccountNumber": ship["carrier_account_number"]},
                    "enableManifestBackup": bool(desired["backup_drive_manifest"]),
                },
            },
        }
        client = ctx.clients.databox

        def send() -> None:
            try:
                client.jobs.begin_create(resource_group, name, body).result()
            except Exception as exc:
                # The service refuses a PUT on an existing job. When an earlier attempt of this very
                # call got through but its answer was lost, the job is there: the caller re-reads
                # it and diffs, so this is success; any other conflict is the caller's to see.
                if getattr(exc, "status_code", None) == 409 and self._exists(ctx, resource_group, name):
                    return
                raise

        call_with_retry(send, f"create Data Box job {name}", ctx.clients.policy)

    @staticmethod
    def _exists(ctx: Any, resource_group: str, name: str) -> bool:
        try:
            ctx.clients.databox.jobs.get(resource_group, name)
        except Exception as exc:
            if is_not_found(exc):
                return False
            raise
        return True

    def update(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               fields: list[str], bitlocker_keys: dict[str, str]) -> None:
        if "drives" in fields:
            # The Data Box update API has no disk list: a job's disks are fixed at creation.
            from seedctl.errors import SeedctlError

            raise SeedctlError(f"the disks of Data Box job {name} cannot be changed after it is created; "
                               "cancel it and create a job with a new name")
        contact, shipping = self._contact_and_address(desired)
        details: dict[str, Any] = {}
        if "return_address" in fields:
            details["contactDetails"] = contact
            details["shippingAddress"] = shipping
        if "return_shipping" in fields:
            ship = desired["return_shipping"]
            details["returnToCustomerPackageDetails"] = {"carrierName": ship["carrier_name"],
                                                         "carrierAccountNumber": ship["carrier_account_number"]}
        client = ctx.clients.databox
        # PATCH replaces the tags: keep the ones seedctl set at creation (seedctl-created) and any
        # the user added in the portal, so that an update never loses them
        current = call_with_retry(lambda: client.jobs.get(resource_group, name),
                                  f"read Data Box job {name}", ctx.clients.policy)
        body: dict[str, Any] = {"tags": {**dict(current.tags or {}), **desired["tags"]}}
        if details:
            body["properties"] = {"details": details}
        call_with_retry(lambda: client.jobs.begin_update(resource_group, name, body).result(),
                        f"update Data Box job {name}", ctx.clients.policy)

    def mark_shipped(self, ctx: Any, resource_group: str, name: str, package: dict[str, Any]) -> None:
        body = {"deliverToDcPackageDetails": {"carrierName": package["carrier_name"],
                                              "trackingId": package["tracking_number"]}}
        client = ctx.clients.databox
        call_with_retry(lambda: client.jobs.mark_devices_shipped(name, resource_group, body),
                        f"mark the disks of Data Box job {name} shipped", ctx.clients.policy)

    def cancel(self, ctx: Any, resource_group: str, name: str, reason: str) -> None:
        client = ctx.clients.databox

        def send() -> None:
            try:
                client.jobs.cancel(resource_group, name, {"reason": reason})
            except Exception as exc:
                # a retried cancel whose first attempt got through finds the job already cancelled
                if getattr(exc, "status_code", None) == 409:
                    job = client.jobs.get(resource_group, name)
                    if job.properties.status == "Cancelled":
                        return
                raise

        call_with_retry(send, f"cancel Data Box job {name}", ctx.clients.policy)

    def delete(self, ctx: Any, resource_group: str, name: str) -> None:
        client = ctx.clients.databox

        def remove() -> None:
            try:
                client.jobs.begin_delete(resource_group, name).result()
            except Exception as exc:
                if not is_not_found(exc):
                    raise

        call_with_retry(remove, f"delete Data Box job {name}", ctx.clients.policy)

    def list_jobs(self, ctx: Any, resource_group: str) -> list[dict[str, Any]]:
        if not base.provider_registered(ctx, self.provider_namespace):
            return []
        client = ctx.clients.databox
        jobs = call_with_retry(lambda: list(client.jobs.list_by_resource_group(resource_group)),
                               f"list Data Box jobs in {resource_group}", ctx.clients.policy)
        # the list has no details (disks, account, copy progress: only `$expand=details` on a GET
        # gives them), so each customer-disk job is read again; a job gone meanwhile is skipped
        out = []
        for job in jobs:
            if (job.as_dict().get("sku") or {}).get("name") != SKU:
                continue
            full = self.get(ctx, resource_group, job.name)
            if full is not None:
                out.append(full)
        return out

    def shipping_address(self, ctx: Any, location: str) -> dict[str, Any] | None:
        """Where the disks go, from regionConfiguration's datacenterAddressRequest (the job itself
        does not say): the address in the classic words, and the return carriers."""
        key = f"databox.datacenter:{location.replace(' ', '').lower()}"
        if key not in ctx.cache:
            client = ctx.clients.databox
            request = {"datacenterAddressRequest": {"storageLocation": location, "skuName": SKU}}
            answer = call_with_retry(lambda: client.service.region_configuration(location, request),
                                     f"read the datacenter address for {location} (regionConfiguration)",
                                     ctx.clients.policy)
            dc = (answer.as_dict() if answer is not None else {}).get("datacenterAddressResponse") or {}
            ctx.cache[key] = _datacenter(dc)
        return ctx.cache[key]

    # -- the service's what-if -----------------------------------------------------------------
    def what_if(self, ctx: Any, desired: dict[str, Any], *, account_exists: bool) -> list[Verdict]:
        """validateInputs (address, SKU availability, order limit, subscription, storage account)
        and regionConfiguration (the datacenter address and its return carriers) for a job not yet
        created. Both are POST actions: without them (Reader), the checks are reported undecided."""
        if not base.provider_registered(ctx, self.provider_namespace):
            return [Verdict("service checks", None, "not run yet: Microsoft.DataBox is not registered on the "
                            "subscription (this plan registers it); they run before the job is created. Register "
                            "it first (`seedctl apply --target provider`) to have them before drives are written")]
        location = desired["location"]
        client = ctx.clients.databox
        try:
            answer = call_with_retry(lambda: client.service.validate_inputs(location, self._validation(desired,
                                                                                                     account_exists)),
                                     f"validate the Data Box order in {location} (validateInputs)", ctx.clients.policy)
        except AzureError as exc:
            if exc.status != 403:
                raise
            return [Verdict("service checks", None, f"not run: {exc}")]
        verdicts = [_verdict(item) for item in ((answer.as_dict().get("properties") or {})
                                                .get("individualResponseDetails") or [])]
        try:
            address = self.shipping_address(ctx, location)
        except AzureError as exc:
            if exc.status != 403:
                raise
            return [*verdicts, Verdict("datacenter address", None, f"not read: {exc}")]
        if not address:
            verdicts.append(Verdict("datacenter address", None, f"regionConfiguration gave none for {location}"))
            return verdicts
        verdicts.append(Verdict("datacenter address", True, address_line(address) or address.get("instruction", "")))
        verdicts.append(return_carrier(desired["return_shipping"]["carrier_name"], address.get("supported_carriers"),
                                       f"the datacenter for {location}"))
        return verdicts

    @staticmethod
    def _validation(desired: dict[str, Any], account_exists: bool) -> dict[str, Any]:
        _, shipping = DataBoxBackend._contact_and_address(desired)
        items: list[dict[str, Any]] = [
            {"validationType": "ValidateAddress", "shippingAddress": shipping, "deviceType": SKU},
            {"validationType": "ValidateSubscriptionIsAllowedToCreateJob"},
            {"validationType": "ValidateSkuAvailability", "deviceType": SKU, "transferType": "ImportToAzure",
             "country": desired["return_address"]["country_or_region"], "location": desired["location"]},
            {"validationType": "ValidateCreateOrderLimit", "deviceType": SKU},
        ]
        if account_exists:  # an account this plan creates cannot be checked yet
            items.append({"validationType": "ValidateDataTransferDetails", "deviceType": SKU,
                          "transferType": "ImportToAzure", "dataImportDetails": [{"accountDetails": {
                              "dataAccountType": "StorageAccount", "storageAccountId": desired["storage_account_id"]}}]})
        return {"validationCategory": "JobCreationValidation", "individualRequestDetails": items}


CHECK_NAMES = {"ValidateAddress": "return address", "ValidateSubscriptionIsAllowedToCreateJob": "subscription",
               "ValidateSkuAvailability": "SKU availability (DataBoxCustomerDisk, ImportToAzure)",
               "ValidateCreateOrderLimit": "order limit", "ValidateDataTransferDetails": "storage account",
               "ValidatePreferences": "preferences"}


def _verdict(item: dict[str, Any]) -> Verdict:
    """One validateInputs answer: Valid is a pass, Invalid a refusal, Skipped and an Ambiguous
    address are left to the operator (with the service's alternate address)."""
    kind = str(item.get("validationType") or "")
    check = CHECK_NAMES.get(kind, kind or "validation")
    status = str(item.get("status") or item.get("validationStatus") or "")
    error = item.get("error") or {}
    reason = error.get("message") or (error.get("code") if error.get("code") not in (None, "Success") else "")
    if status == "Valid":
        return Verdict(check, True, "Valid")
    if status == "Invalid":
        return Verdict(check, False, f"Invalid: {reason or 'no reason given'}")
    if status == "Ambiguous":
        alternates = "; ".join(", ".join(str(v) for v in a.values() if v) for a in item.get("alternateAddresses") or [])
        return Verdict(check, None, "Ambiguous: the service is not sure of the address"
                       + (f"; it suggests {alternates}" if alternates else "") + ". Check import_job.return_address")
    return Verdict(check, None, f"{status or 'no verdict'}{': ' + reason if reason else ''}")


def _datacenter(dc: dict[str, Any]) -> dict[str, Any] | None:
    """A DatacenterAddressResponse (the job's `datacenterAddress` where a service gives one, or
    regionConfiguration's) in the classic shipping words, with the return carriers; an instruction
    (DatacenterAddressInstruction) instead of an address is kept as `instruction`."""
    if not dc:
        return None
    if dc.get("communicationInstruction") and not dc.get("street1"):
        out_i: dict[str, Any] = {"instruction": str(dc["communicationInstruction"])}
        if dc.get("supportedCarriersForReturnShipment"):
            out_i["supported_carriers"] = [str(c) for c in dc["supportedCarriersForReturnShipment"]]
        return out_i
    fields = {"street1": "street_address1", "street2": "street_address2", "city": "city",
              "state": "state_or_province", "zip": "postal_code", "country": "country_or_region", "phone": "phone"}
    out = {ours: dc[theirs] for theirs, ours in fields.items() if dc.get(theirs)}
    recipient = " / ".join(v for v in (dc.get("company"), dc.get("contactPersonName")) if v)
    if recipient:
        out["recipient_name"] = recipient
    if dc.get("additionalShippingInformation"):
        out["additional_information"] = dc["additionalShippingInformation"]
    if dc.get("supportedCarriersForReturnShipment"):
        out["supported_carriers"] = [str(c) for c in dc["supportedCarriersForReturnShipment"]]
    return out or None
